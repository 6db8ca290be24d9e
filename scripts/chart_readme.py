#!/usr/bin/env python3
"""Writes the value table of charts/tillit/README.md from the `# --` comments of
charts/tillit/values.yaml (helm-docs style), between the README's values markers.

  scripts/chart_readme.py          rewrite the table
  scripts/chart_readme.py --check  exit 1 when the README's table is not what it would write

A key with a `# --` comment is a documented value; when keys below it have comments of
their own, it is a section and only its keys are listed. Every value must be documented.
"""
import json
import re
import sys
from pathlib import Path

import yaml

CHART = Path(__file__).resolve().parent.parent / "charts" / "tillit"
START, END = "<!-- values:start -->", "<!-- values:end -->"
KEY = re.compile(r"^(\s*)([A-Za-z_][A-Za-z0-9_]*):(.*)$")


def commented_keys(text):
    """(dotted path, description) of every key with a `# --` comment, in file order."""
    stack, found, comment = [], [], None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("# -- "):
            comment = stripped[5:]
            continue
        if stripped.startswith("#") and comment is not None and not stripped.startswith("# --"):
            comment += " " + stripped.lstrip("#").strip()
            continue
        match = KEY.match(line)
        if not match or stripped.startswith("-"):
            if stripped and not stripped.startswith("#"):
                comment = None
            continue
        indent = len(match.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = ".".join([k for _, k in stack] + [match.group(2)])
        stack.append((indent, match.group(2)))
        if comment is not None:
            found.append((path, comment))
        comment = None
    return found


def lookup(values, path):
    for part in path.split("."):
        values = values[part]
    return values


def kind(value):
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object"


def table():
    text = (CHART / "values.yaml").read_text()
    values = yaml.safe_load(text)
    keys = commented_keys(text)
    paths = [p for p, _ in keys]
    rows = ["| Key | Type | Default | Description |", "|---|---|---|---|"]
    for path, description in keys:
        if any(other.startswith(path + ".") for other in paths):
            continue
        value = lookup(values, path)
        default = json.dumps(value, ensure_ascii=False)
        rows.append(f"| `{path}` | {kind(value)} | `{default}` | {description} |")
    return "\n".join(rows)


def main():
    readme_path = CHART / "README.md"
    readme = readme_path.read_text()
    before, rest = readme.split(START, 1)
    _, after = rest.split(END, 1)
    written = f"{before}{START}\n{table()}\n{END}{after}"
    if "--check" in sys.argv:
        if written != readme:
            print("charts/tillit/README.md: the value table is not up to date; run scripts/chart_readme.py")
            return 1
        return 0
    readme_path.write_text(written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
