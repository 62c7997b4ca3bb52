"""The sweep on a Dask cluster (a scheduler and two worker processes on 127.0.0.1) gives the
rows of a local run, resumes from a local run's checkpoint, and is reached by `--scheduler`.

Data: SYNTHETIC responses (:func:`facemind.synth.make_responses`) and features made from their
latent states (a linear mix plus noise).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import facemind
from facemind import evaluation as ev
from facemind.cli import main
from facemind.instruments import load_instrument
from facemind.parallel import SerialExecutor, map_ordered, map_unordered, open_executor
from facemind.synth import make_responses

distributed = pytest.importorskip("distributed")  # the `dist` extra

INST = load_instrument("dass21")
CONFIG = dict(
    subscales=["depression", "anxiety"],
    models=["logreg", "svm"],
    fractions=[0.0, 0.2],
    criteria=["sdi", "random"],
    folds=3,
    seed=4,
)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """SYNTHETIC features (two videos per participant) and responses, also as files."""
    resp = make_responses(300, seed=3, discrepant_share=0.2)
    rng = np.random.default_rng(3)
    lat = resp[["latent_depression", "latent_anxiety", "latent_stress"]].to_numpy()
    w = rng.normal(size=(3, 10))
    tables = []
    for v in range(2):
        f = pd.DataFrame(
            lat @ w + rng.normal(size=(300, 10)), columns=[f"ch{i}__mean" for i in range(10)]
        )
        f.insert(0, "participant_id", resp["participant_id"])
        f.insert(1, "video_id", resp["participant_id"] + f"_v{v}")
        tables.append(f)
    features = pd.concat(tables, ignore_index=True)
    d = tmp_path_factory.mktemp("dask-sweep")
    features.to_parquet(d / "features.parquet")
    resp.to_csv(d / "responses.csv", index=False)
    return features, resp, d


@pytest.fixture(scope="module")
def cluster():
    """A scheduler and two single-threaded worker processes, on 127.0.0.1 only; the workers
    import this checkout's facemind."""
    src = str(Path(facemind.__file__).resolve().parents[1])
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (src, before) if p)
    try:
        with distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            scheduler_port=0,
        ) as cl:
            yield cl
    finally:
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before


@pytest.fixture(scope="module")
def local(data):
    features, resp, _ = data
    return ev.run_sweep(features, resp, INST, ev.SweepConfig(**CONFIG)).folds


def test_the_cluster_gives_the_rows_of_a_local_run(data, cluster, local):
    features, resp, _ = data
    assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        seen: list[tuple[int, int]] = []
        with distributed.get_task_stream(client) as stream:
            res = ev.run_sweep(
                features,
                resp,
                INST,
                ev.SweepConfig(**CONFIG),
                executor=client,
                progress=lambda done, total: seen.append((done, total)),
            )
    # the fits ran on the cluster, on both workers
    fits = [t for t in stream.data if t["key"].startswith("_timed")]
    assert len(fits) == 15
    assert len({t["worker"] for t in fits}) == 2
    pd.testing.assert_frame_equal(res.folds, local, check_exact=True)
    # 3 preprocessing fits (one per fold) and 2 subscales x 3 folds x 2 models units
    assert seen[0] == (0, 15) and seen[-1] == (15, 15)
    assert [d for d, _ in seen] == list(range(16))
    # 2 subscales x 2 models x 2 protocols x 2 criteria x 2 fractions x 3 folds
    assert len(res.folds) == 2 * 2 * 2 * 2 * 2 * 3


def test_a_cluster_run_resumes_a_local_checkpoint(data, cluster, local, tmp_path):
    features, resp, _ = data
    parts = tmp_path / "parts"
    # fold 1 only, locally: its 4 units are kept in the checkpoint folder
    ev.run_sweep(features, resp, INST, ev.SweepConfig(**CONFIG, run_folds=[1]), checkpoint=parts)
    assert len(list(parts.glob("*.parquet"))) == 4
    seen: list[int] = []
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        res = ev.run_sweep(
            features,
            resp,
            INST,
            ev.SweepConfig(**CONFIG),
            checkpoint=parts,
            executor=client.get_executor(),
            progress=lambda done, total: seen.append(done),
        )
    assert seen[0] == 4  # the finished units were reused, not refitted
    assert len(list(parts.glob("*.parquet"))) == 12
    pd.testing.assert_frame_equal(res.folds, local, check_exact=True)


def test_sweep_scheduler_option_writes_the_local_tables(data, cluster, tmp_path, capsys):
    _, _, d = data
    args = [
        "sweep",
        "--features",
        d / "features.parquet",
        "--responses",
        d / "responses.csv",
        "--instrument",
        "dass21",
        "--subscales",
        "depression",
        "--models",
        "logreg,svm",
        "--fractions",
        "0,0.2",
        "--folds",
        "3",
        "--seed",
        "5",
    ]
    assert main([str(a) for a in [*args, "-o", tmp_path / "local.csv"]]) == 0
    remote = [*args, "-o", tmp_path / "cluster.csv", "--scheduler", cluster.scheduler_address]
    assert main([str(a) for a in remote]) == 0
    capsys.readouterr()
    for name in ("", "_summary"):
        a = pd.read_csv(tmp_path / f"local{name}.csv")
        b = pd.read_csv(tmp_path / f"cluster{name}.csv")
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert not (tmp_path / ".cluster.csv.parts").exists()


def test_scheduler_errors_are_one_line(data, tmp_path, capsys):
    import dask

    _, _, d = data
    args = [
        "sweep",
        "--features",
        d / "features.parquet",
        "--responses",
        d / "responses.csv",
        "--instrument",
        "dass21",
        "--models",
        "logreg",
        "--folds",
        "3",
        "-o",
        tmp_path / "r.csv",
    ]
    assert main([str(a) for a in [*args, "--jobs", "2", "--scheduler", "tcp://127.0.0.1:1"]]) != 0
    assert "give --jobs (local processes) or --scheduler" in capsys.readouterr().err
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code = main([str(a) for a in [*args, "--scheduler", "tcp://127.0.0.1:9"]])
    err = capsys.readouterr().err
    assert code != 0
    assert "scheduler tcp://127.0.0.1:9: no Dask scheduler answered" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def _square_or_fail(x: int) -> int:
    if x < 0:
        raise ValueError(f"negative: {x}")
    return x * x


@pytest.mark.parametrize("jobs", [1, 2])
def test_local_executors_keep_order_and_raise_the_callers_error(jobs):
    items = [3, 1, 4, 1, 5, 9, 2, 6]
    with open_executor(jobs=jobs, n_tasks=len(items)) as pool:
        assert isinstance(pool, SerialExecutor) == (jobs == 1)
        assert list(map_ordered(pool, _square_or_fail, items)) == [x * x for x in items]
        got = dict(map_unordered(pool, _square_or_fail, [(x,) for x in items]))
        assert got == {i: x * x for i, x in enumerate(items)}
        with pytest.raises(ValueError, match="negative: -1"):
            list(map_ordered(pool, _square_or_fail, [2, -1, 3]))
        # with on_error, a failing call yields what on_error makes of it; the others go on
        calls = [(2,), (-1,), (3,)]
        got = dict(map_unordered(pool, _square_or_fail, calls, on_error=lambda i, e: (i, str(e))))
        assert got == {0: 4, 1: (1, "negative: -1"), 2: 9}
