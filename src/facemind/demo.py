"""The demo study: a synthetic cohort taken through every stage, then the report.

Steps: synthesize a cohort (labeled synthetic), score it, compute its SDI, compute facial
features, run a reduced sweep (both protocols, SDI and random removal, folds grouped by
school, metrics by gender, age and school, out-of-fold predictions and learning curves for
"Heterogeneity or capacity?"), measure which channels matter (permutation importance), and
write the report.
When a face model and a folder of real videos are given, those videos are extracted too and
their extraction quality goes into the report.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import sdi
from .errors import FacemindError
from .instruments import load_instrument, score_responses, validate_responses
from .io import read_table, write_json, write_table
from .reporting.sdi_plot import plot_sdi
from .synth import SynthConfig, make_responses, responses_path, write_cohort

#: Channel groups of the demo's features; landmarks are left out to keep the demo to minutes.
DEMO_GROUPS = ("aus", "pose", "gaze", "blendshapes")


@dataclass
class DemoResult:
    """Where the demo wrote its files, and the SDI per subscale."""

    out: Path
    files: dict[str, Path] = field(default_factory=dict)
    results: dict[str, sdi.SubscaleSDI] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _score_and_sdi(result: DemoResult, responses_path: Path) -> None:
    out = result.out
    data = validate_responses(
        read_table(responses_path, dtype={"participant_id": "string"}),
        load_instrument("dass21"),
        source=str(responses_path),
    )
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
    multipliers = {n: sub.multiplier for n, sub in load_instrument("dass21").subscales.items()}
    result.files["sdi_plot"] = plot_sdi(result.results, out / "sdi.png", multipliers=multipliers)


def run_questionnaire_demo(
    out: str | Path, *, participants: int = 2000, seed: int = 0, discrepant_share: float = 0.1
) -> DemoResult:
    """Synthesize DASS-21 answers, score them and compute their SDI; write every step's file."""
    result = DemoResult(out=Path(out))
    responses = make_responses(participants, seed=seed, discrepant_share=discrepant_share)
    result.files["responses"] = write_table(responses, result.out / "responses.csv")
    _score_and_sdi(result, result.files["responses"])
    return result


def run_demo(
    out: str | Path,
    *,
    participants: int = 1500,
    seed: int = 0,
    videos: str | Path | None = None,
    model: str | Path | None = None,
    jobs: int = 1,
    log: Callable[[str], None] = print,
    progress: Callable[[int, int], None] | None = None,
) -> DemoResult:
    """The whole demo study (see the module docstring); ``log`` receives one line per step,
    ``progress`` (videos done, videos in all) while the real sample videos are extracted."""
    from .evaluation import SweepConfig, run_sweep
    from .evaluation.importance import permutation_importance
    from .face.layout import ExtractionDir
    from .functionals import extract_features, write_features
    from .reporting.html import ReportData, write_report

    result = DemoResult(out=Path(out))
    cohort = result.out / "cohort"
    t0 = time.perf_counter()

    def step(text: str) -> None:
        log(f"[{time.perf_counter() - t0:6.1f} s] {text}")

    step(f"synthesizing {participants} participants (SYNTHETIC) -> {cohort}")
    write_cohort(
        cohort, SynthConfig(participants=participants, seed=seed, fps=4.0, duration=45.0), jobs=jobs
    )
    result.files["responses"] = responses_path(cohort)
    step("scoring DASS-21 and computing the SDI")
    _score_and_sdi(result, result.files["responses"])
    step("computing facial features from the frame tables")
    feats = extract_features(cohort, groups=DEMO_GROUPS, jobs=jobs)
    result.files["features"] = write_features(feats, result.out / "features.parquet")
    step(
        "running a reduced sweep (3 subscales x logreg, gbt x 2 protocols x sdi, random x 3 "
        "fractions x 5 folds grouped by school, training shares 0.25, 0.5, 1), with metrics "
        "by gender, age and school and the out-of-fold predictions"
    )
    responses = read_table(result.files["responses"], dtype={"participant_id": "string"})
    config = SweepConfig(
        models=("logreg", "gbt"),
        fractions=(0.0, 0.1, 0.2),
        criteria=("sdi", "random"),
        folds=5,
        seed=seed,
        jobs=jobs,
        save_predictions=True,
        train_sizes=(0.25, 0.5, 1.0),
        cv_groups="school",
    )
    sweep = run_sweep(
        feats.table, responses, "dass21", config, subgroups=("gender", "age", "school")
    )
    written = sweep.save(result.out / "results.csv")  # folds, summary, subgroups, predictions
    result.files["results"], result.files["subgroups"] = written[0], written[2]
    result.files["predictions"] = written[4]
    step("permutation importance of the channels for depression (logreg, 5 held-out folds)")
    importance = permutation_importance(
        feats.table,
        responses,
        "dass21",
        subscale="depression",
        model="logreg",
        folds=5,
        permutations=2,
        seed=seed,
    )
    result.files["importance"] = write_table(importance.table, result.out / "importance.csv")
    manifest_dir, note = cohort, None
    real = (
        _extract_real(result, Path(videos), model, step, progress) if videos is not None else None
    )
    if real is not None:
        manifest_dir = real
        note = (
            "These are real sample videos shipped with facemind's test assets, extracted with "
            "MediaPipe by this demo: they show the extraction on real faces. They are not the "
            "synthetic cohort's videos, whose frame tables were simulated."
        )
    step("writing the report")
    data = ReportData(
        responses=responses,
        instrument=load_instrument("dass21"),
        folds=sweep.folds,
        summary=sweep.summary,
        manifest=ExtractionDir(manifest_dir).read_manifest(),
        features=feats.table,
        source=str(result.files["responses"]),
        positive_band=config.positive_band,
        extraction_note=note,
        provenance=sweep.provenance,
        subgroups=sweep.subgroups,
        importance=importance.table,
        predictions=sweep.predictions,
    )
    result.files["report"] = write_report(data, result.out / "report.html")
    step("done")
    return result


def _extract_real(
    result: DemoResult, videos: Path, model: str | Path | None, step, progress=None
) -> Path | None:
    """Extract the real sample videos in ``videos`` when the face model can be found."""
    from .face.batch import run_batch
    from .face.layout import ExtractionDir
    from .face.model import resolve_model
    from .face.video import VIDEO_EXTENSIONS

    try:
        model_path = resolve_model(model)
    except FacemindError as exc:
        result.notes.append(f"real videos not extracted: {exc}")
        return None
    files = (
        sorted(p for p in videos.iterdir() if p.suffix.lower() in VIDEO_EXTENSIONS)
        if videos.is_dir()
        else []
    )
    if not files:
        result.notes.append(f"real videos not extracted: no videos in {videos}")
        return None
    target = result.out / "real-extraction"
    step(f"extracting {len(files)} real sample videos with MediaPipe -> {target}")
    summary = run_batch(files, target, model_path, progress=progress)
    result.files["real_extraction"] = ExtractionDir(target).manifest_path
    result.notes.append(
        f"real videos: {summary.total} extracted, {summary.no_face} without a face, "
        f"{summary.partial} partial, {summary.failed} failed"
    )
    return target
