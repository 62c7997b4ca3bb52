"""The package's layers: module sizes and every import between facemind modules, checked.

Each module belongs to one layer (``LAYERS``, top first) and may import only its own layer
and those below. Prints each layer's modules with their line counts and the imports that
cross layers, then the imports that point up and the modules over ``MAX_LINES``; exits 1
when there are any.

    python scripts/layers.py            # the table and the checks
    python scripts/layers.py --edges    # also every import, one line each
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "facemind"
MAX_LINES = 600

#: Top first. A module's layer is that of its first dotted part under ``facemind``.
LAYERS: list[tuple[str, ...]] = [
    ("cli", "__main__"),  # the command: parses, calls the API, prints
    ("api", "studyfile"),  # the Python API (loaded on first use); a study file's stages
    ("demo",),  # the demo study
    ("reporting",),  # the HTML report
    ("evaluation",),  # the sweep: config, criteria, metrics, runner, summary
    ("predict",),  # training and prediction on new videos
    ("study", "provenance"),  # features joined to scored responses; where results come from
    ("models",),  # estimators, registry, persistence
    ("functionals",),  # frame tables -> per-video functionals
    ("synth",),  # synthetic cohorts, written in the frame schema of face/
    ("face",),  # decoding, landmarker, signals, schema, extraction folder, batch runner
    ("labels", "sdi", "screening", "instruments"),  # the questionnaire side
    ("io", "errors", "parallel", ""),  # tables and atomic writes, errors, executors
]


def layer_of(module: str) -> int:
    """The index in :data:`LAYERS` of ``facemind.<part>...`` (``facemind`` itself is last)."""
    part = module.split(".")[1] if "." in module else ""
    for i, names in enumerate(LAYERS):
        if part in names:
            return i
    raise SystemExit(f"{module}: in no layer; add it to LAYERS in {__file__}")


def _is_module(dotted: str) -> bool:
    path = SRC.parent.joinpath(*dotted.split("."))
    return path.is_dir() or path.with_suffix(".py").is_file()


def imports() -> dict[str, set[str]]:
    """Each module (dotted name) and the facemind modules it imports, at any depth of code."""
    graph: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent).with_suffix("")
        parts = list(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        package = parts if rel.name == "__init__" else parts[:-1]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else []
                mod = ".".join([*base, *([node.module] if node.module else [])])
                for alias in node.names:  # `from . import sdi` imports facemind.sdi
                    sub = f"{mod}.{alias.name}"
                    found.add(sub if _is_module(sub) else mod)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
        graph[".".join(parts)] = {m for m in found if m.split(".")[0] == "facemind"}
    return graph


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--edges", action="store_true", help="also print every import")
    args = ap.parse_args()
    graph = imports()
    sizes = {
        mod: len((SRC.parent / Path(*mod.split("."))).with_suffix(".py").read_text().splitlines())
        if (SRC.parent / Path(*mod.split("."))).with_suffix(".py").is_file()
        else len((SRC.parent / Path(*mod.split(".")) / "__init__.py").read_text().splitlines())
        for mod in graph
    }
    up, big = [], [f"{m} ({n} lines)" for m, n in sorted(sizes.items()) if n > MAX_LINES]
    for i, names in enumerate(LAYERS):
        members = sorted(m for m in graph if layer_of(m) == i)
        total = sum(sizes[m] for m in members)
        print(f"layer {i:2d} {'/'.join(n or '__init__' for n in names)}: "
              f"{len(members)} modules, {total} lines")  # fmt: skip
        for mod in members:
            below = sorted({d for d in graph[mod] if layer_of(d) > i})
            print(
                f"    {mod:42s} {sizes[mod]:4d}"
                + (f"  -> {', '.join(below)}" if args.edges and below else "")
            )
            up += [f"{mod} -> {d}" for d in sorted(graph[mod]) if layer_of(d) < i]
    print(f"\n{len(graph)} modules, {sum(sizes.values())} lines; largest: "
          f"{max(sizes, key=sizes.get)} ({max(sizes.values())} lines)")  # fmt: skip
    print(f"imports pointing up: {len(up)}" + "".join(f"\n    {e}" for e in up))
    print(f"modules over {MAX_LINES} lines: {len(big)}" + "".join(f"\n    {b}" for b in big))
    return 1 if up or big else 0


if __name__ == "__main__":
    sys.exit(main())
