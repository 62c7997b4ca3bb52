"""train / predict: saved models round-trip exactly, score real videos end to end, and models
whose input schema does not match are refused with one line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from facemind.cli import main
from facemind.errors import FacemindError
from facemind.functionals import extract_features
from facemind.models.persist import MODEL_JSON
from facemind.predict import Predictor, train_model
from facemind.synth import write_synthetic_extraction

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """A SYNTHETIC extraction (60 participants, 3 crops each) and its features table."""
    out = tmp_path_factory.mktemp("train_predict")
    responses = write_synthetic_extraction(out, 60, seed=11, crops=3, duration=12.0)
    features = extract_features(out).table
    features.to_parquet(out / "features.parquet")
    return out, responses, features


@pytest.mark.parametrize(
    ("model", "task"),
    [
        ("logreg", "binary"),
        ("svm", "binary"),
        ("rf", "3class"),
        ("gbt", "binary"),
        ("ridge", "regression"),
        ("rf", "regression"),
    ],
)
def test_classical_round_trip_is_exact(cohort, tmp_path, model, task):
    _, responses, features = cohort
    trained, _ = train_model(
        responses, "dass21", "depression", model, features=features, task=task, balance="none"
    )
    before = trained.predict_features(features)
    trained.save(tmp_path / "m")
    loaded = Predictor.load(tmp_path / "m")
    after = loaded.predict_features(features)
    pd.testing.assert_frame_equal(before, after, check_exact=True)
    assert (tmp_path / "m" / "weights.safetensors").is_file()
    assert not list((tmp_path / "m").glob("*.pkl"))
    meta = json.loads((tmp_path / "m" / MODEL_JSON).read_text())
    assert meta["input"]["columns"][:3] == [c for c in features.columns if "__" in c][:3]
    assert meta["subscale"] == "depression" and meta["task"] == task
    head = ["participant_id", "video_id", "subscale", "target"]
    assert before[head[:2]].values.tolist() == features[head[:2]].astype(str).values.tolist()
    assert (before["subscale"] == "depression").all() and (before["status"] == "ok").all()
    if task == "binary":
        value = "p" if model != "svm" else "score"
        column = f"{value}_depression_mild_or_above"
        assert before.columns.tolist() == [*head, column, "label", "threshold", "status"]
        said = (
            "probability that the dass21 depression band is mild or above"
            if model != "svm"
            else "decision score for the dass21 depression band being mild or above"
        )
        assert before["target"].iloc[0].startswith(said)
        # the label is the model's own decision: above 0.5 (probability) or 0 (score)
        threshold = 0.5 if model != "svm" else 0.0
        assert (before["threshold"] == threshold).all()
        expected = np.where(before[column] > threshold, "mild_or_above", "normal")
        assert before["label"].tolist() == expected.tolist()
    elif task == "3class":
        classes = ["p_depression_normal", "p_depression_mild", "p_depression_moderate_plus"]
        assert before.columns.tolist() == [*head, *classes, "label", "status"]
        assert np.allclose(before[classes].sum(axis=1), 1.0)
        most_probable = before[classes].to_numpy().argmax(axis=1)
        assert before["label"].tolist() == [classes[i][13:] for i in most_probable]
    else:
        assert before.columns.tolist() == [*head, "score_depression", "status"]


@pytest.mark.parametrize(("model", "task"), [("sequence", "binary"), ("frames-cnn", "regression")])
def test_deep_round_trip_is_exact(cohort, tmp_path, model, task):
    out, responses, _ = cohort
    trained, notes = train_model(
        responses,
        "dass21",
        "anxiety",
        model,
        frames=out,
        task=task,
        params={"epochs": 2, "device": "cpu"},
    )
    assert "60 video rows" in notes[0]
    frames = [
        (v, pd.read_parquet(out / "frames" / f"{v}.parquet")) for v in ("P00001_v1", "P00002_v1")
    ]
    from PIL import Image

    crops = {
        v: np.stack([np.asarray(Image.open(p)) for p in sorted((out / "crops" / v).glob("*.png"))])
        for v, _ in frames
    }
    before = trained.predict_frame_tables(frames, crops)
    trained.save(tmp_path / "m")
    after = Predictor.load(tmp_path / "m").predict_frame_tables(frames, crops)
    pd.testing.assert_frame_equal(before, after, check_exact=True)
    assert (before["status"] == "ok").all()


def _train_cli(args, capsys):
    code = main(["train", *args])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured


def test_predict_real_videos_end_to_end(cohort, tmp_path, face_model, assets_dir, capsys):
    out, _, _ = cohort
    model_dir = tmp_path / "seq"
    _train_cli(
        [
            "--frames",
            str(out),
            "--responses",
            str(out / "responses.csv"),
            "--instrument",
            "dass21",
            "--subscale",
            "stress",
            "--model",
            "sequence",
            "--params",
            '{"epochs": 2}',
            "-o",
            str(model_dir),
        ],
        capsys,
    )
    pred = tmp_path / "pred.csv"
    code = main(
        [
            "predict",
            str(assets_dir / "single_face.mp4"),
            str(assets_dir / "no_face.mp4"),
            "--model",
            str(model_dir),
            "--face-model",
            str(face_model),
            "-o",
            str(pred),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    table = pd.read_csv(pred)
    assert table["video_id"].tolist() == ["single_face", "no_face"]
    # videos given as files: each video is its own participant
    assert table["participant_id"].tolist() == ["single_face", "no_face"]
    assert (table["subscale"] == "stress").all()
    assert table["target"].str.startswith("probability that the dass21 stress band is mild").all()
    ok = table.set_index("video_id")
    assert ok.loc["single_face", "status"] == "ok"
    p = ok.loc["single_face", "p_stress_mild_or_above"]
    assert 0.0 <= p <= 1.0
    assert ok.loc["single_face", "label"] == ("mild_or_above" if p > 0.5 else "normal")
    assert ok.loc["no_face", "status"].startswith("too_few_face_frames")
    assert np.isnan(ok.loc["no_face", "p_stress_mild_or_above"])
    assert pd.isna(ok.loc["no_face", "label"])
    assert "1 of 2 video(s) scored" in captured.out


def test_feature_model_scores_real_frame_tables(cohort, tmp_path, extracted):
    out, responses, features = cohort
    trained, _ = train_model(responses, "dass21", "depression", "logreg", features=features)
    frames = [
        (v, pd.read_parquet(extracted / "frames" / f"{v}.parquet"))
        for v in ("single_face", "WolfgangLanger_Pexels")
    ]
    result = trained.predict_frame_tables(frames)
    assert (result["status"] == "ok").all()
    assert result["p_depression_mild_or_above"].between(0, 1).all()


def test_mismatched_feature_schema_is_refused(cohort, tmp_path, capsys):
    out, responses, features = cohort
    model_dir = tmp_path / "lr"
    _train_cli(
        [
            "--features",
            str(out / "features.parquet"),
            "--responses",
            str(out / "responses.csv"),
            "--instrument",
            "dass21",
            "--subscale",
            "depression",
            "--model",
            "logreg",
            "-o",
            str(model_dir),
        ],
        capsys,
    )
    aus_only = extract_features(out, groups=["aus"]).table
    aus_only.to_csv(tmp_path / "aus.csv", index=False)
    target = tmp_path / "pred.csv"
    code = main(
        [
            "predict",
            "--features",
            str(tmp_path / "aus.csv"),
            "--model",
            str(model_dir),
            "-o",
            str(target),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert (
        "feature schema mismatch" in err and "aus.csv" in err and "column 'pose_pitch__mean'" in err
    )
    assert len(err.strip().splitlines()) == 1
    assert not target.exists()


def test_sequence_model_refuses_frame_tables_without_its_channels(cohort):
    out, responses, _ = cohort
    trained, _ = train_model(
        responses, "dass21", "depression", "sequence", frames=out, params={"epochs": 1}
    )
    frames = pd.read_parquet(out / "frames" / "P00001_v1.parquet")
    openface_like = frames.drop(columns=[c for c in frames.columns if c.startswith("bs_")])
    with pytest.raises(FacemindError, match="schema mismatch"):
        trained.predict_frame_tables([("v", openface_like)])


def test_model_directory_errors_are_one_line(cohort, tmp_path):
    _, responses, features = cohort
    trained, _ = train_model(responses, "dass21", "depression", "logreg", features=features)
    trained.save(tmp_path / "m")
    doc_path = tmp_path / "m" / MODEL_JSON
    doc = json.loads(doc_path.read_text())
    doc["format_version"] = 99
    doc_path.write_text(json.dumps(doc))
    with pytest.raises(FacemindError, match="format version 99 is not supported"):
        Predictor.load(tmp_path / "m")
    doc["format_version"] = 1
    text = json.dumps(doc).replace("sklearn.linear_model._logistic.LogisticRegression", "os.system")
    doc_path.write_text(text)
    with pytest.raises(FacemindError, match="outside the allowed modules"):
        Predictor.load(tmp_path / "m")
    with pytest.raises(FacemindError, match="not a model directory"):
        Predictor.load(tmp_path)
