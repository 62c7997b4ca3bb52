"""Write docs/api.md from the Python API's docstrings (run after changing one of them)."""

from __future__ import annotations

import inspect
import re
import sys

from docs_target import run

import facemind
from facemind import api

SECTION_TITLES = ("Parameters", "Returns", "Examples")
#: The API's alias for "a DataFrame or the path of a table file", spelled out in the docs.
_TABLE = re.compile(r"\bTable\b")
_TABLE_TYPE = "pd.DataFrame | str | os.PathLike[str]"


def _markdown(text: str) -> str:
    """reST roles and literals as Markdown code."""
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"`\1`", text)
    return text.replace("``", "`")


def _signature(func) -> str:
    """``name(param: type = default, ...) -> type`` with the annotations as written."""
    sig = inspect.signature(func)
    parts, star = [], False
    for p in sig.parameters.values():
        if p.kind is p.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        text = ("**" if p.kind is p.VAR_KEYWORD else "") + p.name
        if p.annotation is not p.empty:
            text += f": {_TABLE.sub(_TABLE_TYPE, str(p.annotation))}"
        if p.default is not p.empty:
            text += f" = {p.default!r}"
        parts.append(text)
    return f"{func.__name__}({', '.join(parts)}) -> {sig.return_annotation}"


def _sections(doc: str) -> tuple[str, dict[str, list[str]]]:
    """The summary paragraphs and the numpydoc sections of a docstring."""
    lines = _markdown(inspect.cleandoc(doc)).splitlines()
    intro: list[str] = []
    sections: dict[str, list[str]] = {}
    current: list[str] = intro
    i = 0
    while i < len(lines):
        line = lines[i]
        underline = lines[i + 1] if i + 1 < len(lines) else ""
        if line in SECTION_TITLES and underline and set(underline) == {"-"}:
            current = sections.setdefault(line, [])
            i += 2
            continue
        current.append(line)
        i += 1
    return "\n".join(intro).strip(), {k: _trim(v) for k, v in sections.items()}


def _trim(lines: list[str]) -> list[str]:
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


def _fields(lines: list[str]) -> list[str]:
    """Numpydoc ``name`` / indented description pairs as a Markdown list."""
    out: list[str] = []
    for line in lines:
        if line and not line.startswith(" "):
            out.append(f"- `{line}`:")
        elif line.strip():
            out[-1] += " " + line.strip()
    return out


def _examples(lines: list[str]) -> list[str]:
    """Prose stays prose; each run of ``>>>`` lines and their output becomes a code block."""
    out: list[str] = []
    in_code = False
    for line in [*lines, ""]:
        code = line.startswith((">>>", "...")) or (in_code and line.strip())
        if code and not in_code:
            out.append("```python")
        if not code and in_code:
            out.append("```")
        in_code = bool(code)
        out.append(line)
    return _trim(out)


def render() -> str:
    """The API reference as Markdown."""
    lines = [
        "# Python API",
        "",
        "Generated from the docstrings by `python scripts/gen_api_docs.py`; the examples run as",
        "tests. `import facemind as fm` gives every function below; importing the package loads",
        "none of the heavy libraries until a function needs them.",
        "",
    ]
    for name in facemind.__all__:
        func = getattr(api, name)
        intro, sections = _sections(func.__doc__ or "")
        lines += [f"## `fm.{name}`", "", "```python", _signature(func), "```", "", intro, ""]
        if "Parameters" in sections:
            lines += ["**Parameters**", "", *_fields(sections["Parameters"]), ""]
        if "Returns" in sections:
            lines += ["**Returns**", "", *_fields(sections["Returns"]), ""]
        if "Examples" in sections:
            lines += ["**Example**", "", *_examples(sections["Examples"]), ""]
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    return run("api.md", render, "gen_api_docs.py", __doc__)


if __name__ == "__main__":
    sys.exit(main())
