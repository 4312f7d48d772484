#!/usr/bin/env python3
"""The public API of the `sprout` facade, one line per path a user can name.

Usage:
    python3 .ci/public_api.py            # check: regenerate, compare with docs/public-api.txt
    python3 .ci/public_api.py --write    # regenerate and write docs/public-api.txt
    python3 .ci/public_api.py --print    # regenerate and print, touching nothing

How: rustdoc's JSON output (nightly only: `-Z unstable-options
--output-format json`) for the facade and for each workspace crate it
re-exports, every feature on, hidden items included
(`--document-hidden-items`, so that a `#[doc(hidden)]` item that leaks
through the facade shows up, marked). The JSON of one crate does not look
inside another: a `pub use sprout_runtime::task` in the facade is only a
path there. So the walk starts at the facade's root and follows each
re-export into the JSON of the crate that defines the item.

What a line is: `<path> <kind>`, where the path is one way to name the item
from a crate that depends on `sprout` (an item re-exported twice has two
lines). Kinds: module, struct, enum, union, trait, fn, type, const,
static, macro, proc macro; below a type: method (and assoc const, assoc
type), variant, field; `impl <Trait>` for each trait implemented by hand
(derives included; auto traits and blanket impls left out). A type alias
lists the methods of the type it names (`sync::Event` shows `set`, `wait`,
...). Items from other crates (std, hyper, mio) re-exported by sprout are
one line each, with the path they come from. A `#[doc(hidden)]` item that is
reachable anyway is marked `(hidden)`; the check fails on any such item but
the macro support module `sprout::__private` (what `select!` and the test
attributes expand to) and the few methods in HIDDEN_ALLOWED.

The file is sorted, so a diff shows exactly what changed: a new item is an
API decision, made by updating the file in the same commit.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "docs" / "public-api.txt"
FACADE = "sprout"
# The workspace crates whose items the facade re-exports, by package name.
PACKAGES = ["sprout-runtime", "sprout-net", "sprout-process", "sprout-http", "sprout-compat", "sprout"]
# Hidden items that may be reachable: macro support.
HIDDEN_ALLOWED = {
    "sprout::__private",
    # `task_local!` expands to it.
    "sprout::task::LocalKey::new",
}

KIND = {
    "module": "module",
    "struct": "struct",
    "enum": "enum",
    "union": "union",
    "trait": "trait",
    "trait_alias": "trait alias",
    "function": "fn",
    "type_alias": "type",
    "constant": "const",
    "static": "static",
    "macro": "macro",
    "proc_macro": "proc macro",
    "primitive": "primitive",
    "extern_type": "extern type",
}
# Rustdoc's `paths` table kinds, for items of crates outside the workspace.
PATH_KIND = {
    "function": "fn",
    "type_alias": "type",
    "proc_attribute": "proc macro",
    "proc_derive": "proc macro",
    "constant": "const",
}
# Auto traits, and the compiler's own marker traits that derives add (they
# come and go with the nightly toolchain): not API decisions.
# The rustdoc JSON format this script was written against (the field names
# it reads: `inner`, `use`, `impls`, `resolved_path`...). Another version
# gets a warning; a changed field then shows as a failure to parse.
FORMAT_VERSION = 57
AUTO_TRAITS = {
    "Send", "Sync", "Unpin", "UnwindSafe", "RefUnwindSafe", "Freeze",
    "StructuralPartialEq", "TrivialClone", "UseCloned",
}


def build_json(target_dir, members):
    """Runs rustdoc's JSON backend on every package; returns {crate name: json}."""
    docs = {}
    for package in [p for p in PACKAGES if p in members]:
        cmd = [
            "cargo", "+nightly", "rustdoc", "-q", "-p", package, "--all-features", "--",
            "-Z", "unstable-options", "--output-format", "json", "--document-hidden-items",
        ]
        subprocess.run(cmd, cwd=ROOT, check=True)
        name = package.replace("-", "_")
        with open(Path(target_dir) / "doc" / f"{name}.json") as f:
            docs[name] = json.load(f)
        if docs[name]["format_version"] != FORMAT_VERSION:
            print(
                f"public_api: warning: rustdoc JSON format {docs[name]['format_version']}, "
                f"written for {FORMAT_VERSION}",
                file=sys.stderr,
            )
    return docs


def workspace():
    """The target directory and the workspace's package names."""
    out = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    meta = json.loads(out)
    return meta["target_directory"], {p["name"] for p in meta["packages"]}


def inner_kind(item):
    return next(iter(item["inner"]))


def is_hidden(item):
    for attr in item.get("attrs", []):
        text = attr if isinstance(attr, str) else json.dumps(attr)
        if "doc(hidden)" in text.replace(" ", "") or "hidden" == attr:
            return True
    return False


def namespace(kind):
    """Rust's namespaces, for what a glob import does not shadow."""
    if kind in ("macro", "proc macro"):
        return "macro"
    if kind in ("fn", "const", "static"):
        return "value"
    return "type"


