#!/usr/bin/env python3
"""Examples that no page names.

Every example (`examples/NAME.rs`, or `examples/NAME/main.rs`) must be
named in README.md or a page of docs/, by its path (`examples/NAME.rs`,
`../examples/NAME.rs`, `examples/NAME/`) or by the command that runs it
(`--example NAME`), so a reader can find it and knows how to run it. The
script lists every example that is not, and exits 1 if there is one.

    python3 .ci/examples_named.py
"""
import os
import re
import sys

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def examples():
    root = os.path.join(REPO, "examples")
    for entry in sorted(os.listdir(root)):
        path = os.path.join(root, entry)
        if entry.endswith(".rs") and os.path.isfile(path):
            yield entry[:-3]
        elif os.path.isfile(os.path.join(path, "main.rs")):
            yield entry


def pages():
    yield os.path.join(REPO, "README.md")
    docs = os.path.join(REPO, "docs")
    for entry in sorted(os.listdir(docs)):
        if entry.endswith(".md"):
            yield os.path.join(docs, entry)


def main():
    text = ""
    for page in pages():
        with open(page, encoding="utf-8") as f:
            text += f.read() + "\n"
    unnamed = []
    names = list(examples())
    for name in names:
        n = re.escape(name)
        by_path = re.search(rf"examples/{n}(?:\.rs\b|/)", text)
        by_command = re.search(rf"--example[ =]{n}(?![\w-])", text)
        if not (by_path or by_command):
            unnamed.append(name)
    for name in unnamed:
        print(f"examples/{name}: named in no page (README.md, docs/*.md): add `--example {name}` or a link to it")
    if unnamed:
        return 1
    print(f"examples: all {len(names)} named in README.md or docs/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
