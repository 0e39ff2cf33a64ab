#!/usr/bin/env python3
"""Lists the functions in C++ sources with their length in lines, longest first, and
checks the project's rule: none over --max lines, at most --allowed over --soft lines.

A small brace-matching scanner, not a compiler: comments, strings and character literals
are blanked, then every brace block opened at namespace or class scope whose head is not a
namespace, class, struct, union, enum, extern block or initialiser is a function body.
A function's lines run from the first line of its head to its closing brace, so lambdas
and local classes count towards the function that holds them.

  scripts/function_lengths.py src            # the table of functions over --soft lines
  scripts/function_lengths.py src --check    # exit 1 when the rule is broken
"""
import argparse
import pathlib
import re
import sys

CONTAINER = re.compile(r"\b(namespace|class|struct|union|enum)\b[^;()]*$|\bextern\s+\"C\"\s*$|^\s*$")


def blank(text):
    """The source with comments, strings and char literals replaced by spaces (lines kept)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith('R"', i):
            m = re.match(r'R"([^(\s]*)\(', text[i:])
            end = text.find(")" + m.group(1) + '"', i) if m else -1
            j = n if end < 0 else end + len(m.group(1)) + 2
            out.append('""' + re.sub(r"[^\n]", " ", text[i + 2:j]))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * (j - i - 1) + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(path):
    text = blank(path.read_text(errors="replace"))
    text = re.sub(r"^\s*#.*$", "", text, flags=re.M)  # preprocessor lines
    stack = []  # per open brace: True when it is a container (namespace/class/...)
    head_start = 0  # offset where the current statement's head begins
    found = []
    for i, c in enumerate(text):
        if c == "{":
            head = text[head_start:i]
            in_container = all(s is True for s in stack)
            is_container = bool(CONTAINER.search(head.strip())) and "(" not in head.split("=")[0][-1:]
            stripped = head.strip()
            if in_container and not is_container and stripped and not stripped.endswith("=") and "(" in stripped:
                first = head_start + (len(head) - len(head.lstrip()))
                stack.append(("fn", first))
            else:
                stack.append(bool(is_container and in_container))
            head_start = i + 1
        elif c == "}":
            if stack:
                top = stack.pop()
                if isinstance(top, tuple):
                    start_line = text.count("\n", 0, top[1]) + 1
                    end_line = text.count("\n", 0, i) + 1
                    name = re.sub(r"\s+", " ", text[top[1]:text.find("(", top[1])].strip()).split(" ")[-1]
                    found.append((end_line - start_line + 1, name, start_line))
            head_start = i + 1
        elif c == ";":
            head_start = i + 1
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("roots", nargs="+")
    ap.add_argument("--soft", type=int, default=80)
    ap.add_argument("--max", type=int, default=120)
    ap.add_argument("--allowed", type=int, default=3, help="functions allowed over --soft")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    rows = []
    for root in args.roots:
        for p in sorted(pathlib.Path(root).rglob("*")):
            if p.suffix in (".cpp", ".h", ".cc"):
                rows += [(n, f"{p}:{line}", name) for n, name, line in functions(p)]
    rows.sort(reverse=True)
    long_ones = [r for r in rows if r[0] > args.soft]
    for n, where, name in long_ones:
        print(f"{n:5d}  {where}  {name}")
    print(f"{len(rows)} functions; {len(long_ones)} over {args.soft} lines (at most {args.allowed} allowed), "
          f"longest {rows[0][0] if rows else 0} (at most {args.max})")
    if args.check and (len(long_ones) > args.allowed or (rows and rows[0][0] > args.max)):
        sys.exit(1)


if __name__ == "__main__":
    main()
