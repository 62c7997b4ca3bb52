"""A pilot study without traps: the commands of a 12-participant pilot, with real videos,
where a rerun, a prediction or a message could have misled (issue 21)."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from facemind.cli import main


@pytest.fixture()
def pilot_videos(assets_dir, tmp_path):
    """Two real videos named by participant, as a pilot's ``videos/`` folder."""
    folder = tmp_path / "videos"
    folder.mkdir()
    shutil.copy(assets_dir / "single_face.mp4", folder / "p001.mp4")
    shutil.copy(assets_dir / "no_face.mp4", folder / "p002.mp4")
    return folder


def _manifest(out):
    return pd.read_parquet(out / "manifest.parquet").set_index("video_id")


def test_rerun_with_a_participant_list_updates_ids_and_prune_drops_stale_records(
    pilot_videos, face_model, tmp_path, capsys
):
    out = tmp_path / "extraction"
    extract = ["extract", "--out", str(out), "--model", str(face_model), "--no-progress"]
    assert main([*extract, str(pilot_videos), "-j", "1"]) == 0
    assert _manifest(out)["participant_id"].to_dict() == {"p001": "p001", "p002": "p002"}
    table = out / "frames" / "p001.parquet"
    stamp = table.stat().st_mtime_ns
    capsys.readouterr()

    notes = tmp_path / "notes.txt"  # listed by mistake
    notes.write_text("not a video")
    listed = tmp_path / "list.csv"
    listed.write_text(
        "path,video_id,participant_id\n"
        f"{pilot_videos / 'p001.mp4'},p001,001\n{pilot_videos / 'p002.mp4'},p002,002\n"
        f"{notes},notes,003\n"
    )
    assert main([*extract, str(listed), "-j", "1"]) == 1  # the text file failed
    said = capsys.readouterr().out
    assert "2 already done, 1 processed" in said
    assert "2 video(s) done earlier got a new participant id" in said
    m = _manifest(out)
    assert m["participant_id"].to_dict() == {"notes": "003", "p001": "001", "p002": "002"}
    assert m.loc["notes", "status"] == "failed"
    assert table.stat().st_mtime_ns == stamp  # ids changed without re-extraction

    listed.write_text(  # the list corrected
        "path,video_id,participant_id\n"
        f"{pilot_videos / 'p001.mp4'},p001,001\n{pilot_videos / 'p002.mp4'},p002,002\n"
    )
    assert main([*extract, str(listed), "-j", "1"]) == 0
    assert "1 video(s) extracted earlier are not among these inputs" in capsys.readouterr().out
    assert "notes" in _manifest(out).index  # kept until asked
    assert main([*extract, str(listed), "-j", "1", "--prune"]) == 0
    said = capsys.readouterr().out
    assert "2 videos: 2 already done, 0 processed; 1 ok, 0 partial, 1 without a face" in said
    assert "1 video(s) not among these inputs dropped" in said
    assert sorted(_manifest(out).index) == ["p001", "p002"]
    assert not (out / "records" / "notes.json").exists()
    assert table.stat().st_mtime_ns == stamp
