"""Deep models: the sequence model learns a planted temporal signal (SYNTHETIC cohort), masks
are honoured, fits are deterministic, and both models run inside the sweep and round-trip."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score

from facemind.cli import main
from facemind.errors import FacemindError
from facemind.models.deep import (
    FramesCNN,
    SequenceModel,
    input_table,
    require_torch,
    resample,
)
from facemind.models.nets import FrameNet, TemporalNet
from facemind.models.synthetic import write_synthetic_extraction
from facemind.synth import iter_frame_tables, make_responses

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
        subscales=["depression"], models=["sequence", "frames-cnn"], fractions=[0.0, 0.2],
        protocols=["train-only"], criteria=["sdi"], folds=2, frames=str(out),
    )  # fmt: skip
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
    code = main([
        "train", "--frames", str(out), "--responses", str(out / "responses.csv"),
        "--instrument", "dass21", "--subscale", "depression", "--model", "sequence",
        "-o", str(out / "never"),
    ])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert "need PyTorch" in err and len(err.strip().splitlines()) == 1
    assert not (out / "never").exists()
