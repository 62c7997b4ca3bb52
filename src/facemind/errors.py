"""User-facing errors: one line naming the file, row, column and value at fault.

Messages name the library's parameters in backticks (```folds` must be at least 2``,
``use `missing='drop'```), never command-line flags: the command line turns them into its
flags (``--folds``, ``--missing drop``) where it prints the error. Mistakes in calling code
rather than in the user's data or settings (a model used before it is fitted) raise
:class:`ValueError` or scikit-learn's ``NotFittedError`` instead.
"""

from __future__ import annotations


class FacemindError(Exception):
    """An error in the user's input or settings; the CLI prints it as one line and exits 2."""


class ParameterError(FacemindError, ValueError):
    """A parameter out of its range or inconsistent with another; the message names it."""


class InputError(FacemindError, ValueError):
    """Bad input data, located as precisely as possible.

    ``row`` counts data rows from 1, the header not counted (row 1 is the first respondent,
    video or frame), the same in every file format; ``line`` is the file line it starts on
    (CSV), said beside it because the two differ.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        line: int | None = None,
        column: str | None = None,
        value: object = None,
    ) -> None:
        self.file, self.row, self.line, self.column, self.value = file, row, line, column, value
        where = []
        if file is not None:
            where.append(str(file))
        if row is not None:
            where.append(f"row {row}" if line is None else f"row {row}, line {line}")
        if column is not None:
            where.append(f"column {column!r}")
        if value is not None:
            where.append(f"value {value!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class ModelWarning(UserWarning):
    """A fitted model that should not be trusted as it is (one that learned nothing)."""


def check_choice(name: str, value: object, allowed: tuple[object, ...]) -> None:
    """Refuse ``value`` of the parameter ``name`` unless it is one of ``allowed`` (one line)."""
    if value not in allowed:
        choices = ", ".join(map(str, allowed))
        raise ParameterError(f"`{name}` must be one of {choices}, got {value!r}")
