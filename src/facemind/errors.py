"""User-facing errors: one line naming the file, row, column and value at fault."""

from __future__ import annotations


class FacemindError(Exception):
    """An error in the user's input or settings; the CLI prints it as one line and exits 2."""


class InputError(FacemindError):
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
