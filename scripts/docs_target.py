"""Shared by the docs generators: write a generated page, or check that it is current."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path


def run(page: str, render: Callable[[], str], script: str, description: str | None) -> int:
    """Write ``docs/<page>`` from ``render()``; with ``--check``, fail if it is out of date."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help=f"fail if docs/{page} is out of date")
    args = parser.parse_args()
    target = Path(__file__).resolve().parent.parent / "docs" / page
    text = render()
    if args.check:
        if not target.exists() or target.read_text() != text:
            print(f"docs/{page} is out of date: run python scripts/{script}", file=sys.stderr)
            return 1
        return 0
    target.write_text(text)
    print(f"wrote {target}")
    return 0