class Api:
    def __init__(self, docs):
        self.docs = docs
        self.lines = set()
        # (crate, module id) pairs being walked: a module re-exported into
        # itself (through a glob) must not loop.
        self.walking = set()
        # Each crate's own items by canonical path, to follow a re-export from
        # another crate: rustdoc's `paths` table, completed by a walk.
        self.by_path = {}
        for crate, doc in docs.items():
            table = {}
            for id_, entry in doc["paths"].items():
                if entry["crate_id"] == 0:
                    table.setdefault(tuple(entry["path"]), int(id_))
            self.by_path[crate] = table

    def emit(self, path, kind, hidden):
        self.lines.add(f"{'::'.join(path)} {kind}{' (hidden)' if hidden else ''}")

    def resolve(self, crate, id_):
        """The (crate, id) of the item `id_` of `crate` names, following it
        into another workspace crate; or (None, external path, kind)."""
        doc = self.docs[crate]
        if id_ is None:
            return None
        if str(id_) in doc["index"]:
            return (crate, id_)
        entry = doc["paths"].get(str(id_))
        if entry is None:
            return None
        other = doc["external_crates"][str(entry["crate_id"])]["name"]
        if other in self.docs:
            found = self.by_path[other].get(tuple(entry["path"]))
            if found is not None and str(found) in self.docs[other]["index"]:
                return (other, found)
        return ("extern", entry["path"], entry["kind"])

    def children(self, crate, module_id):
        """The public names a module defines: {(name, namespace): (crate, id or extern, hidden)}."""
        doc = self.docs[crate]
        module = doc["index"][str(module_id)]
        explicit, globbed = {}, {}
        for child in module["inner"]["module"]["items"]:
            item = doc["index"].get(str(child))
            if item is None or item["visibility"] != "public":
                continue
            hidden = is_hidden(item)
            kind = inner_kind(item)
            if kind == "use":
                use = item["inner"]["use"]
                target = self.resolve(crate, use["id"])
                if target is None:
                    continue
                if use["is_glob"]:
                    if target[0] == "extern":
                        continue
                    key = (target[0], target[1])
                    if key in self.walking:
                        continue
                    self.walking.add(key)
                    for name_ns, value in self.children(*target).items():
                        globbed.setdefault(name_ns, (value[0], value[1] or hidden))
                    self.walking.discard(key)
                    continue
                name = use["name"]
                explicit[(name, namespace(self.kind_of(target)))] = (target, hidden)
            elif kind == "impl":
                continue
            else:
                explicit[(item["name"], namespace(KIND.get(kind, kind)))] = ((crate, child), hidden)
        # A name defined here wins over a glob's (Rust's shadowing rule).
        return {**globbed, **explicit}

    def kind_of(self, target):
        if target[0] == "extern":
            return PATH_KIND.get(target[2], target[2])
        item = self.docs[target[0]]["index"][str(target[1])]
        return KIND.get(inner_kind(item), inner_kind(item))

    def walk(self, path, target, hidden):
        if target[0] == "extern":
            kind = PATH_KIND.get(target[2], target[2])
            self.lines.add(f"{'::'.join(path)} {kind} (from {'::'.join(target[1])}){' (hidden)' if hidden else ''}")
            return
        crate, id_ = target
        item = self.docs[crate]["index"][str(id_)]
        hidden = hidden or is_hidden(item)
        kind = inner_kind(item)
        self.emit(path, KIND.get(kind, kind), hidden)
        body = item["inner"][kind]
        if kind == "module":
            key = (crate, id_)
            if key in self.walking:
                return
            self.walking.add(key)
            for (name, _ns), (child, child_hidden) in sorted(self.children(crate, id_).items()):
                self.walk(path + [name], child, hidden or child_hidden)
            self.walking.discard(key)
        elif kind in ("struct", "enum", "union"):
            self.members(path, crate, body, hidden)
        elif kind == "trait":
            for child in body["items"]:
                sub = self.docs[crate]["index"][str(child)]
                self.emit(path + [sub["name"]], self.assoc_kind(sub), hidden or is_hidden(sub))
        elif kind == "type_alias":
            aliased = body["type"].get("resolved_path")
            if aliased is not None:
                target = self.resolve(crate, aliased["id"])
                if target is not None and target[0] != "extern":
                    other = self.docs[target[0]]["index"][str(target[1])]
                    other_kind = inner_kind(other)
                    if other_kind in ("struct", "enum", "union"):
                        impls = other["inner"][other_kind].get("impls", [])
                        self.impls(path, target[0], impls, hidden, aliased.get("args"))

    def members(self, path, crate, body, hidden):
        doc = self.docs[crate]
        if "variants" in body:
            for v in body["variants"]:
                self.emit(path + [doc["index"][str(v)]["name"]], "variant", hidden)
        fields = body.get("kind", {})
        if isinstance(fields, dict) and "plain" in fields:
            for f in fields["plain"]["fields"]:
                field = doc["index"][str(f)]
                if field["visibility"] == "public":
                    self.emit(path + [field["name"]], "field", hidden or is_hidden(field))
        if "fields" in body and isinstance(body["fields"], list):  # unions
            for f in body["fields"]:
                field = doc["index"][str(f)]
                if field["visibility"] == "public":
                    self.emit(path + [field["name"]], "field", hidden)
        self.impls(path, crate, body.get("impls", []), hidden)

    def impls(self, path, crate, impl_ids, hidden, alias_args=None):
        """The impls of a type; for an alias (`alias_args`), only those
        that apply to the type it names (`impl Event<ThreadSafe>` does not
        apply to `sync::Event`, which is `Event<Local>`)."""
        doc = self.docs[crate]
        for impl_id in impl_ids:
            impl_item = doc["index"].get(str(impl_id))
            if impl_item is None:
                continue
            impl = impl_item["inner"]["impl"]
            if impl.get("is_synthetic") or impl.get("blanket_impl") is not None:
                continue
            if alias_args is not None and not applies(impl["for"], alias_args):
                continue
            trait = impl.get("trait")
            if trait is not None:
                name = trait["path"].split("::")[-1]
                if self.internal_trait(crate, trait):
                    continue  # a trait only the workspace can name (`sprout_runtime::__net`)
                if name not in AUTO_TRAITS:
                    negative = "!" if impl.get("is_negative") else ""
                    self.lines.add(f"{'::'.join(path)} impl {negative}{name}{' (hidden)' if hidden else ''}")
                continue
            for child in impl["items"]:
                sub = doc["index"].get(str(child))
                if sub is None or sub["visibility"] != "public":
                    continue
                self.emit(path + [sub["name"]], self.assoc_kind(sub), hidden or is_hidden(sub))

    def internal_trait(self, crate, trait):
        """Whether a trait is a workspace crate's hidden plumbing
        (`sprout_runtime::__net::SourceRegistration`): not API."""
        item = self.docs[crate]["index"].get(str(trait.get("id")))
        return item is not None and is_hidden(item)

    @staticmethod
    def assoc_kind(item):
        kind = inner_kind(item)
        return {"function": "method", "assoc_const": "assoc const", "assoc_type": "assoc type"}.get(kind, kind)


