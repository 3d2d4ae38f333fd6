"""Tests for offline/cluster.py on a real local Dask cluster (2 worker processes, started
once for the module): keypoints equal the single-process ones bit for bit, a killed
worker's unit is retried, a second run hits the cache, the grouped folds, the study's
splits and `compare` give the serial figures, and `train.py --cluster local --jobs 2`
saves the same model as without it.

Workers run the `FakePose` stand-in (tests/offline/conftest.py) through a worker plugin
when the pose model is a fake bundle; the `integration` test runs the real model.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("distributed", reason="the cluster engine (requirements-cluster.txt)")

from offline import cluster  # noqa: E402
from offline.keypoints.cache import KeypointCache  # noqa: E402
from offline.keypoints.run import VideoJob, extract_streams  # noqa: E402
from offline.keypoints.stream import KeypointStream, StreamRequest  # noqa: E402
from tests.offline.conftest import FakePose  # noqa: E402
from tests.offline.keypoints.conftest import square_frames, write_video  # noqa: E402


class _Estimators:
    """`PoseEstimator` in the workers: `FakePose` for fake bundles (a "killer.task" bundle
    kills its worker process once, the first time it is used), else the real one."""

    def __init__(self, real: Any) -> None:
        self.real, self.fake = real, FakePose()

    def __call__(self, model_path: Any, **kwargs: Any) -> Any:
        path = Path(model_path)
        if path.name == "killer.task":
            marker = path.with_suffix(".killed")
            if not marker.exists():
                marker.write_text(str(os.getpid()))
                os._exit(1)  # the worker dies mid-unit
        if path.name.endswith(".task") and path.stat().st_size < 10_000:
            return self.fake(model_path, **kwargs)
        return self.real(model_path, **kwargs)


class FakePosePlugin:
    """Installs `_Estimators` in each worker, also in workers restarted after a death."""

    name = "fake-pose"

    def setup(self, worker: Any) -> None:
        import offline.keypoints.extract as extract

        if not isinstance(extract.PoseEstimator, _Estimators):
            extract.PoseEstimator = _Estimators(extract.PoseEstimator)  # type: ignore[misc]


@pytest.fixture(scope="module")
def engine() -> Any:
    from distributed import WorkerPlugin

    ex = cluster.engine("local", 2)
    plugin = type("Plugin", (FakePosePlugin, WorkerPlugin), {})()
    ex.client.register_plugin(plugin)
    yield ex
    cluster.shutdown()


def videos(folder: Path, n: int = 3) -> list[VideoJob]:
    """n short videos of a moving square (different lengths, so units differ)."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        VideoJob(write_video(folder / f"v{k}.mp4", square_frames(6 + 2 * k)), (
            StreamRequest(f"v{k}"),
            StreamRequest(f"v{k}-some", frames=np.array([1, 3, 4])),
        ))
        for k in range(n)
    ]  # fmt: skip


def assert_bitwise_equal(a: dict[str, KeypointStream], b: dict[str, KeypointStream]) -> None:
    assert sorted(a) == sorted(b)
    for name in a:
        for field, x in a[name].arrays().items():
            y = b[name].arrays()[field]
            assert x.dtype == y.dtype and x.shape == y.shape, (name, field)
            assert x.tobytes() == y.tobytes(), (name, field)


def test_cluster_keypoints_equal_the_single_process_ones_and_a_rerun_hits_the_cache(
    engine: Any, tmp_path: Path, fake_pose: FakePose, fake_model: Path
) -> None:
    jobs = videos(tmp_path / "videos")
    serial, _ = extract_streams(jobs, pose_model=fake_model)
    cache = KeypointCache(tmp_path / "cache")
    done, report = extract_streams(jobs, pose_model=fake_model, cache=cache, executor=engine)
    assert report.n_extracted == 6 and report.n_cached == 0 and not report.missing_videos
    assert fake_pose.constructed == 6  # the serial run's; the cluster's ran in its workers
    assert_bitwise_equal(serial, done)
    again, report = extract_streams(jobs, pose_model=fake_model, cache=cache, executor=engine)
    assert report.n_cached == 6 and report.n_extracted == 0
    assert_bitwise_equal(serial, again)
    assert len(list(cache.directory.glob("*.npz"))) == 6


