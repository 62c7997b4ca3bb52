"""The ``facemind`` command: a thin shell that parses options, calls the library and prints.

Commands live in one module per area (questionnaires, face, study); each registers itself on
:data:`app`. User errors (:class:`~facemind.errors.FacemindError`) become one line on stderr
and exit status 2, never a traceback.
"""

from __future__ import annotations

import sys

import typer

from ..errors import FacemindError

app = typer.Typer(
    name="facemind",
    help="Facial videos and questionnaires into validated models of depression, anxiety and "
    "stress, with the Symptom Discrepancy Index (SDI).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def fail(message: str) -> None:
    """Raise a user error from CLI code."""
    raise FacemindError(message)


def _register() -> None:
    from . import demo, face, model, questionnaire, report, study  # noqa: F401


_register()


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turning user errors into a one-line message and exit 2."""
    try:
        app(args=argv, prog_name="facemind", standalone_mode=False)
    except FacemindError as exc:
        print(f"facemind: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("facemind: interrupted", file=sys.stderr)
        return 130
    except SystemExit as exc:  # typer/click exits for --help and usage errors
        return int(exc.code or 0) if isinstance(exc.code, int) else 1
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            return exc.exit_code
        if isinstance(exc, click.exceptions.Abort):
            print("facemind: aborted", file=sys.stderr)
            return 1
        raise
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


def console() -> None:
    """Console-script entry point."""
    sys.exit(main())
