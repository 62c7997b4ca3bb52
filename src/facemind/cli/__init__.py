"""The ``facemind`` command: a thin shell that parses options, calls the library and prints.

Commands live in one module per area (questionnaires, face, study); each registers itself on
:data:`app`. User errors (:class:`~facemind.errors.FacemindError`) become one line on stderr
and exit status 2, never a traceback.
"""

from __future__ import annotations

import re
import sys

import typer
from rich.console import Console

from ..errors import FacemindError

app = typer.Typer(
    name="facemind",
    help="Facial videos and questionnaires into validated models of depression, anxiety and "
    "stress, with the Symptom Discrepancy Index (SDI).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


#: Consoles of every command: results on stdout, progress and notes on stderr (never wrapped,
#: so file paths stay whole).
out = Console()
err = Console(stderr=True, soft_wrap=True)


#: Library parameters whose command-line flag is not ``--`` + the name with dashes.
FLAGS: dict[str, str] = {"workers": "--jobs"}

_PARAM = re.compile(r"`([a-z_][a-z0-9_]*)(?:=['\"]?([^`'\"]*)['\"]?)?`")


def as_flags(message: str) -> str:
    """``message`` with the library's parameter names (```folds```, ```missing='drop'```)
    written as this command's flags (``--folds``, ``--missing drop``)."""

    def flag(m: re.Match[str]) -> str:
        name, value = m.group(1), m.group(2)
        text = FLAGS.get(name, "--" + name.replace("_", "-"))
        return text if value is None else f"{text} {value}"

    return _PARAM.sub(flag, message)


def fail(message: str) -> None:
    """Raise a user error from CLI code."""
    raise FacemindError(message)


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        print(f"facemind {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Facial videos and questionnaires into validated models of depression, anxiety and
    stress, with the Symptom Discrepancy Index (SDI)."""


def _register() -> None:
    from . import demo, explain, face, model, questionnaire, report, run, study  # noqa: F401
    from .help import readable_help

    readable_help(app)


_register()


def _click_exception() -> type[Exception]:
    """ClickException of the click that typer runs on (recent typer vendors its own)."""
    try:
        from typer._click.exceptions import ClickException
    except ImportError:  # pragma: no cover - typer running on click itself
        from click.exceptions import ClickException
    return ClickException


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turning user errors into a one-line message and exit 2."""
    from .help import deprecation_notes

    click_exception = _click_exception()
    for note in deprecation_notes(sys.argv[1:] if argv is None else list(argv)):
        print(note, file=sys.stderr)
    try:
        code = app(args=argv, prog_name="facemind", standalone_mode=False)
        if code == 130:  # typer's answer to Ctrl-C: KeyboardInterrupt turned into exit 130
            raise KeyboardInterrupt
    except FacemindError as exc:
        print(f"facemind: error: {as_flags(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        from .progress import interrupted_message

        print(interrupted_message(sys.argv[1:] if argv is None else list(argv)), file=sys.stderr)
        return 130
    except click_exception as exc:  # usage errors: unknown command or option, bad value
        exc.show()
        return exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return code if isinstance(code, int) else 0


def console() -> None:
    """Console-script entry point."""
    sys.exit(main())
