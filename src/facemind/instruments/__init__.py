"""Questionnaire instruments: YAML specs, response validation and scoring."""

from .responses import MISSING_POLICIES, Responses, resolve_item_columns, validate_responses
from .scoring import ScoreReport, score, score_responses
from .spec import Band, Instrument, Subscale, builtin_ids, load_instrument, parse_spec

__all__ = [
    "MISSING_POLICIES",
    "Band",
    "Instrument",
    "Responses",
    "ScoreReport",
    "Subscale",
    "builtin_ids",
    "load_instrument",
    "parse_spec",
    "resolve_item_columns",
    "score",
    "score_responses",
    "validate_responses",
]