def test_an_open_session_is_used_by_extraction(
    engine: Any, tmp_path: Path, fake_pose: FakePose, fake_model: Path
) -> None:
    jobs = videos(tmp_path / "videos", 2)
    with cluster.session(2, "local") as ex:
        assert ex is engine and cluster.current(1) is engine
        done, _ = extract_streams(jobs, pose_model=fake_model)
    assert fake_pose.constructed == 0  # nothing ran here
    assert isinstance(cluster.current(1), cluster.LocalExecutor)
    serial, _ = extract_streams(jobs, pose_model=fake_model)
    assert_bitwise_equal(serial, done)


def test_a_killed_worker_has_its_unit_retried_without_loss_or_duplicates(
    engine: Any, tmp_path: Path, fake_pose: FakePose, fake_model: Path
) -> None:
    killer = tmp_path / "killer.task"
    killer.write_bytes(fake_model.read_bytes())
    jobs = videos(tmp_path / "videos")
    cache = KeypointCache(tmp_path / "cache")
    done, report = extract_streams(jobs, pose_model=killer, cache=cache, executor=engine)
    assert killer.with_suffix(".killed").exists()  # a worker did die
    assert report.n_extracted == 6 and not report.missing_videos
    serial, _ = extract_streams(jobs, pose_model=killer)  # the driver's fake never kills
    assert_bitwise_equal(serial, done)
    assert len(list(cache.directory.glob("*.npz"))) == 6
    engine.client.wait_for_workers(2, timeout=60)  # the nanny restarted it


def test_a_long_video_split_in_time_ranges_gives_the_local_result(
    engine: Any, tmp_path: Path, fake_pose: FakePose, fake_model: Path, monkeypatch: Any
) -> None:
    from offline.keypoints import run

    monkeypatch.setattr(run, "SEGMENT_FRAMES", 8)  # planned here, in the driver
    monkeypatch.setattr(run, "SEGMENT_OVERLAP", 3)
    jobs = [VideoJob(write_video(tmp_path / "long.mp4", square_frames(30)), (StreamRequest("w"),))]
    assert len(run.plan_segments(jobs[0])) == 4
    local, _ = extract_streams(jobs, pose_model=fake_model)
    done, report = extract_streams(jobs, pose_model=fake_model, executor=engine)
    assert report.n_extracted == 1 and report.n_frames_extracted == 30
    assert_bitwise_equal(local, done)


def test_engine_errors_are_one_clear_line() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="'local' or a Dask scheduler"):
        cluster.check_address("somewhere")
    assert cluster.check_address(" tcp://10.0.0.1:8786 ") == "tcp://10.0.0.1:8786"
    with pytest.raises(RuntimeError, match="cannot reach the Dask scheduler"):
        cluster.DaskExecutor("tcp://127.0.0.1:9", 1, timeout_s=1)


def _square(offset: int, x: int) -> int:
    return offset + x * x


def test_executors_give_every_result_once(engine: Any) -> None:
    for ex in (cluster.LocalExecutor(1), cluster.LocalExecutor(2), engine):
        got = dict(ex.map_unordered(_square, range(20), 1))
        assert got == {i: 1 + i * i for i in range(20)}


# --- model search ----------------------------------------------------------------------------


