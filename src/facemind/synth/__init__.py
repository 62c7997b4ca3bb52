"""Synthetic cohorts with a known ground truth, for demos and tests. Always labeled synthetic.

The generative model (also in docs/synthetic.md), one concept per module:

- :mod:`.responses`: demographics, latent states, DASS-21 items from Samejima's
  graded-response model, discrepant respondents (steps 1-4, :func:`make_responses`);
- :mod:`.faces`: frame tables in the real frame schema whose face signals follow the true
  states (step 5, :func:`video_frames`, :func:`iter_frame_tables`);
- :mod:`.cohort`: a cohort written to disk (responses, frame tables, manifest), every output
  labeled synthetic (step 6, :func:`write_cohort`);
- :mod:`.crops`: cartoon face crops beside a cohort, for the deep models' tests and benchmarks.

Everything is a function of ``seed``: participant-level draws come from one stream, each video
from its own stream keyed by (seed, video index), so results do not depend on ``jobs``.
"""

from __future__ import annotations

from .cohort import (
    RESPONSES_FILE,
    SYNTH_METADATA,
    SynthConfig,
    SynthSummary,
    read_responses,
    responses_path,
    write_cohort,
)
from .crops import draw_crop, write_synthetic_extraction
from .faces import iter_frame_tables, video_frames, video_plan, video_rng
from .responses import (
    DASS21_ITEMS,
    ITEM_COLUMNS,
    LATENT_CORRELATION,
    SCHOOLS,
    SUBSCALES,
    item_bank,
    make_responses,
)

__all__ = [
    "DASS21_ITEMS",
    "ITEM_COLUMNS",
    "LATENT_CORRELATION",
    "RESPONSES_FILE",
    "SCHOOLS",
    "SUBSCALES",
    "SYNTH_METADATA",
    "SynthConfig",
    "SynthSummary",
    "draw_crop",
    "item_bank",
    "iter_frame_tables",
    "make_responses",
    "read_responses",
    "responses_path",
    "video_frames",
    "video_plan",
    "video_rng",
    "write_cohort",
    "write_synthetic_extraction",
]
