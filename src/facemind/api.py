"""The Python API: a whole study from a notebook, one function per stage.

Every function takes DataFrames or paths, names its parameters (never command-line flags) in
its errors, and is what the ``facemind`` command calls. ``import facemind as fm`` gives them
all (:mod:`facemind` loads this module on first use, so importing the package stays light).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .face.landmarker import DEFAULT_MAX_FACES, DEFAULT_MIN_CONFIDENCE

if TYPE_CHECKING:
    from .evaluation import SweepResult
    from .evaluation.importance import ImportanceResult
    from .instruments import Instrument
    from .predict import Predictor
    from .sdi import SubscaleSDI

Table = pd.DataFrame | str | os.PathLike[str]


def _table(
    data: Table, id_column: str = "participant_id", encoding: str | None = None
) -> tuple[pd.DataFrame, str]:
    """``data`` as a DataFrame (files read with ids as text) and the name errors give it."""
    from .study import study_table

    return study_table(data, id_column, encoding)


def load_instrument(name_or_path: str | os.PathLike[str] | Instrument) -> Instrument:
    """A questionnaire's definition: items, subscales, reverse keying, multipliers and bands.

    Parameters
    ----------
    name_or_path
        A built-in id (``dass21``, ``dass42``, ``phq9``, ``gad7``, ``pss10``) or the path of a
        YAML/JSON spec file; an :class:`Instrument` is returned as it is.

    Returns
    -------
    Instrument
        ``.id``, ``.subscales`` (name to items, reverse items, multiplier and bands),
        ``.response_min`` and ``.response_max``.

    Examples
    --------
    >>> import facemind as fm
    >>> dass = fm.load_instrument("dass21")
    >>> list(dass.subscales), dass.subscales["depression"].multiplier
    (['depression', 'anxiety', 'stress'], 2)
    """
    from .instruments import load_instrument as _load

    return _load(name_or_path)


def score(
    responses: Table,
    instrument: str | Instrument,
    *,
    id_column: str = "participant_id",
    missing: str = "error",
    encoding: str | None = None,
) -> pd.DataFrame:
    """Validate and score questionnaire responses.

    Parameters
    ----------
    responses
        One row per respondent: ``id_column`` and the instrument's item columns (a DataFrame
        or a table file).
    instrument
        A built-in id (``dass21``, ``phq9``, ...), a spec file or an :class:`Instrument`.
    id_column
        The respondents' id column.
    missing
        ``'error'`` (refuse unanswered items), ``'drop'`` (leave the subscale empty) or
        ``'prorate'`` (scale up the answered items).
    encoding
        The text encoding of a CSV file (detected when ``None``).

    Returns
    -------
    pandas.DataFrame
        The id, then per subscale ``<sub>`` (scored total), ``<sub>_raw`` and ``<sub>_band``;
        ``.attrs["notes"]`` says how many respondents each subscale left out or prorated.

    Examples
    --------
    >>> import facemind as fm
    >>> from facemind.synth import make_responses
    >>> scores = fm.score(make_responses(20, seed=0), "dass21")
    >>> list(scores.columns[:4])
    ['participant_id', 'depression', 'depression_raw', 'depression_band']
    >>> len(scores)
    20
    """
    from .instruments import score as _score

    return _score(responses, instrument, id_column=id_column, missing=missing, encoding=encoding)


def compute_sdi(
    responses: Table,
    instrument: str | Instrument,
    *,
    subscales: Sequence[str] | None = None,
    group_by: str = "total",
    standardize: bool = True,
    center: str = "group",
    missing: str = "error",
    id_column: str = "participant_id",
    encoding: str | None = None,
) -> dict[str, SubscaleSDI]:
    """The Symptom Discrepancy Index of every (or the chosen) subscale.

    Parameters
    ----------
    responses
        Item responses (a DataFrame or a table file).
    instrument
        A built-in id, a spec file or an :class:`Instrument`.
    subscales
        The subscales to compute (default: all of them).
    group_by
        ``'total'`` (respondents with the same raw total) or ``'band'`` (same severity band).
    standardize
        Standardize the items before measuring discrepancy.
    center
        ``'group'`` (distance to the group's center: the SDI) or ``'global'`` (to the
        sample's center, the released scripts' variant).
    missing
        ``'error'`` or ``'drop'`` (leave incomplete respondents out of that subscale).
    id_column, encoding
        As in :func:`score`.

    Returns
    -------
    dict of str to SubscaleSDI
        Per subscale: ``.sdi`` (the dataset's index), ``.groups`` (per-group table) and
        ``.discrepancy`` (each respondent's normalized discrepancy, 0-1).
        :func:`facemind.sdi.per_respondent` and :func:`facemind.sdi.summary` turn it into the
        table and summary the command line writes.

    Examples
    --------
    >>> import facemind as fm
    >>> from facemind.synth import make_responses
    >>> result = fm.compute_sdi(make_responses(200, seed=0), "dass21")
    >>> sorted(result)
    ['anxiety', 'depression', 'stress']
    >>> 0.0 < result["depression"].sdi < 1.0
    True
    """
    from . import sdi

    return sdi.compute(
        responses,
        instrument,
        subscales=subscales,
        group_by=group_by,
        standardize=standardize,
        center=center,
        missing=missing,
        id_column=id_column,
        encoding=encoding,
    )


def extract(
    videos: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    face_model: str | os.PathLike[str] | None = None,
    save_crops: int = 0,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    sample_fps: float | None = None,
    au_calibration: str = "video",
    max_faces: int = DEFAULT_MAX_FACES,
    jobs: int = 1,
    executor: Any = None,
    scheduler: str | None = None,
    retry_failed: bool = False,
    prune: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Extract frame tables from facial videos with MediaPipe, on this machine only.

    Writes ``out/frames/<video_id>.parquet`` and ``out/manifest.parquet``; a rerun skips the
    videos already done with the same settings. Nothing is sent over the network, and face
    crops are written only when ``save_crops`` asks for them.

    Parameters
    ----------
    videos
        Video files, folders of videos, or CSV lists (``path`` and optional ``video_id``,
        ``participant_id`` columns).
    out
        The extraction directory to write.
    face_model
        The MediaPipe face model file (default: ``$FACEMIND_FACE_MODEL``, then the user cache
        filled by ``facemind models fetch``).
    save_crops
        Also keep this many aligned face crops per video (for the crop models).
    min_confidence
        Minimum face detection and presence confidence.
    sample_fps
        Process about this many frames per second of video time (default: every frame).
    au_calibration
        ``'video'`` (AU levels relative to each video's neutral reference) or ``'none'``
        (absolute levels).
    max_faces
        Faces looked for in a frame: the participant's is tracked, the others are counted
        (manifest ``faces_max``, ``other_face_frames``) and kept out of the landmarks; ``1``
        looks for one face only and cannot tell when another is in view.
    jobs
        Local worker processes (``-1``: one per core; never more than the videos to do).
    executor, scheduler
        Run on this executor (a :class:`concurrent.futures.Executor` or a Dask ``Client``,
        left open) or on the Dask scheduler at this address, instead of local processes.
    retry_failed
        Extract again the videos that failed last time.
    prune
        Delete what ``out`` holds of videos not among ``videos``, so that the manifest and
        everything read from it count only these (a rerun updates their participant ids).
    progress
        Called with (videos done, videos in all).

    Returns
    -------
    pandas.DataFrame
        The manifest: one row per video with its ``status`` (``ok``, ``partial``, ``no_face``,
        ``failed``), frame counts and errors. ``.attrs["run"]`` counts what this call did:
        ``total``, ``skipped`` (done earlier), ``processed``, each status, ``frames``,
        ``seconds``, ``failures`` (``[video_id, path, error]`` of each failed video),
        ``other_faces`` (``[video_id, faces_max, other_face_frames]``: other faces in view),
        ``relabelled`` (new participant ids), ``not_given`` and ``pruned`` (other videos).

    Examples
    --------
    Needs the face model (``facemind models fetch``) and videos, so not run here:

    >>> import facemind as fm
    >>> manifest = fm.extract(["interviews/"], "extraction")  # doctest: +SKIP
    >>> manifest["status"].value_counts()  # doctest: +SKIP
    """
    from .errors import ParameterError
    from .face.batch import run_batch
    from .face.extract import ExtractSettings

    if jobs != 1 and (scheduler is not None or executor is not None):
        raise ParameterError("give `jobs` (local processes) or `scheduler`, not both")
    settings = ExtractSettings(
        min_confidence=min_confidence,
        save_crops=save_crops,
        sample_fps=sample_fps,
        au_calibration=au_calibration,
        max_faces=max_faces,
    )
    summary = run_batch(
        videos,
        out,
        face_model,
        settings=settings,
        jobs=jobs,
        executor=executor,
        scheduler=scheduler,
        retry_failed=retry_failed,
        prune=prune,
        progress=progress,
    )
    manifest = summary.manifest.copy()
    manifest.attrs["run"] = summary.counts()
    return manifest


def features(
    frames: str | os.PathLike[str],
    *,
    groups: Sequence[str] | None = None,
    per: str = "video",
    min_face_frames: int = 10,
    activation_threshold: float = 1.0,
    blink_threshold: float = 1.0,
    out: str | os.PathLike[str] | None = None,
    jobs: int = 1,
    executor: Any = None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Per-video (or per-participant) functionals of an extraction's frame tables.

    Parameters
    ----------
    frames
        An extraction directory (``manifest.parquet`` and ``frames/``), from :func:`extract`,
        ``facemind import-openface`` or :mod:`facemind.synth`.
    groups
        Channel groups: ``aus``, ``pose``, ``gaze``, ``landmarks``, ``blendshapes`` (default:
        every group present).
    per
        ``'video'`` or ``'participant'`` (videos of a participant averaged).
    min_face_frames
        Videos with fewer frames with a face are left out.
    activation_threshold, blink_threshold
        AU intensity counted as active, and AU45 intensity counted as a blink.
    out
        When given, the table is also written there (CSV or Parquet by extension).
    jobs, executor
        Worker processes, or an executor to run on instead (as in :func:`extract`).
    progress
        Called with (videos done, videos in all).

    Returns
    -------
    pandas.DataFrame
        ``video_id``, ``participant_id``, then ``<channel>__<stat>``; the videos left out and
        why are in ``.attrs["excluded"]`` (one dict per video: ``video_id``,
        ``participant_id``, ``reason``, ``face_frames``) and ``.attrs["summary"]`` says it in
        one line. No video with features is an error.

    Examples
    --------
    >>> import tempfile
    >>> import facemind as fm
    >>> from facemind.synth import SynthConfig, write_cohort
    >>> cohort = tempfile.mkdtemp()
    >>> _ = write_cohort(cohort, SynthConfig(participants=4, fps=4.0, duration=6.0))
    >>> table = fm.features(cohort, groups=["aus", "pose"])
    >>> len(table), list(table.columns[:2])
    (4, ['video_id', 'participant_id'])
    >>> table.attrs["summary"]
    '4 video rows'
    """
    from .errors import InputError
    from .functionals import extract_features
    from .io import check_table_path
    from .provenance import write_with_provenance

    if out is not None:
        check_table_path(out)
    result = extract_features(
        frames,
        groups=groups,
        per=per,
        min_face_frames=min_face_frames,
        jobs=jobs,
        activation_threshold=activation_threshold,
        blink_threshold=blink_threshold,
        progress=progress,
        executor=executor,
    )
    if result.table.empty:
        raise InputError(f"no video has features ({result.summary()})", file=str(frames))
    table = result.annotated()
    if out is not None:  # with its provenance, so that a model trained on it extracts alike
        write_with_provenance(table, out, table.attrs["provenance"])
    return table


def sweep(
    features: Table | None,
    responses: Table,
    instrument: str | Instrument,
    *,
    out: str | os.PathLike[str] | None = None,
    subgroups: Sequence[str] | None = None,
    subgroup_bins: int | dict[str, Sequence[float]] = 4,
    executor: Any = None,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    encoding: str | None = None,
    **settings: Any,
) -> SweepResult:
    """Cross-validated models under removal of discrepant (or otherwise flagged) respondents.

    Parameters
    ----------
    features
        Features table (from :func:`features`), a DataFrame or a file; ``None`` for the deep
        models, which read the extraction folder given as ``frames``.
    responses
        Item responses, a DataFrame or a file.
    instrument
        A built-in id, a spec file or an :class:`Instrument`.
    out
        When given, the per-fold table is written there (CSV or Parquet by extension) with the
        summary (``<stem>_summary<ext>``) and predictions (``<stem>_predictions<ext>``) beside
        it, each with its provenance; finished work is kept in a hidden folder beside it until
        then, so an interrupted call resumes.
    subgroups, subgroup_bins
        Response columns (e.g. ``gender``, ``age``) whose levels get metrics of their own in
        every test fold (``.subgroups``, ``.subgroup_summary``); numeric ones with many values
        are cut into ``subgroup_bins`` quantile bins, or at inner cut points (``{"age": [15]}``).
    executor, scheduler
        As in :func:`extract`; default: ``jobs`` (a setting) local processes.
    progress
        Called with (steps done, steps in all).
    encoding
        The text encoding of CSV tables (detected when ``None``).
    **settings
        Fields of :class:`facemind.evaluation.SweepConfig`: ``subscales``, ``task``,
        ``positive_band``, ``models``, ``fractions``, ``protocols``, ``criteria``, ``folds``,
        ``repeats``, ``seed``, ``jobs``, ``balance``, ``grid_search``, ``frames``,
        ``save_predictions`` (``.predictions``), ``train_sizes`` (learning curves), and
        ``cv_groups`` (a responses column, e.g. ``school``, never split across folds), ...

    Returns
    -------
    SweepResult
        ``.folds`` (one row per fold and setting) and ``.summary`` (means and 95% intervals),
        with ``.notes`` on the data left out; ``.save(path)`` writes them.

    Examples
    --------
    Stress from one made-up feature (the synthetic cohort's true level), with and without
    the 20% most discrepant respondents:

    >>> import facemind as fm
    >>> from facemind.synth import make_responses
    >>> answers = make_responses(120, seed=2)
    >>> truth = answers[["participant_id"]].assign(
    ...     video_id=answers["participant_id"], truth__mean=answers["latent_stress"])
    >>> result = fm.sweep(truth, answers, "dass21", subscales=["stress"], models=["logreg"],
    ...                   fractions=[0.0, 0.2], protocols=["paper"], criteria=["sdi"], folds=2)
    >>> len(result.folds), sorted(result.folds["fraction"].unique().tolist())
    (4, [0.0, 0.2])
    >>> {"f1_mean", "f1_ci_low", "f1_ci_high"} <= set(result.summary.columns)
    True
    """
    from .errors import ParameterError
    from .evaluation import SweepConfig, run_sweep
    from .io import check_table_path

    config = SweepConfig(**settings)
    inst = load_instrument(instrument)
    plan = config.validate(inst)  # settings refused before any table is read
    if scheduler is not None and (executor is not None or config.jobs != 1):
        raise ParameterError("give `jobs` (local processes) or `scheduler` (a Dask cluster)")
    if out is not None:
        check_table_path(out, "out")
    if (features is None) == (config.frames is None):
        raise ParameterError("give `features` (feature models) or `frames` (deep models)")
    if config.frames is not None:
        feats, features_name, notes = plan.deep_inputs()
    else:
        (feats, features_name), notes = _table(features, config.id_column, encoding), []
    resp, responses_name = _table(responses, config.id_column, encoding)
    result = run_sweep(
        feats,
        resp,
        inst,
        plan,
        progress=progress,
        features_name=features_name,
        responses_name=responses_name,
        subgroups=subgroups,
        subgroup_bins=subgroup_bins,
        executor=executor,
        scheduler=scheduler,
        out=out,
    )
    result.notes[:0] = notes
    return result


def train(
    features: Table | None,
    responses: Table,
    instrument: str | Instrument,
    *,
    subscale: str,
    model: str,
    frames: str | os.PathLike[str] | None = None,
    validate: int = 0,
    encoding: str | None = None,
    **options: Any,
) -> Predictor:
    """Fit one model on every participant with complete answers.

    Parameters
    ----------
    features
        Features table for the classical models (a DataFrame or a file); ``None`` for the
        deep models, which read the extraction folder given as ``frames``.
    responses
        Item responses, a DataFrame or a file.
    instrument
        A built-in id, a spec file or an :class:`Instrument`.
    subscale
        The subscale to model.
    model
        ``logreg``, ``ridge``, ``svm``, ``rf``, ``gbt`` (on ``features``); ``sequence``,
        ``frames-cnn``, ``clip-cnn`` (on ``frames``).
    frames
        Extraction directory for the deep models.
    validate
        When 2 or more, the folds of a cross-validated estimate (:func:`sweep` without
        removal) kept in ``.meta["validation"]``.
    encoding
        As in :func:`sweep`.
    **options
        ``task``, ``positive_band``, ``balance``, ``grid_search``, ``seed``, ``id_column``,
        ``min_face_frames``, ``params`` (deep model settings) of
        :func:`facemind.predict.train_model`.

    Returns
    -------
    Predictor
        ``.predict(features table or videos)``, ``.save(directory)``, ``.meta``; notes on the
        data left out are in ``.meta["training"]["notes"]``; one that learned nothing warns.

    Examples
    --------
    Three depression classes from one made-up feature (the synthetic cohort's true level):

    >>> import facemind as fm
    >>> from facemind.synth import make_responses
    >>> responses = make_responses(80, seed=1)
    >>> table = responses[["participant_id"]].assign(
    ...     video_id=responses["participant_id"], truth__mean=responses["latent_depression"])
    >>> model = fm.train(table, responses, "dass21", subscale="depression", model="rf",
    ...                  task="3class")
    >>> model.meta["class_names"]
    ['normal', 'mild', 'moderate_plus']
    >>> model.predict(table)["video_id"].equals(table["video_id"])
    True
    """
    from .evaluation.validation import cross_validate
    from .predict import train_model

    resp, responses_name = _table(responses, options.get("id_column", "participant_id"), encoding)
    feats, features_name = None, str(frames)
    if features is not None:
        feats, features_name = _table(features, encoding=encoding)
    trained, _ = train_model(
        resp,
        instrument,
        subscale,
        model,
        features=feats,
        frames=frames,
        features_name=features_name,
        responses_name=responses_name,
        **options,
    )
    if validate:
        trained.meta["validation"] = cross_validate(
            feats,
            resp,
            instrument,
            subscale,
            model,
            folds=validate,
            frames=frames,
            features_name=features_name,
            responses_name=responses_name,
            **options,
        )
    return trained


def explain(
    features: Table,
    responses: Table,
    instrument: str | Instrument,
    *,
    subscale: str,
    model: str = "logreg",
    out: str | os.PathLike[str] | None = None,
    encoding: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    **options: Any,
) -> ImportanceResult:
    """Which facial channels carry the signal: held-out permutation importance.

    Each training fold fits the model; on its test fold every channel group (and every
    channel) is shuffled across participants, and the drop in the metric is recorded, with a
    95% interval over folds.

    Parameters
    ----------
    features
        Features table (from :func:`features`), a DataFrame or a file.
    responses
        Item responses, a DataFrame or a file.
    instrument
        A built-in id, a spec file or an :class:`Instrument`.
    subscale
        The subscale to predict.
    model
        A feature model (``logreg``, ``svm``, ``rf``, ``gbt``, ``ridge``).
    out
        When given, the importance table is written there (CSV or Parquet by extension).
    encoding
        As in :func:`sweep`.
    progress
        Called with (folds done, folds in all).
    **options
        ``task``, ``positive_band``, ``folds``, ``repeats``, ``permutations``, ``metric``
        (default ROC AUC; balanced accuracy for 3 classes; MAE for regression), ``balance``,
        ``seed``, ``id_column`` of
        :func:`facemind.evaluation.importance.permutation_importance`.

    Returns
    -------
    ImportanceResult
        ``.table`` (one row per channel group and channel: ``drop_mean`` and its interval),
        ``.drops`` (per fold) and ``.notes`` on the data left out.

    Examples
    --------
    The synthetic cohort's true stress level beside a feature of pure noise:

    >>> import numpy as np
    >>> import facemind as fm
    >>> from facemind.synth import make_responses
    >>> answers = make_responses(150, seed=4)
    >>> noise = np.random.default_rng(0).normal(size=len(answers))
    >>> table = answers[["participant_id"]].assign(video_id=answers["participant_id"],
    ...     truth__mean=answers["latent_stress"], noise__mean=noise)
    >>> result = fm.explain(table, answers, "dass21", subscale="stress", folds=3)
    >>> channels = result.table[result.table["level"] == "channel"].set_index("channel")
    >>> bool(channels.loc["truth", "drop_mean"] > channels.loc["noise", "drop_mean"] + 0.1)
    True
    """
    from .evaluation.importance import permutation_importance
    from .io import check_table_path, write_table

    if out is not None:
        check_table_path(out, "out")
    id_column = options.get("id_column", "participant_id")
    feats, features_name = _table(features, id_column, encoding)
    resp, responses_name = _table(responses, id_column, encoding)
    result = permutation_importance(
        feats,
        resp,
        instrument,
        subscale=subscale,
        model=model,
        features_name=features_name,
        responses_name=responses_name,
        progress=progress,
        **options,
    )
    if out is not None:
        write_table(result.table, out)
    return result


def load_model(path: str | os.PathLike[str]) -> Predictor:
    """Load a model directory written by :meth:`Predictor.save` (``facemind train``).

    Parameters
    ----------
    path
        The model directory (``model.json`` and ``weights.safetensors``; no pickle).

    Returns
    -------
    Predictor
        The same model: its predictions equal the saved model's exactly.

    Examples
    --------
    A model trained on one made-up feature (the synthetic cohort's true stress level):

    >>> import tempfile
    >>> import facemind as fm
    >>> from facemind.synth import make_responses
    >>> responses = make_responses(60, seed=0)
    >>> table = responses[["participant_id"]].assign(video_id=responses["participant_id"],
    ...                                              truth__mean=responses["latent_stress"])
    >>> model = fm.train(table, responses, "dass21", subscale="stress", model="logreg")
    >>> folder = tempfile.mkdtemp()
    >>> _ = model.save(f"{folder}/model")
    >>> again = fm.load_model(f"{folder}/model")
    >>> again.predict(table).equals(model.predict(table))
    True
    """
    from .predict import Predictor

    return Predictor.load(path)


def report(
    results: SweepResult | str | os.PathLike[str] | None,
    responses: Table,
    instrument: str | Instrument,
    out: str | os.PathLike[str],
    *,
    extraction: str | os.PathLike[str] | None = None,
    features: Table | None = None,
    importance: Table | None = None,
    id_column: str = "participant_id",
    encoding: str | None = None,
    group_by: str | None = None,
) -> Path:
    """Write one self-contained HTML report of a study.

    Parameters
    ----------
    results
        A :func:`sweep` result, the path of its per-fold table (its summary and subgroup
        tables are read from beside it), or ``None`` for a report of the questionnaire alone.
        Results of another instrument, spec or responses table are refused.
    responses
        Item responses, a DataFrame or a file.
    instrument
        A built-in id, a spec file or an :class:`Instrument`.
    out
        The HTML file to write.
    extraction
        An extraction directory: its manifest adds the extraction-quality section.
    features
        The features table (a DataFrame or a file), for the coverage and cluster sections.
    importance
        A channel importance table (``facemind explain``), for its section.
    id_column, encoding
        The respondents' id column; the text encoding of CSV tables (detected when ``None``).
    group_by
        How the SDI section groups respondents, ``total`` or ``band`` (as
        :func:`compute_sdi`); default: as the sweep did, else ``total``. Refused when it
        differs from the sweep's.

    Returns
    -------
    pathlib.Path
        The report written.

    Examples
    --------
    >>> import tempfile
    >>> import facemind as fm
    >>> from facemind.synth import make_responses
    >>> folder = tempfile.mkdtemp()
    >>> path = fm.report(None, make_responses(100, seed=0), "dass21", f"{folder}/report.html")
    >>> path.name, "SYNTHETIC" in path.read_text().upper()
    ('report.html', True)
    """
    from .reporting.data import load_report_data
    from .reporting.html import write_report

    data = load_report_data(
        responses,
        instrument,
        results=results,
        extraction=extraction,
        features=features,
        importance=importance,
        id_column=id_column,
        encoding=encoding,
        group_by=group_by,
    )
    return write_report(data, out)
