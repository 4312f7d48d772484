#!/usr/bin/env python3
"""Import cycles among sprout-runtime's modules (runtime/src).

Each file is a module. An edge A -> B means A names `crate::...` or
`super::...` paths that resolve to B (in `use` lines and inline paths;
comments, doc comments and test-only files left out). A job is a
top-level directory (`task/`, `time/`, ...) or a top-level file
(`runtime.rs`, `context.rs`, ...).

The rules (docs/architecture.md, "Layers"): no cycle among the runtime's
modules, except inside one job; and no module of task/, time/, io/,
reactor/, sched/, observe/ or scoped.rs imports the loop (runtime.rs, context.rs,
builder.rs, handle.rs). The script prints every strongly connected
component of the file graph that spans more than one job and every
upward import, and exits 1 if there is one; `--jobs` also prints the
graph of jobs.

    python3 .ci/layers.py [--jobs] [runtime/src]
"""
import os
import re
import sys

ARGS = [a for a in sys.argv[1:] if not a.startswith("-")]
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

edges = {m: set() for m in files}
for mod, path in files.items():
    text = strip(open(path).read())
    paths = []
    for use in re.findall(r"\buse\s+([^;]+);", text, re.S):
        paths += expand_use(use)
    paths += re.findall(r"\b((?:crate|super)(?:::\w+)+)", text)
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


# Tarjan's strongly connected components.
index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]
sys.setrecursionlimit(10000)


def visit(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on.add(v)
    for w in edges[v]:
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
        sccs.append(comp)


for v in files:
    if v not in index:
        visit(v)

jobs = {}
for a, bs in edges.items():
    for b in bs:
        if job(a) != job(b) and a and b:
            jobs.setdefault(job(a), set()).add(job(b))
if "-v" in sys.argv or "--jobs" in sys.argv:
    print("job graph (A -> B: a module of A imports one of B):")
    for j in sorted(jobs):
        print(f"  {j:10} -> {', '.join(sorted(jobs[j]))}")

# The jobs below the loop never import it: they reach it through their own
# thread-local slots (scoped.rs), which the loop sets.
BELOW_LOOP = {"task", "time", "io", "reactor", "sched", "scoped", "observe"}
upward = sorted(
    f"{name(a)} -> {name(b)}" for a, bs in edges.items() for b in bs if job(a) in BELOW_LOOP and job(b) == "loop"
)
for edge in upward:
    print(f"a layer below the loop imports it: {edge}")

bad = [c for c in sccs if len(c) > 1 and len({job(m) for m in c if m}) > 1]
for comp in bad:
    members = sorted(name(m) for m in comp)
    print(f"cycle across jobs ({len(members)} modules): {', '.join(members)}")
    inside = set(comp)
    for m in sorted(comp, key=name):
        out = sorted(name(t) for t in edges[m] if t in inside and job(t) != job(m))
        if out:
            print(f"    {name(m)} -> {', '.join(out)}")
if bad or upward:
    sys.exit(1)
print(f"no cycle across jobs among {len(files)} modules; nothing below the loop imports it")
