#!/usr/bin/env python3
"""Relative links in README.md and docs/*.md that do not resolve.

Every link outside code (inline `[text](target)`, images `![alt](target)`,
reference definitions `[label]: target`, and HTML `href=` / `src=`) whose
target has no scheme is checked:

- the file or directory it names must exist, relative to the page;
- a `#anchor` must name a heading of the target page (or of the page
  itself for a bare `#anchor`), by GitHub's rules: the heading's text as
  rendered (code spans, links and emphasis reduced to their text),
  lowercased, every character but letters, digits, spaces, '-' and '_'
  dropped, spaces turned into '-'; a repeated heading gets '-1', '-2'...
  Explicit `<a id="...">` / `<a name="...">` anchors count too. Anchors
  into files other than Markdown (`file.rs#L10`) are not checked.

Links to other sites (http:, https:, mailto:) are not fetched. The script
prints each failure as `page:line: target (reason)` and exits 1 if there
is one.

    python3 .ci/links.py [FILE.md ...]
"""
import os
import re
import sys

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
# [text](target "title"), ![alt](target); the text may hold one level of
# brackets, and is scanned too (`[![img](a)](b)` links to b, shows a).
INLINE = re.compile(r"!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*(<[^>]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)")
REFDEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")
HTML_ATTR = re.compile(r"""\b(?:href|src)\s*=\s*["']([^"']+)["']""")
HTML_ANCHOR = re.compile(r"""<a\s[^>]*\b(?:id|name)\s*=\s*["']([^"']+)["']""")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def strip_inline(text):
    """The rendered text of a heading: code spans, links, images and emphasis reduced to text."""
    text = CODE_SPAN.sub(lambda m: m.group(2).strip(), text)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"(\*{1,3})(\S.*?\S|\S)\1", r"\2", text)
    return text


def slug(text):
    text = strip_inline(text).strip().lower()
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def lines_outside_code(path):
    """(line number, text) for every line outside fenced code blocks."""
    fence = None
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            m = FENCE.match(line)
            if fence is None and m:
                fence = m.group(1)[0] * len(m.group(1))
                continue
            if fence is not None:
                if line.strip().startswith(fence) and line.strip().strip(fence[0]) == "":
                    fence = None
                continue
            yield number, line.rstrip("\n")


ANCHORS = {}


def anchors(path):
    if path not in ANCHORS:
        found, seen = set(), {}
        for _, line in lines_outside_code(path):
            m = HEADING.match(line)
            if m:
                base = slug(m.group(2))
                n = seen.get(base, 0)
                seen[base] = n + 1
                found.add(base if n == 0 else f"{base}-{n}")
            for a in HTML_ANCHOR.findall(line):
                found.add(a)
        ANCHORS[path] = found
    return ANCHORS[path]


def targets(line):
    """Link targets on one line, code spans left out."""
    bare = CODE_SPAN.sub("", line)
    out = []
    m = REFDEF.match(bare)
    if m:
        out.append(m.group(1))
    texts = [bare]
    while texts:
        for m in INLINE.finditer(texts.pop()):
            out.append(m.group(2))
            texts.append(m.group(1))
    out.extend(HTML_ATTR.findall(bare))
    return [t[1:-1] if t.startswith("<") and t.endswith(">") else t for t in dict.fromkeys(out)]


def check(page):
    failures = []
    base = os.path.dirname(page)
    for number, line in lines_outside_code(page):
        for target in targets(line):
            if not target or SCHEME.match(target):
                continue
            path, _, anchor = target.partition("#")
            where = f"{os.path.relpath(page, REPO)}:{number}: {target}"
            if path.startswith("/"):
                failures.append(f"{where} (an absolute path: write it relative to the page)")
                continue
            resolved = os.path.normpath(os.path.join(base, path)) if path else page
            if not os.path.exists(resolved):
                failures.append(f"{where} (no such file: {os.path.relpath(resolved, REPO)})")
                continue
            if anchor and resolved.endswith(".md") and anchor not in anchors(resolved):
                failures.append(f"{where} (no heading #{anchor} in {os.path.relpath(resolved, REPO)})")
    return failures


def main():
    pages = sys.argv[1:]
    if not pages:
        pages = [os.path.join(REPO, "README.md")]
        docs = os.path.join(REPO, "docs")
        pages += sorted(os.path.join(docs, f) for f in os.listdir(docs) if f.endswith(".md"))
    failures = [f for page in pages for f in check(os.path.abspath(page))]
    for f in failures:
        print(f)
    if failures:
        print(f"{len(failures)} broken link(s) in {len(pages)} page(s)", file=sys.stderr)
        return 1
    print(f"links: every relative link and anchor in {len(pages)} page(s) resolves")
    return 0


if __name__ == "__main__":
    sys.exit(main())