def type_args(args):
    if not args or "angle_bracketed" not in args:
        return []
    return [a.get("type") for a in args["angle_bracketed"]["args"] if "type" in a]


def same_type(pattern, actual):
    """Whether an impl's type argument `pattern` covers the alias's `actual`."""
    if pattern is None or actual is None or "generic" in pattern:
        return True
    if "resolved_path" in pattern and "resolved_path" in actual:
        p, a = pattern["resolved_path"], actual["resolved_path"]
        if p["id"] != a["id"]:
            return False
        return all(same_type(x, y) for x, y in zip(type_args(p.get("args")), type_args(a.get("args"))))
    return json.dumps(pattern, sort_keys=True) == json.dumps(actual, sort_keys=True)


def applies(impl_for, alias_args):
    """Whether an impl on `impl_for` applies to the alias's instance."""
    if "resolved_path" not in impl_for:
        return True
    pattern = type_args(impl_for["resolved_path"].get("args"))
    return all(same_type(p, a) for p, a in zip(pattern, type_args(alias_args)))


def public_api(docs):
    api = Api(docs)
    facade = docs[FACADE]
    api.walk([FACADE], (FACADE, facade["root"]), False)
    return sorted(api.lines)


def main(argv):
    mode = "check"
    if "--write" in argv:
        mode = "write"
    elif "--print" in argv:
        mode = "print"
    docs = build_json(*workspace())
    lines = public_api(docs)
    text = "".join(line + "\n" for line in lines)
    leaked = [
        line for line in lines
        if line.endswith("(hidden)") and not any(line.split(" ")[0] == a or line.startswith(a + "::") for a in HIDDEN_ALLOWED)
    ]
    items = [line for line in lines if line.split(" ", 1)[1].split(" (")[0] in set(KIND.values()) | set(PATH_KIND.values())
             or " (from " in line]
    summary = f"{len(lines)} lines: {len(items)} items (paths to modules, types, functions, ...), the rest methods, fields, variants and impls"
    if mode == "print":
        sys.stdout.write(text)
        print(summary, file=sys.stderr)
        return 0
    if leaked:
        print("public_api: #[doc(hidden)] items reachable through the facade (re-export them from nowhere, or allow them in HIDDEN_ALLOWED):", file=sys.stderr)
        for line in leaked:
            print("  " + line, file=sys.stderr)
        return 1
    if mode == "write":
        SNAPSHOT.write_text(text)
        print(f"public_api: wrote {SNAPSHOT.relative_to(ROOT)}; {summary}")
        return 0
    old = SNAPSHOT.read_text() if SNAPSHOT.exists() else ""
    if old == text:
        print(f"public_api: the public API matches {SNAPSHOT.relative_to(ROOT)}; {summary}")
        return 0
    import difflib

    diff = difflib.unified_diff(old.splitlines(), text.splitlines(), str(SNAPSHOT.relative_to(ROOT)), "the code", lineterm="", n=0)
    print("\n".join(diff))
    print(
        f"\npublic_api: the public API differs from {SNAPSHOT.relative_to(ROOT)} (above: - was, + is)."
        "\nIf the change is meant, update with: python3 .ci/public_api.py --write",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
