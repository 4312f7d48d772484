#!/usr/bin/env python3
"""The layers of sprout-runtime (runtime/src), checked against their table.

Each file is a module. An edge A -> B means A names `crate::...` or
`super::...` paths that resolve to B (in `use` lines and inline paths;
comments, doc comments and test-only files left out). A part is a
top-level directory (`task/`, `time/`, ...) or a top-level file
(`join.rs`, `scoped.rs`, ...); the loop's four files (runtime.rs,
context.rs, builder.rs, handle.rs) are one part, `loop`.

The allowed edges between parts are written once, in the table of
docs/architecture.md's "Layers" section (between the `layers-table`
markers): one row per part, the parts it may import. The script fails
(exit 1) on

- any edge between two parts that the table does not allow (a part
  missing from the table may import nothing);
- any cycle between parts (the table itself must be acyclic, and so must
  the graph the code has);
- any cycle among files that spans more than one part.

It prints each, and also the table's edges that no code uses any more
(a note, not a failure). `--jobs` prints the graph of parts.

    python3 .ci/layers.py [--jobs] [--table docs/architecture.md] [runtime/src]
"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TABLE = os.path.join(HERE, "..", "docs", "architecture.md")
ARGS = []
_argv = sys.argv[1:]
while _argv:
    a = _argv.pop(0)
    if a == "--table":
        TABLE = _argv.pop(0)
    elif not a.startswith("-"):
        ARGS.append(a)
ROOT = ARGS[0] if ARGS else os.path.join(os.path.dirname(__file__), "..", "runtime", "src")
ROOT = os.path.normpath(ROOT)
TEST_FILES = {"tests.rs", "loom_models.rs"}


def module_of(path):
    """runtime/src/task/waker.rs -> ['task', 'waker']; task/mod.rs -> ['task']; lib.rs -> []."""
    rel = os.path.relpath(path, ROOT)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib"):
        rel = rel[:-1]
    return rel


files = {}
for dirpath, _, names in os.walk(ROOT):
    for name in names:
        if name.endswith(".rs") and name not in TEST_FILES:
            path = os.path.join(dirpath, name)
            files[tuple(module_of(path))] = path


def resolve(segments):
    """The deepest module file that a path's segments name."""
    for n in range(len(segments), -1, -1):
        if tuple(segments[:n]) in files:
            return tuple(segments[:n])
    return None


def strip(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out = []
    skipping = 0
    for line in text.splitlines():
        code = line.split("//")[0]
        # Leave out inline test modules (`#[cfg(test)] mod tests { ... }`,
        # `#[cfg(all(test, ...))]` too).
        if skipping:
            skipping += code.count("{") - code.count("}")
            continue
        if re.match(r"\s*mod tests\s*\{", code) and out and re.search(r"cfg\(.*\btest\b", out[-1]):
            skipping = code.count("{") - code.count("}")
            continue
        out.append(code)
    return "\n".join(out)


def expand_use(tree):
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e']."""
    tree = tree.strip()
    m = re.match(r"^([\w:]*?)::\{(.*)\}$", tree, re.S)
    if not m:
        return [re.split(r"\s+as\s+", tree)[0].strip()]
    prefix, inner = m.group(1), m.group(2)
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    parts.append(cur)
    out = []
    for p in parts:
        if p.strip():
            out += [prefix + "::" + q if q != "self" else prefix for q in expand_use(p)]
    return out


# `crate::spawn` names lib.rs's re-export: follow it to the module it comes from.
REEXPORTS = {}
for use in re.findall(r"^pub use\s+([^;]+);", strip(open(files[()]).read()), re.M | re.S):
    for full in expand_use(use):
        segs = full.split("::")
        REEXPORTS[segs[-1]] = segs[:-1]

# `crate::name!` names a `#[macro_export]` macro, which lives at the crate
# root: follow it to the module that defines it. (A macro body's own
# `$crate::` paths are the caller's, left out below.)
MACROS = {}
for mod, path in files.items():
    for m in re.finditer(r"#\[macro_export\][^\n]*\n(?:\s*#\[[^\n]*\n)*\s*macro_rules!\s*(\w+)", open(path).read()):
        MACROS[m.group(1)] = list(mod)

edges = {m: set() for m in files}
for mod, path in files.items():
    text = strip(open(path).read())
    paths = []
    for use in re.findall(r"\buse\s+([^;]+);", text, re.S):
        paths += expand_use(use)
    paths += re.findall(r"(?<!\$)\b((?:crate|super)(?:::\w+)+)", text)
    # `mod child;` declarations: the parent reaches its children.
    for child in re.findall(r"^\s*(?:pub(?:\([\w:]+\))?\s+)?mod\s+(\w+)\s*;", text, re.M):
        target = resolve(list(mod) + [child])
        if target and target != mod:
            edges[mod].add(target)
    base = list(mod) if os.path.basename(path) in ("mod.rs", "lib.rs") else list(mod[:-1])
    for p in paths:
        segs = [s for s in p.split("::") if s]
        if not segs:
            continue
        if segs[0] == "crate":
            segs = segs[1:]
            if segs and tuple(segs[:1]) not in files and segs[0] in REEXPORTS:
                segs = REEXPORTS[segs[0]] + segs[1:]
            elif segs and tuple(segs[:1]) not in files and segs[0] in MACROS:
                segs = MACROS[segs[0]]
        elif segs[0] == "super":
            # `super` from a file is its parent module; each further `super` goes up one.
            ups = 0
            while segs and segs[0] == "super":
                ups += 1
                segs = segs[1:]
            parent = base if os.path.basename(path) not in ("mod.rs", "lib.rs") else list(mod[:-1])
            segs = parent[: len(parent) - (ups - 1)] + segs
        else:
            continue
        target = resolve(segs)
        if target is not None and target != mod:
            edges[mod].add(target)


# The loop's files form one job: the loop, its thread-local, its settings
# and its cross-thread handle.
LOOP = {"runtime", "context", "builder", "handle"}


def job(mod):
    if not mod:
        return "lib"
    return "loop" if mod[0] in LOOP else mod[0]


def name(mod):
    return "/".join(mod) if mod else "lib"


def read_table(path):
    """{part: set of parts it may import} from the `layers-table` block."""
    text = open(path).read()
    m = re.search(r"<!-- layers-table -->(.*?)<!-- /layers-table -->", text, re.S)
    if not m:
        sys.exit(f"{path}: no <!-- layers-table --> block")
    allowed = {}
    for line in m.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].startswith("`"):
            continue
        part = cells[0].strip("`")
        allowed[part] = {p.strip().strip("`") for p in cells[1].split(",") if p.strip() and p.strip() != "—"}
    return allowed