def test_folds_splits_and_train_on_the_cluster_give_the_serial_model(
    engine: Any, tmp_path: Path
) -> None:
    from offline.datasets.mocap import MocapOptions, read_mocap
    from offline.training.evaluation import (
        TrainSettings,
        grouped_predictions,
        study_protocol,
        window_table,
    )
    from pipeline.models import load_model
    from pipeline.window import WindowSpec
    from tests.offline.datasets.test_mocap import write_mocap_folder
    from tests.test_train_cli import run

    data = write_mocap_folder(tmp_path / "mocap")
    table = window_table(read_mocap(data, MocapOptions()), WindowSpec(), "motion", 0.2)
    settings = TrainSettings()
    serial = grouped_predictions(table, table, "content", settings)
    remote = grouped_predictions(table, table, "content", settings, executor=engine)
    assert all((s == r).all() for s, r in zip(serial, remote, strict=True))
    assert study_protocol(table, settings, 4) == study_protocol(table, settings, 4, executor=engine)
    # train.py: extraction, folds and fits on the cluster (the study's splits are above)

    models = {}
    for name, extra in (("plain", ()), ("cluster", ("--cluster", "local", "--jobs", "2"))):
        out = tmp_path / name / "m.joblib"
        result = run("train", "--data", data, "--no-progress", "--out", out, "--quick",
                     *extra)  # fmt: skip
        assert result.code == 0, result.err
        models[name] = load_model(out)
    a, b = models["plain"], models["cluster"]
    x = window_table(read_mocap(data, MocapOptions()), a.window, a.feature_set, 0.2).x
    assert (a.predict_proba(x) == b.predict_proba(x)).all()
    assert a.metadata["evaluation"] == b.metadata["evaluation"]

    grid = ("--features-grid", "motion", "seed", "--window-grid", "1.0", "--no-progress")
    md = {name: tmp_path / f"{name}.md" for name in ("plain", "cluster")}
    plain = run("compare", "--data", data, *grid, "--out-md", md["plain"])
    spread = run("compare", "--data", data, *grid, "--out-md", md["cluster"],
                 "--cluster", "local", "--jobs", "2")  # fmt: skip
    assert plain.code == spread.code == 0, spread.err
    assert md["plain"].read_text() == md["cluster"].read_text()  # grid order, same figures
    assert sorted(plain.out.splitlines()) == sorted(spread.out.splitlines())


def test_render_tool_on_the_cluster_writes_the_serial_videos(engine: Any, tmp_path: Path) -> None:
    from offline.render.__main__ import main
    from tests.offline.render.conftest import tiny_dataset

    data = tiny_dataset(tmp_path / "mocap")  # 2 clips of the default styles, 3 frames each
    common = ["--dataset", str(data), "--views", "0", "35", "--max-frames", "3", "--no-progress"]
    assert main([*common, "--out", str(tmp_path / "plain")]) == 0
    assert (
        main([*common, "--out", str(tmp_path / "spread"), "--cluster", "local", "--jobs", "2"]) == 0
    )
    plain = sorted((tmp_path / "plain").rglob("*.*"))
    spread = sorted((tmp_path / "spread").rglob("*.*"))
    assert len(plain) == 8 and [p.name for p in plain] == [p.name for p in spread]
    for a, b in zip(plain, spread, strict=True):
        if a.suffix == ".mp4":
            assert a.read_bytes() == b.read_bytes(), a.name


# --- the real pose model ---------------------------------------------------------------------


@pytest.mark.integration
def test_real_pose_model_on_the_cluster_equals_one_process(
    engine: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    from offline.keypoints import run
    from tests.offline.keypoints.test_run import _astronaut_video

    jobs = [
        VideoJob(_astronaut_video(tmp_path / f"v{k}.mp4", 6 + k), (StreamRequest(f"v{k}"),))
        for k in range(3)
    ]
    serial, _ = extract_streams(jobs)
    done, report = extract_streams(jobs, executor=engine)
    assert report.n_frames_extracted == 6 + 7 + 8
    assert all(s.found.all() for s in done.values())
    assert_bitwise_equal(serial, done)
    # a video split in time ranges: the same ranges and warm-ups wherever they run
    monkeypatch.setattr(run, "SEGMENT_FRAMES", 6)
    monkeypatch.setattr(run, "SEGMENT_OVERLAP", 2)
    long = [VideoJob(_astronaut_video(tmp_path / "long.mp4", 18), (StreamRequest("l"),))]
    split_serial, _ = extract_streams(long)
    split_done, report = extract_streams(long, executor=engine)
    assert report.n_frames_extracted == 18 and split_done["l"].found.all()
    assert_bitwise_equal(split_serial, split_done)
