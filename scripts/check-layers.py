#!/usr/bin/env python3
"""The layering rules `just lint` holds the workspace to, read from the sources:

1. No import cycle between sibling modules of a crate (`use crate::a` in `b` and
   `use crate::b` in `a`, or a longer ring): a module depends on its siblings one way.
2. No non-test `.rs` file over 600 lines (test files and `tests.rs` modules excluded).
3. No service crate depends on another service crate, and no library in `crates/`
   depends on a service, an application or the test crate.

Prints each violation and exits 1 when there is any.
"""

import os
import re
import sys
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_LINES = 600
SKIP = {"target", ".git", ".tools", ".data", "node_modules"}


def crates():
    """(directory, package name) of every workspace member."""
    for top, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP]
        if "Cargo.toml" in files and top != ROOT:
            with open(os.path.join(top, "Cargo.toml"), "rb") as f:
                manifest = tomllib.load(f)
            if "package" in manifest:
                yield top, manifest


def module_of(path, src):
    parts = os.path.relpath(path, src)[:-3].split(os.sep)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


def non_test_text(text):
    """The source before its first `#[cfg(test)]` item."""
    return text.split("#[cfg(test)]")[0]


def sibling_graph(src):
    modules = {}
    for top, _, files in os.walk(src):
        for name in files:
            if name.endswith(".rs"):
                path = os.path.join(top, name)
                module = module_of(path, src)
                if module and module[-1] == "tests":
                    continue
                with open(path, encoding="utf-8") as f:
                    modules[module] = (path, non_test_text(f.read()))
    known = set(modules)

    def resolve(target):
        for k in range(len(target), 0, -1):
            if target[:k] in known:
                return target[:k]
        return None

    graph = {m: set() for m in modules}
    for module, (path, text) in modules.items():
        for kind, rest in re.findall(r"\b(crate|super)::((?:\w+::)*\w+)", text):
            base = () if kind == "crate" else module[:-1]
            target = resolve(base + tuple(rest.split("::")))
            if target and target != module and target[:-1] == module[:-1]:
                graph[module].add(target)
    return graph


def cycles(graph):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def main():
    problems = []
    members = list(crates())
    services = {m["package"]["name"] for d, m in members if "/services/" in d + "/"}
    applications = {
        m["package"]["name"]
        for d, m in members
        if any(f"/{p}/" in d + "/" for p in ("tools", "clients", "integration-tests"))
    }
    for directory, manifest in members:
        name = manifest["package"]["name"]
        rel = os.path.relpath(directory, ROOT)
        deps = set(manifest.get("dependencies", {})) | set(manifest.get("build-dependencies", {}))
        if name in services:
            for dep in sorted(deps & services):
                problems.append(f"{rel}: service {name} depends on service {dep}")
        if rel.startswith("crates" + os.sep):
            for dep in sorted(deps & (services | applications)):
                problems.append(f"{rel}: library {name} depends on {dep}")
        src = os.path.join(directory, "src")
        if not os.path.isdir(src):
            continue
        for component in cycles(sibling_graph(src)):
            ring = " <-> ".join("::".join(m) for m in component)
            problems.append(f"{rel}: import cycle {ring}")
        for top, _, files in os.walk(src):
            for file in files:
                path = os.path.join(top, file)
                if not file.endswith(".rs") or file == "tests.rs" or f"{os.sep}tests{os.sep}" in path:
                    continue
                with open(path, encoding="utf-8") as f:
                    lines = sum(1 for _ in f)
                if lines > MAX_LINES:
                    problems.append(f"{os.path.relpath(path, ROOT)}: {lines} lines (at most {MAX_LINES})")
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
