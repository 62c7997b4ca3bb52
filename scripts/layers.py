"""The package's layers: module sizes and every import between facemind modules, checked.

Each module belongs to one layer (``LAYERS``, top first) and may import only its own layer
and those below. Prints each layer's modules with their sizes (code lines: without
docstrings, comments and blank lines; then all lines) and the imports that cross layers, then
the imports that point up; exits 1 when there are any. Size is reported, not capped: what a
module must be is one concept.

    python scripts/layers.py            # the table and the checks
    python scripts/layers.py --edges    # also every import, one line each
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "facemind"

#: Top first. A module's layer is that of its first dotted part under ``facemind``.
LAYERS: list[tuple[str, ...]] = [
    ("cli", "__main__"),  # the command: parses, calls the API, prints
    ("api", "studyfile"),  # the Python API (loaded on first use); a study file's stages
    ("demo",),  # the demo study
    ("reporting",),  # the HTML report
    ("evaluation",),  # the sweep: config, criteria, metrics, plan, execution, result, summary
    ("predict",),  # training and prediction on new videos
    ("study", "provenance"),  # features joined to scored responses; where results come from
    ("models",),  # estimators, registry, persistence
    ("functionals",),  # frame tables -> per-video functionals
    ("synth",),  # synthetic cohorts and crops, written in the frame schema and layout of face/
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


def module_path(module: str) -> Path:
    """The source file of a dotted facemind module (a package's ``__init__.py``)."""
    path = SRC.parent / Path(*module.split("."))
    return path.with_suffix(".py") if path.with_suffix(".py").is_file() else path / "__init__.py"


def code_lines(source: str) -> int:
    """Lines holding code: docstrings, comments and blank lines left out."""
    tree = ast.parse(source)
    docs: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                docs.update(range(body[0].lineno, body[0].end_lineno + 1))
    return sum(
        1
        for i, line in enumerate(source.splitlines(), 1)
        if i not in docs and line.strip() and not line.strip().startswith("#")
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--edges", action="store_true", help="also print every import")
    args = ap.parse_args()
    graph = imports()
    sources = {mod: module_path(mod).read_text() for mod in graph}
    code = {mod: code_lines(text) for mod, text in sources.items()}
    lines = {mod: len(text.splitlines()) for mod, text in sources.items()}
    up = []
    for i, names in enumerate(LAYERS):
        members = sorted(m for m in graph if layer_of(m) == i)
        print(
            f"layer {i:2d} {'/'.join(n or '__init__' for n in names)}: {len(members)} modules, "
            f"{sum(code[m] for m in members)} code lines ({sum(lines[m] for m in members)} lines)"
        )
        for mod in members:
            below = sorted({d for d in graph[mod] if layer_of(d) > i})
            print(
                f"    {mod:42s} {code[mod]:4d} {lines[mod]:5d}"
                + (f"  -> {', '.join(below)}" if args.edges and below else "")
            )
            up += [f"{mod} -> {d}" for d in sorted(graph[mod]) if layer_of(d) < i]
    largest = max(code, key=code.get)
    print(
        f"\n{len(graph)} modules, {sum(code.values())} code lines ({sum(lines.values())} lines); "
        f"most code: {largest} ({code[largest]} code lines, {lines[largest]} lines)"
    )
    print(f"imports pointing up: {len(up)}" + "".join(f"\n    {e}" for e in up))
    return 1 if up else 0


if __name__ == "__main__":
    sys.exit(main())
