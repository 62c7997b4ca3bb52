"""One file for the whole study: ``facemind run study.yaml`` runs the stages it names.

A study file (YAML; paths relative to it) names the inputs and each stage's settings::

    instrument: dass21
    responses: responses.csv
    videos: [videos/]              # files, folders or CSV lists, as for extract
    out: study                     # extraction/, features.parquet, sweep.csv, report.html
    extract: {sample_fps: 8}       # settings of fm.extract (face_model, jobs, ...)
    features: {per: video}         # settings of fm.features
    sweep: {models: [logreg], fractions: [0, 0.1], folds: 5}   # SweepConfig fields
    report: true

Optional: ``encoding`` and ``id_column`` (for every table read). The stages run in that
order, each only when named (``extract`` needs ``videos``); each resumes as its own command
does (extraction keeps finished videos, the sweep its finished folds), and a stage whose
output is newer than its inputs and the study file is not run again. :func:`check_study`
(``--dry-run``) checks every input and prints the plan with a time estimate, writing nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import FacemindError, InputError

STAGES = ("extract", "features", "sweep", "report")
KEYS = frozenset({"instrument", "responses", "videos", "out", "encoding", "id_column", *STAGES})
#: Frames a second one extraction worker processes (MediaPipe on one core of the development
#: machine, docs/extraction.md); the estimate scales by it.
FRAMES_PER_SECOND = 50.0
#: Seconds per classical model fit in a sweep on a pilot-sized cohort (a rough figure).
SECONDS_PER_FIT = 0.05


@dataclass
class Study:
    """A study file, read and with its paths resolved."""

    path: Path
    instrument: str
    responses: Path
    out: Path
    videos: list[Path] = field(default_factory=list)
    encoding: str | None = None
    id_column: str = "participant_id"
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def extraction(self) -> Path:
        return self.out / "extraction"

    @property
    def features(self) -> Path:
        return self.out / "features.parquet"

    @property
    def results(self) -> Path:
        return self.out / "sweep.csv"

    @property
    def report(self) -> Path:
        return self.out / "report.html"


def load_study(path: str | os.PathLike[str]) -> Study:
    """Read a study file (one-line errors naming the file and key)."""
    import yaml

    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError:
        raise InputError("study file not found", file=str(p)) from None
    except yaml.YAMLError as exc:
        raise InputError(f"not a YAML file: {' '.join(str(exc).split())}", file=str(p)) from None
    if not isinstance(data, dict):
        raise InputError(
            "a study file is a mapping of keys (instrument, responses, ...)", file=str(p)
        )
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise InputError(
            f"unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(KEYS))}", file=str(p)
        )
    for key in ("instrument", "responses", "out"):
        if not data.get(key):
            raise InputError(f"the study file needs '{key}'", file=str(p))
    base = p.parent
    videos = data.get("videos") or []
    videos = [videos] if isinstance(videos, str) else list(videos)
    stages = {}
    for stage in STAGES:
        value = data.get(stage)
        if value is None or value is False:
            continue
        if value is True:
            value = {}
        if not isinstance(value, dict):
            raise InputError(f"'{stage}' takes a mapping of settings (or true)", file=str(p))
        stages[stage] = dict(value)
    for stage, settings in stages.items():
        allowed = stage_settings(stage)
        wrong = sorted(set(settings) - allowed)
        if wrong:
            raise InputError(
                f"'{stage}' has unknown setting(s) {', '.join(wrong)}; known: "
                f"{', '.join(sorted(allowed))}",
                file=str(p),
            )
    if "face_model" in stages.get("extract", {}):
        stages["extract"]["face_model"] = base / stages["extract"]["face_model"]
    if "extract" in stages and not videos:
        raise InputError("the extract stage needs 'videos'", file=str(p))
    return Study(
        path=p,
        instrument=str(data["instrument"]),
        responses=base / data["responses"],
        out=base / data["out"],
        videos=[base / v for v in videos],
        encoding=data.get("encoding"),
        id_column=data.get("id_column", "participant_id"),
        stages=stages,
    )


def stage_settings(stage: str) -> set[str]:
    """The settings a stage takes: its API function's options (the sweep's: ``SweepConfig``
    fields and the subgroups), less the paths the study file sets."""
    import dataclasses
    import inspect

    from . import api

    if stage == "sweep":
        from .evaluation import SweepConfig

        return {f.name for f in dataclasses.fields(SweepConfig)} - {"id_column", "frames"} | {
            "subgroups",
            "subgroup_bins",
            "scheduler",
        }
    given = {
        "extract": {"videos", "out", "progress", "executor"},
        "features": {"frames", "out", "progress", "executor"},
        "report": {
            "results",
            "responses",
            "instrument",
            "out",
            "extraction",
            "features",
            "id_column",
            "encoding",
        },
    }
    return set(inspect.signature(getattr(api, stage)).parameters) - given[stage]


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def check_study(study: Study) -> list[str]:
    """Check every input without writing anything: the responses (columns, values), the
    videos (each one readable), ids joinable between videos and responses, the stages'
    settings; return the plan, one line per stage with a time estimate."""
    from . import api
    from .evaluation import SweepConfig, plan_size
    from .face.batch import collect_inputs
    from .face.extract import ExtractSettings
    from .face.video import DecodeError, open_video
    from .instruments import load_instrument
    from .study import describe_id_mismatch

    inst = load_instrument(study.instrument)
    scores = api.score(study.responses, inst, id_column=study.id_column, encoding=study.encoding)
    people = set(scores[study.id_column].astype(str))
    plan = [
        f"responses: {len(scores)} respondents of {inst.id}, every item column present "
        "and every answer valid"
    ]
    stages = study.stages
    if "extract" in stages:
        from .face.model import resolve_model, verify_model

        settings = dict(stages["extract"])
        face_model, jobs = settings.pop("face_model", None), int(settings.pop("jobs", 1))
        keep = {k: v for k, v in settings.items() if k not in ("executor", "scheduler")}
        extract = ExtractSettings(**keep)  # settings refused here, before any video is read
        verify_model(resolve_model(face_model))
        tasks = collect_inputs(study.videos)
        frames, unreadable = 0.0, []
        for t in tasks:
            try:
                container, info = open_video(t.path)
                container.close()
            except DecodeError as exc:
                unreadable.append(f"{t.path} ({exc})")
                continue
            n = info.declared_frames or (info.duration or 0) * (info.fps or 0)
            if extract.sample_fps and info.duration:
                n = min(n, info.duration * extract.sample_fps)
            frames += n
        if unreadable:
            raise InputError(
                f"{len(unreadable)} of {len(tasks)} video(s) cannot be read: "
                f"{'; '.join(unreadable[:5])}",
                file=str(study.path),
            )
        ids = {t.participant_id for t in tasks}
        joined = ids & people
        if not joined:
            raise InputError(
                "no video's participant id is among the responses' ids: "
                + describe_id_mismatch(sorted(ids), sorted(people)),
                file=str(study.path),
            )
        seconds = frames / (FRAMES_PER_SECOND * max(1, jobs))
        plan.append(
            f"extract: {len(tasks)} videos, about {frames:.0f} frames, into "
            f"{study.extraction}; {len(joined)} of {len(ids)} participant(s) have "
            f"answers; about {_duration(seconds)} with {jobs} worker(s)"
        )
    if "features" in stages:
        plan.append(
            f"features: {study.features} ({', '.join(f'{k}={v}' for k, v in stages['features'].items()) or 'defaults'})"
        )
    if "sweep" in stages:
        extra = ("subgroups", "subgroup_bins", "scheduler")
        config = SweepConfig(**{k: v for k, v in stages["sweep"].items() if k not in extra})
        config.validate(inst)
        fits = plan_size(config, inst)
        plan.append(
            f"sweep: {fits} model fits into {study.results}; about "
            f"{_duration(fits * SECONDS_PER_FIT / max(1, config.jobs))}"
        )
    if "report" in stages:
        plan.append(f"report: {study.report}")
    return plan


def _fresh(output: Path, *inputs: Path) -> bool:
    """Whether ``output`` exists and is newer than every input that exists."""
    if not output.exists():
        return False
    made = output.stat().st_mtime
    return all(made > p.stat().st_mtime for p in inputs if p.exists())


def run_study(study: Study, say: Callable[[str], None] = print) -> dict[str, Path]:
    """Run the study's stages in order (see the module docstring); return what each wrote."""
    from . import api
    from .face.layout import ExtractionDir

    stages, wrote = study.stages, {}
    if not stages:
        raise FacemindError(f"{study.path}: no stage named (extract, features, sweep, report)")
    if "extract" in stages:
        settings = dict(stages["extract"])
        manifest = api.extract(study.videos, study.extraction, **settings)
        run = manifest.attrs["run"]
        say(
            f"extract: {run['total']} videos, {run['skipped']} already done, "
            f"{run['processed']} processed, {run['failed']} failed"
        )
        wrote["extract"] = study.extraction
    if "features" in stages:
        manifest = ExtractionDir(study.extraction).manifest_path
        if _fresh(study.features, manifest, study.path):
            say(f"features: {study.features} is up to date")
        else:
            table = api.features(study.extraction, out=study.features, **stages["features"])
            say(f"features: {table.attrs['summary']}")
        wrote["features"] = study.features
    if "sweep" in stages:
        if _fresh(study.results, study.features, study.responses, study.path):
            say(f"sweep: {study.results} is up to date")
        else:
            result = api.sweep(
                study.features,
                study.responses,
                study.instrument,
                out=study.results,
                encoding=study.encoding,
                id_column=study.id_column,
                **stages["sweep"],
            )
            say(f"sweep: {len(result.folds)} fold rows written to {study.results}")
        wrote["sweep"] = study.results
    if "report" in stages:
        api.report(
            study.results if "sweep" in stages else None,
            study.responses,
            study.instrument,
            study.report,
            features=study.features if "features" in stages else None,
            extraction=study.extraction if "extract" in stages else None,
            id_column=study.id_column,
            encoding=study.encoding,
            **stages["report"],
        )
        say(f"report: {study.report}")
        wrote["report"] = study.report
    return wrote
