"""Feature coverage of a features table: how many features each channel group has and how
many of their cells are empty."""

from __future__ import annotations

import pandas as pd

from ..face import schema
from ..functionals import feature_columns

#: Dynamics and bookkeeping features whose channel is not a frame-table column.
DERIVED_GROUPS: dict[str, str] = {
    "head_rotation_speed": "pose",
    "head_translation_speed": "pose",
    "gaze_speed": "gaze",
    "landmark_speed": "landmarks",
    "blink": "aus",
    "coverage": "coverage",
}


def channel_group(column: str) -> str:
    """The channel group of a feature column ``<channel>__<stat>`` (``other`` when unknown)."""
    channel = column.split("__", 1)[0]
    for group, channels in schema.CHANNEL_GROUPS.items():
        if channel in channels:
            return group
    return DERIVED_GROUPS.get(channel, "other")


def feature_coverage(features: pd.DataFrame) -> pd.DataFrame:
    """One row per channel group: ``group``, ``features``, ``channels``, ``missing share``
    (empty cells among the group's features) and ``rows without any`` (share of rows in which
    every feature of the group is empty)."""
    cols = feature_columns(features)
    groups: dict[str, list[str]] = {}
    for c in cols:
        groups.setdefault(channel_group(c), []).append(c)
    rows = []
    for group, members in groups.items():
        block = features[members].apply(pd.to_numeric, errors="coerce")
        empty = block.isna()
        rows.append(
            {
                "group": group,
                "features": len(members),
                "channels": len({m.split("__", 1)[0] for m in members}),
                "missing share": float(empty.to_numpy().mean()) if len(block) else float("nan"),
                "rows without any": float(empty.all(axis=1).mean()) if len(block) else float("nan"),
            }
        )
    return pd.DataFrame(
        rows, columns=["group", "features", "channels", "missing share", "rows without any"]
    )
