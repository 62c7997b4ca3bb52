"""How every command reads in ``--help``: plain type names, upper-case arguments, commands in
workflow order, and old option names still accepted without being shown.

Typer labels values ``<bool>``, ``<list[Path]>`` and writes required arguments as
``{inputs}...``; the classes here name them as a researcher reads them (``PATH``, ``INTEGER``,
``INPUTS...``, no type for on/off flags) and are installed on every command by
:func:`readable_help`.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

#: Commands in the order of a study: questionnaires, face model, videos, features, models,
#: report. Commands not listed here follow in the order they were registered.
WORKFLOW = (
    "instruments", "score", "sdi", "models", "extract", "import-openface", "synth", "features",
    "sweep", "explain", "train", "predict", "report", "run", "demo",
)  # fmt: skip

#: Option names kept working for earlier command lines but not shown in help: ``--output``
#: and ``models fetch --dest`` (now ``-o/--out``), ``extract --workers`` (now ``-j/--jobs``).
LEGACY_NAMES = frozenset({"--output", "--workers", "--dest"})

#: Option names of one command replaced by the name every command uses: still accepted, not
#: shown, and a note says the new name when one is used (:func:`deprecation_notes`).
RENAMED: dict[str, dict[str, str]] = {
    "extract": {"--model": "--face-model"},
    "demo": {"--model": "--face-model"},
}

_TYPE_NAMES = {"int": "INTEGER", "float": "NUMBER", "str": "TEXT"}


def deprecation_notes(argv: list[str]) -> list[str]:
    """A note for each renamed option (:data:`RENAMED`) used on the command line ``argv``."""
    command = next((a for a in argv if not a.startswith("-")), None)
    renamed = RENAMED.get(command or "", {})
    used = {a.split("=", 1)[0] for a in argv if a.startswith("--")}
    return [
        f"note: {command} {old} is now {new} (the old name still works)"
        for old, new in renamed.items()
        if old in used
    ]


def type_name(param: Any) -> str | None:
    """Plain name of the value a parameter takes (``None`` for an on/off flag)."""
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return None
    desc = getattr(param, "type_descriptor", None)
    if desc is None:
        return None
    if desc.is_path:
        return "PATH"
    bare = param.bare_type()
    if bare.startswith("list[") and bare.endswith("]"):
        bare = bare[5:-1]
    return "PATH" if bare == "Path" else _TYPE_NAMES.get(bare, bare.upper())


class ReadableOption(TyperOption):
    """An option whose type reads ``INTEGER``/``PATH``/... and whose legacy names stay hidden."""

    legacy_opts: list[str] = []

    def display_type(self, ctx: Any) -> str | None:  # type: ignore[override]
        return type_name(self)

    def _get_default_string(self, **kwargs: Any) -> str:
        if isinstance(self.show_default, str):  # a default in words, e.g. "one per core"
            return self.show_default
        return super()._get_default_string(**kwargs)

    def add_to_parser(self, parser: Any, ctx: Any) -> None:
        super().add_to_parser(parser, ctx)
        if self.legacy_opts:
            parser.add_option(
                obj=self, opts=self.legacy_opts, dest=self.name, action="store", nargs=self.nargs
            )


class ReadableArgument(TyperArgument):
    """An argument shown as ``NAME`` (``NAME...`` when it takes several values)."""

    @property
    def display_name_raw(self) -> str:
        return self.metavar or (self.name or "").upper()

    def display_type(self, ctx: Any) -> str | None:  # type: ignore[override]
        return type_name(self)

    def _usage_display_name(self) -> str:
        name = self.display_name_raw + ("..." if self.nargs != 1 else "")
        return name if self.required else f"[{name}]"


def _readable(param: Any, renamed: dict[str, str] | None = None) -> Any:
    if type(param) is TyperOption:
        param.__class__ = ReadableOption
        legacy = [o for o in param.opts if o in LEGACY_NAMES or o in (renamed or {})]
        if legacy:
            param.opts = [o for o in param.opts if o not in legacy]
            param.legacy_opts = legacy
    elif type(param) is TyperArgument:
        param.__class__ = ReadableArgument
    return param


class FacemindCommand(TyperCommand):
    """A command whose parameters read as :class:`ReadableOption` / :class:`ReadableArgument`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            _readable(param, RENAMED.get(self.name or ""))

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)
        return _readable(option) if option is not None else None


class FacemindGroup(TyperGroup):
    """A command group listing its commands in :data:`WORKFLOW` order."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            _readable(param)
        rank = {name: i for i, name in enumerate(WORKFLOW)}
        names = sorted(self.commands, key=lambda n: rank.get(n, len(rank)))
        self.commands = {n: self.commands[n] for n in names}

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)
        return _readable(option) if option is not None else None


def readable_help(app: typer.Typer) -> None:
    """Use the readable command classes for every command of ``app`` and its sub-apps."""
    app.info.cls = FacemindGroup
    for info in app.registered_commands:
        if info.cls in (None, TyperCommand):
            info.cls = FacemindCommand
    for group in app.registered_groups:
        group.cls = FacemindGroup
        if group.typer_instance is not None:
            readable_help(group.typer_instance)
