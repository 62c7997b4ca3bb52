"""Write docs/cli.md from the commands' own help (run after changing a command's options).

Commands appear in the order ``facemind --help`` lists them (the order of a study); defaults
that depend on the machine are written in words (``one per core``), never as this machine's
numbers, so the file is the same wherever it is generated.
"""

from __future__ import annotations

import sys

import typer
from docs_target import run

from facemind.cli import app


def _walk(cmd, prefix: str):
    sub = getattr(cmd, "commands", None)
    if sub:
        for name in cmd.list_commands(None):
            yield from _walk(sub[name], f"{prefix} {name}".strip())
    else:
        yield prefix, cmd


def _default(param) -> str:
    if param.required:
        return "required"
    if isinstance(getattr(param, "show_default", None), str):
        return param.show_default
    default = param.default
    if default is None or default == () or callable(default):
        return ""
    if isinstance(default, bool):
        return "on" if default else "off"
    return f"`{default}`"


def render() -> str:
    """The CLI reference as Markdown."""
    root = typer.main.get_command(app)
    lines = [
        "# Command-line reference",
        "",
        "Generated from the commands' help by `python scripts/gen_cli_docs.py`; "
        "`facemind COMMAND --help` shows the same.",
        "Every command exits 0 on success and 2 with a one-line reason on bad input.",
        "Earlier option names still work: `--output` and `models fetch --dest` for `-o/--out`, "
        "`extract --workers` for `-j/--jobs`.",
        "",
    ]
    for name, cmd in _walk(root, ""):
        lines += [f"## `facemind {name}`", "", (cmd.help or "").strip().split("\n\n")[0], ""]
        args = [p for p in cmd.params if p.param_type_name == "argument"]
        opts = [p for p in cmd.params if p.param_type_name == "option" and p.name != "help"]
        usage = " ".join(p.name.upper() + ("..." if p.nargs == -1 else "") for p in args)
        lines += ["```", f"facemind {name} [OPTIONS] {usage}".rstrip(), "```", ""]
        if args or opts:
            lines += ["| argument / option | default | meaning |", "|---|---|---|"]
            for p in args:
                lines.append(
                    f"| `{p.name.upper()}` | {'required' if p.required else ''} | {getattr(p, 'help', '') or ''} |"
                )
            for p in (p for p in opts if not p.hidden):
                flags = ", ".join(f"`{o}`" for o in p.opts + p.secondary_opts)
                help_text = (p.help or "").replace("|", "\\|")
                lines.append(f"| {flags} | {_default(p)} | {help_text} |")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    return run("cli.md", render, "gen_cli_docs.py", __doc__)


if __name__ == "__main__":
    sys.exit(main())