def sccs_of(nodes, succ):
    """Tarjan's strongly connected components of the graph `succ`."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in succ.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(comp)

    for v in nodes:
        if v not in index:
            visit(v)
    return out


sys.setrecursionlimit(10000)
failed = False

# The graph of parts the code has, each edge with the files that make it.
jobs, why = {}, {}
for a, bs in edges.items():
    for b in bs:
        if a and b and job(a) != job(b):
            jobs.setdefault(job(a), set()).add(job(b))
            why.setdefault((job(a), job(b)), []).append(f"{name(a)} -> {name(b)}")
if "-v" in sys.argv or "--jobs" in sys.argv:
    print("graph of parts (A -> B: a module of A imports one of B):")
    for j in sorted(jobs):
        print(f"  {j:10} -> {', '.join(sorted(jobs[j]))}")

allowed = read_table(TABLE)
for a in sorted(jobs):
    for b in sorted(jobs[a]):
        if b not in allowed.get(a, set()):
            failed = True
            files_ = why[(a, b)]
            more = f" (and {len(files_) - 2} more)" if len(files_) > 2 else ""
            print(f"edge not in the layers table: {a} -> {b}: {', '.join(sorted(files_)[:2])}{more}")

for comp in sccs_of(sorted(allowed), allowed):
    if len(comp) > 1:
        failed = True
        print(f"the layers table has a cycle: {', '.join(sorted(comp))}")

for comp in sccs_of(sorted(jobs), jobs):
    if len(comp) > 1:
        failed = True
        inside = set(comp)
        print(f"cycle between parts: {', '.join(sorted(comp))}")
        for a in sorted(comp):
            for b in sorted(jobs[a] & inside):
                print(f"    {a} -> {b}: {', '.join(sorted(why[(a, b)]))}")

for comp in sccs_of(list(files), edges):
    if len(comp) > 1 and len({job(m) for m in comp if m}) > 1:
        failed = True
        members = sorted(name(m) for m in comp)
        print(f"cycle among files across parts ({len(members)} modules): {', '.join(members)}")
        inside = set(comp)
        for m in sorted(comp, key=name):
            out = sorted(name(t) for t in edges[m] if t in inside and job(t) != job(m))
            if out:
                print(f"    {name(m)} -> {', '.join(out)}")

unused = sorted(f"{a} -> {b}" for a, bs in allowed.items() for b in bs if b not in jobs.get(a, set()))
if unused:
    print(f"note: allowed by the table, used by no file: {', '.join(unused)}")
if failed:
    sys.exit(1)
print(f"{len(files)} modules in {len(set(map(job, files)) - {'lib'})} parts: every edge in the layers table, no cycle")
