"""The demo study: a synthetic cohort taken through scoring and the SDI (labeled synthetic)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import sdi
from .instruments import load_instrument, score_responses, validate_responses
from .io import write_json, write_table
from .report.sdi_plot import plot_sdi
from .synth import make_responses


@dataclass
class DemoResult:
    """Where the demo wrote its files, and the SDI per subscale."""

    out: Path
    files: dict[str, Path] = field(default_factory=dict)
    results: dict[str, sdi.SubscaleSDI] = field(default_factory=dict)


def run_questionnaire_demo(
    out: str | Path, *, participants: int = 2000, seed: int = 0, discrepant_share: float = 0.1
) -> DemoResult:
    """Synthesize DASS-21 answers, score them and compute their SDI; write every step's file."""
    out = Path(out)
    result = DemoResult(out=out)
    inst = load_instrument("dass21")
    responses = make_responses(participants, seed=seed, discrepant_share=discrepant_share)
    result.files["responses"] = write_table(responses, out / "responses.csv")
    data = validate_responses(responses, inst, source=str(result.files["responses"]))
    scores, _ = score_responses(data)
    scores["synthetic"] = True
    result.files["scores"] = write_table(scores, out / "scores.csv")
    result.results = sdi.compute(data)
    table = sdi.per_respondent(result.results)
    table["synthetic"] = True
    result.files["sdi"] = write_table(table, out / "sdi.csv")
    summary = sdi.summary(result.results)
    summary["synthetic"] = True
    result.files["sdi_summary"] = write_json(summary, out / "sdi_summary.json")
    result.files["sdi_plot"] = plot_sdi(result.results, out / "sdi.png")
    return result
