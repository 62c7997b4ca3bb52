"""Deep models: the sequence model and clip-cnn learn planted temporal signals (SYNTHETIC data),
masks are honoured, fits are deterministic, the models run inside the sweep, round-trip and
score a real video."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score

from facemind.cli import main
from facemind.errors import FacemindError
from facemind.models.deep import (
    ClipCNN,
    FramesCNN,
    SequenceModel,
    input_table,
    require_torch,
    resample,
)
from facemind.models.nets import ClipNet, FrameNet, TemporalNet
from facemind.synth import draw_crop, iter_frame_tables, make_responses, write_synthetic_extraction

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def cohort():
    """120 SYNTHETIC participants; label = latent depression above the median."""
    responses = make_responses(120, seed=1, discrepant_share=0.0)
    frames = [f for _, _, f in iter_frame_tables(responses, seed=1, fps=5.0, duration=30.0)]
    latent = responses["latent_depression"].to_numpy()
    return frames, (latent > np.median(latent)).astype(int), latent


@pytest.fixture(scope="module")
def extraction(tmp_path_factory):
    """A SYNTHETIC extraction directory with frame tables and 3 face crops per video."""
    out = tmp_path_factory.mktemp("synth_extraction")
    responses = write_synthetic_extraction(out, 40, seed=5, crops=3, duration=12.0)
    return out, responses


def test_sequence_model_beats_chance_on_planted_signal(cohort):
    frames, y, _ = cohort
    tr, te = np.arange(80), np.arange(80, 120)
    model = SequenceModel("binary", epochs=30, random_state=0, device="cpu")
    model.fit_inputs([frames[i] for i in tr], y[tr], tr)
    proba = model.predict_proba_inputs([frames[i] for i in te])[:, 1]
    auc = roc_auc_score(y[te], proba)
    assert auc > 0.8, auc  # chance is 0.5; the faces carry the latent state
    assert model.n_val_rows_ > 0 and 1 <= model.best_epoch_ <= len(model.history_)


def test_sequence_regression_tracks_the_latent_state(cohort):
    frames, _, latent = cohort
    tr, te = np.arange(80), np.arange(80, 120)
    model = SequenceModel("regression", epochs=20, random_state=0, device="cpu")
    model.fit_inputs([frames[i] for i in tr], latent[tr], tr)
    pred = model.predict_inputs([frames[i] for i in te])
    assert np.corrcoef(pred, latent[te])[0, 1] > 0.5


def test_fits_are_deterministic(cohort):
    frames, y, _ = cohort
    rows = np.arange(40)
    preds = []
    for _ in range(2):
        m = SequenceModel("binary", epochs=3, random_state=7, device="cpu")
        m.fit_inputs([frames[i] for i in rows], y[rows], rows)
        preds.append(m.predict_proba_inputs([frames[i] for i in range(40, 60)]))
    np.testing.assert_array_equal(preds[0], preds[1])


def test_temporal_net_ignores_masked_frames_and_padding():
    torch.manual_seed(0)
    net = TemporalNet(5, 2).eval()
    x = torch.randn(3, 40, 5)
    mask = torch.ones(3, 40, dtype=torch.bool)
    mask[0, 10:20] = False  # face-less frames
    mask[1, 25:] = False  # padding at the end
    mask[2, :] = False  # nothing at all
    garbage = x.clone()
    garbage[~mask] = 1e3 * torch.randn(int((~mask).sum()), 5)
    with torch.no_grad():
        a, b = net(x, mask), net(garbage, mask)
    torch.testing.assert_close(a, b)


def test_frame_net_ignores_padded_crops():
    torch.manual_seed(0)
    net = FrameNet(2, widths=(8, 16, 16)).eval()
    x = torch.randn(2, 4, 3, 32, 32)
    mask = torch.tensor([[True, True, True, False], [True, False, False, False]])
    garbage = x.clone()
    garbage[~mask] = 50 * torch.randn(int((~mask).sum()), 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(net(x, mask), net(garbage, mask))


def test_resample_takes_the_last_frame_at_or_before_each_step():
    ts = np.array([0.0, 0.1, 0.25, 0.3, 0.55])
    face = np.array([True, False, True, True, True])
    values = np.arange(5, dtype=np.float32)[:, None]
    v, m = resample(ts, face, values, fps=5.0)  # steps at 0, 0.2, 0.4
    np.testing.assert_array_equal(v[:, 0], [0, 1, 3])
    np.testing.assert_array_equal(m, [True, False, True])


def test_input_table_lists_usable_videos_and_left_out_ones(extraction, tmp_path):
    out, _ = extraction
    table = input_table(out, crops=True)
    assert len(table.table) + len(table.excluded) == 40
    manifest = pd.read_parquet(out / "manifest.parquet")
    rows = table.table["input_row"].to_numpy()
    assert (manifest["video_id"].iloc[rows].to_numpy() == table.table["video_id"].to_numpy()).all()


def test_deep_models_in_the_sweep(extraction):
    from facemind.evaluation import SweepConfig, run_sweep

    out, responses = extraction
    cfg = SweepConfig(
        subscales=["depression"],
        models=["sequence", "frames-cnn"],
        fractions=[0.0, 0.2],
        protocols=["train-only"],
        criteria=["sdi"],
        folds=2,
        frames=str(out),
    )
    # Few epochs keep this fast; the learning itself is tested above.
    from facemind.models import deep

    orig = (
        deep.SequenceModel.__init__.__kwdefaults__["epochs"],
        deep.FramesCNN.__init__.__kwdefaults__["epochs"],
    )
    deep.SequenceModel.__init__.__kwdefaults__["epochs"] = 2
    deep.FramesCNN.__init__.__kwdefaults__["epochs"] = 2
    try:
        result = run_sweep(input_table(out, crops=True).table, responses, "dass21", cfg)
    finally:
        deep.SequenceModel.__init__.__kwdefaults__["epochs"] = orig[0]
        deep.FramesCNN.__init__.__kwdefaults__["epochs"] = orig[1]
    folds = result.folds
    assert set(folds["model"]) == {"sequence", "frames-cnn"}
    assert len(folds) == 2 * 2 * 2  # models x folds x fractions
    assert folds["f1"].notna().all()
    removed = folds[folds["fraction"] == 0.2]
    assert (removed["n_removed_train"] > 0).all() and (removed["n_removed_test"] == 0).all()


def test_sweep_refuses_deep_models_without_frames():
    from facemind.evaluation import SweepConfig
    from facemind.instruments import load_instrument

    with pytest.raises(FacemindError, match="pass `frames`"):
        SweepConfig(models=["sequence"]).validate(load_instrument("dass21"))
    with pytest.raises(FacemindError, match="separate runs"):
        SweepConfig(models=["sequence", "logreg"], frames="x").validate(load_instrument("dass21"))


def test_frames_cnn_learns_and_predicts_per_video(extraction):
    out, responses = extraction
    table = input_table(out, crops=True).table
    latent = responses.set_index("participant_id")["latent_depression"]
    y = (latent.loc[table["participant_id"]].to_numpy() > latent.median()).astype(int)
    X = table[["input_row"]].set_index(pd.Index(np.arange(len(table))))
    model = FramesCNN("binary", frames=str(out), k=3, epochs=3, random_state=0, device="cpu")
    model.fit(X, y)
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert model.history_[0]["train_loss"] > 0


def test_missing_torch_gives_an_install_hint(monkeypatch, capsys, extraction):
    out, _ = extraction
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(FacemindError, match=r"pip install 'facemind\[deep\]'.*torch==2\.13\.0"):
        require_torch()
    code = main(
        [
            "train",
            "--frames",
            str(out),
            "--responses",
            str(out / "responses.csv"),
            "--instrument",
            "dass21",
            "--subscale",
            "depression",
            "--model",
            "sequence",
            "-o",
            str(out / "never"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "need PyTorch" in err and len(err.strip().splitlines()) == 1
    assert not (out / "never").exists()


# --------------------------------------------------------------------------------------------
# clip-cnn
# --------------------------------------------------------------------------------------------


def _moving_faces(n: int, seed: int, size: int = 32, k: int = 7):
    """SYNTHETIC clips of one cartoon face moving down (label 1) or up (label 0) over time.

    Both classes show the same set of positions, so every single frame looks alike in the two
    classes: only the order of the frames carries the label (a temporal signal). Vertical, so
    the model's horizontal flips keep it.
    """
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % 2)
    clips = []
    for label in y:
        face = draw_crop(float(rng.normal()), rng, size=size)
        shifts = np.round(np.linspace(-4, 4, k)).astype(int)
        shifts = shifts if label else shifts[::-1]
        frames = [np.roll(face, s, axis=0) + rng.normal(0, 6, face.shape) for s in shifts]
        clips.append(np.clip(frames, 0, 255).astype(np.uint8))
    return clips, y


def test_clip_cnn_beats_chance_on_a_planted_temporal_signal():
    clips, y = _moving_faces(120, seed=0)
    tr, te = np.arange(80), np.arange(80, 120)
    model = ClipCNN(
        "binary",
        k=7,
        size=32,
        width=8,
        depth=2,
        epochs=6,
        lr=3e-3,
        val_share=0.0,
        random_state=0,
        device="cpu",
    )
    model.fit_inputs([clips[i] for i in tr], y[tr], tr)
    proba = model.predict_proba_inputs([clips[i] for i in te])[:, 1]
    auc = roc_auc_score(y[te], proba)
    assert auc > 0.85, auc  # chance is 0.5; no single frame tells the classes apart


def test_clip_net_convolves_time_at_three_scales_with_a_residual_path():
    net = ClipNet(3, width=8, depth=2).eval()
    block = net.stages[0]
    assert [b[0].kernel_size for b in block.branches] == [(3, 3, 3), (5, 5, 5), (7, 7, 7)]
    assert block.reduce[0].kernel_size == (1, 1, 1) and block.skip[0].kernel_size == (1, 1, 1)
    x = torch.randn(2, 5, 3, 32, 32)
    with torch.no_grad():
        out = net(x, torch.ones(2, 5, dtype=torch.bool))
        reversed_time = net(x.flip(1), torch.ones(2, 5, dtype=torch.bool))
    assert out.shape == (2, 3)
    assert not torch.allclose(out, reversed_time)  # the order of the frames matters


def test_clip_cnn_pads_short_videos_by_repeating_crops_in_order():
    model = ClipCNN("binary", k=5, size=16)
    crops = np.stack([np.full((24, 24, 3), v, np.uint8) for v in (0, 100, 200)])
    clip, mask = model._prepare(crops)
    assert clip.shape == (5, 3, 16, 16) and mask.all()
    levels = clip[:, 0, 0, 0]
    assert np.all(np.diff(levels) >= 0) and len(np.unique(levels)) == 3


def test_deep_models_take_their_inputs_as_parameters(extraction):
    from sklearn.exceptions import NotFittedError

    from facemind.models import make_estimator

    out, _ = extraction
    est = make_estimator("clip-cnn", "binary", inputs={"frames": out})
    assert est.estimator.frames == str(out)  # inside the class-balance wrapper
    table = input_table(out, crops=True).table[["input_row"]]
    with pytest.raises(NotFittedError):
        ClipCNN(frames=str(out)).predict(table)
    with pytest.raises(ValueError, match="parameter frames"):
        ClipCNN().fit(table, np.arange(len(table)) % 2)
    with pytest.raises(ValueError, match="Expected 2D array"):
        ClipCNN(frames=str(out)).fit(table["input_row"].to_numpy(), np.arange(len(table)) % 2)


def test_clip_cnn_in_the_sweep_from_the_command_line(extraction, tmp_path, monkeypatch, capsys):
    out, _ = extraction
    # Few epochs and small crops keep this fast; the learning itself is tested above.
    for key, value in {"epochs": 1, "size": 32, "width": 4, "depth": 1}.items():
        monkeypatch.setitem(ClipCNN.__init__.__kwdefaults__, key, value)
    results = tmp_path / "results.csv"
    code = main(
        [
            "sweep",
            "--frames",
            str(out),
            "--responses",
            str(out / "responses.csv"),
            "--instrument",
            "dass21",
            "--subscales",
            "depression",
            "--models",
            "clip-cnn",
            "--fractions",
            "0",
            "--protocols",
            "train-only",
            "--criteria",
            "sdi",
            "--folds",
            "2",
            "--jobs",
            "1",
            "-o",
            str(results),
        ]
    )
    assert code == 0, capsys.readouterr().err
    folds = pd.read_csv(results)
    assert set(folds["model"]) == {"clip-cnn"} and len(folds) == 2
    assert folds["f1"].between(0, 1).all()


def test_clip_cnn_round_trips_and_scores_a_real_video(
    extraction, tmp_path, face_model, assets_dir, capsys
):
    from PIL import Image

    from facemind.predict import Predictor, train_model

    out, responses = extraction
    trained, _ = train_model(
        responses,
        "dass21",
        "depression",
        "clip-cnn",
        frames=out,
        params={"epochs": 1, "size": 32, "width": 8, "depth": 2, "device": "cpu"},
    )
    vids = ["P00001_v1", "P00002_v1"]
    frames = [(v, pd.read_parquet(out / "frames" / f"{v}.parquet")) for v in vids]
    crops = {
        v: np.stack([np.asarray(Image.open(p)) for p in sorted((out / "crops" / v).glob("*.png"))])
        for v in vids
    }
    before = trained.predict_frame_tables(frames, crops)
    trained.save(tmp_path / "clip")
    meta = json.loads((tmp_path / "clip" / "model.json").read_text())
    assert meta["model"] == "clip-cnn" and meta["input"] == {
        "type": "crops",
        "k": 7,
        "size": 32,
        "min_face_frames": 10,
        "extraction": None,  # a synthetic extraction: no MediaPipe settings to repeat
    }
    assert meta["estimator"]["params"]["__dict__"]["width"] == 8
    loaded = Predictor.load(tmp_path / "clip")
    after = loaded.predict_frame_tables(frames, crops)
    pd.testing.assert_frame_equal(before, after, check_exact=True)
    assert (before["status"] == "ok").all()

    pred = tmp_path / "pred.csv"
    code = main(
        [
            "predict",
            str(assets_dir / "single_face.mp4"),
            "--model",
            str(tmp_path / "clip"),
            "--face-model",
            str(face_model),
            "-o",
            str(pred),
        ]
    )
    assert code == 0, capsys.readouterr().err
    table = pd.read_csv(pred)
    assert table["video_id"].tolist() == ["single_face"] and table["status"].tolist() == ["ok"]
    assert 0.0 <= table["p_depression_mild_or_above"].iloc[0] <= 1.0


def test_a_misspelt_setting_is_a_one_line_error(extraction):
    from facemind.predict import train_model

    out, responses = extraction
    with pytest.raises(FacemindError, match=r"params of model 'clip-cnn'.*'widht'"):
        train_model(responses, "dass21", "depression", "clip-cnn", frames=out, params={"widht": 8})
