"""Checks that hold. CI gives one verdict per commit: under CI the property tests draw the same
examples on every run; outside it they explore fresh ones (tests/conftest.py). Tests name the
error class they expect."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
DRAW = f"""
import json, sys
sys.path.insert(0, {str(TESTS)!r})
import conftest
from hypothesis import given, settings, strategies as st
seen = []
@given(st.integers(0, 2**62))
def draw(x):
    seen.append(x)
draw()
print(json.dumps({{"profile": conftest.PROFILE, "derandomize": settings.default.derandomize,
                  "database": settings.default.database is not None, "seen": seen}}))
"""


def _draw(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in ("CI", "HYPOTHESIS_PROFILE")}
    run = dict(capture_output=True, text=True, check=True, cwd=TESTS.parent)
    out = subprocess.run([sys.executable, "-c", DRAW], env={**clean, **env}, **run)
    return json.loads(out.stdout)


def test_ci_draws_the_same_examples_on_every_run():
    first, second = _draw(CI="true"), _draw(CI="true")
    assert first["profile"] == "ci" and first["derandomize"] and not first["database"]
    assert first["seen"] == second["seen"] and len(first["seen"]) == 100


def test_outside_ci_every_run_explores_new_examples():
    first, second = _draw(), _draw()
    assert first["profile"] == "explore" and not first["derandomize"]
    assert first["seen"] != second["seen"]  # 100 draws from 2**62 values each: never equal
    assert _draw(CI="true", HYPOTHESIS_PROFILE="explore")["profile"] == "explore"


def test_tests_name_the_error_class_they_expect():
    broad = re.compile(r"raises\(\s*\(?\s*(Exception|BaseException)\b")
    found = [
        f"{path.name}:{n}"
        for path in sorted(TESTS.glob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if broad.search(line) and path.name != "test_checks.py"
    ]
    assert found == []
