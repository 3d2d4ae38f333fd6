"""Tests for benchmarks/study_reference.py: the study's pandas features equal our "seed" set.

That equality is what makes feature_speed's comparison fair: both sides compute the same
numbers from the same windows.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks import study_reference as sr
from pipeline import skeleton as sk
from pipeline.features import vectorize
from pipeline.window import Window, WindowSpec, make_window

pytest.importorskip("pandas", reason="pandas is a dev requirement (requirements-dev.txt)")


def windows_of(seq, spec: WindowSpec, every: int = 7) -> list[Window]:
    out = []
    for end in range(spec.n_frames, seq.t_s.size, every):
        w = make_window(*seq.arrays(), spec, t_end=float(seq.t_s[end]))
        if w is not None:
            out.append(w)
    return out


@pytest.mark.parametrize("motion", ["still", "wave", "walk"])
@pytest.mark.parametrize("n_frames", [10, 20])
def test_study_features_equal_seed_vector(synthetic_sequence, motion: str, n_frames: int) -> None:
    spec = WindowSpec(window_s=1.0, n_frames=n_frames)
    windows = windows_of(synthetic_sequence(120, 30.0, motion), spec)
    assert len(windows) > 5
    for w in windows:
        ours = vectorize(w, "seed")
        study = sr.study_features(w)
        assert study.dtype == np.float32 and study.shape == ours.shape == (n_frames * 21,)
        np.testing.assert_allclose(study, ours, rtol=1e-6, atol=1e-7)


def test_study_features_equal_seed_vector_on_shared_clips(bandai_dir: Path) -> None:
    from offline.datasets.mocap import MocapOptions, clip_sequences, list_clips

    clips = list_clips(bandai_dir.parent)[:2]
    spec = WindowSpec(window_s=1.0, n_frames=10)
    rng = np.random.default_rng(0)
    n = 0
    for clip in clips:
        for seq in clip_sequences(clip, MocapOptions(), rng):
            for w in seq.windows(spec, stride_s=0.5):
                np.testing.assert_allclose(
                    sr.study_features(w), vectorize(w, "seed"), rtol=1e-6, atol=1e-7
                )
                n += 1
    assert n > 10


def test_distance_features_known_values() -> None:
    """Hand-made frames: the layout is frame-major, pairs in STUDY_PAIRS order, metres."""
    pd = pytest.importorskip("pandas")
    t = 3
    world = np.zeros((t, sk.N_JOINTS, 3))
    for k in range(t):
        world[k, sk.L_SHOULDER] = (3.0 * (k + 1), 4.0 * (k + 1), 0.0)  # nose-l_shoulder 5(k+1)
        world[k, sk.R_WRIST] = (0.0, 0.0, 2.0)  # nose-r_wrist 2
    df = pd.DataFrame([sr.skeleton_series(f) for f in world])
    vector = sr.distance_features(df).reshape(t, len(sr.STUDY_PAIRS))
    nose_lsh = sr.STUDY_PAIRS.index(("nose", "l_shoulder"))
    nose_rwr = sr.STUDY_PAIRS.index(("nose", "r_wrist"))
    np.testing.assert_allclose(vector[:, nose_lsh], [5.0, 10.0, 15.0], rtol=1e-6)
    np.testing.assert_allclose(vector[:, nose_rwr], 2.0, rtol=1e-6)
    assert len(sr.STUDY_PAIRS) == 21


def test_window_frame_has_one_row_per_frame_and_named_coordinates(synthetic_sequence) -> None:
    spec = WindowSpec(window_s=1.0, n_frames=10)
    w = windows_of(synthetic_sequence(60, 30.0), spec)[0]
    df = sr.window_frame(w)
    assert df.shape == (10, 3 * sk.N_JOINTS)
    assert list(df.columns[:3]) == ["nose_x", "nose_y", "nose_z"]
    np.testing.assert_allclose(df["l_wrist_y"].to_numpy(), w.world[:, sk.L_WRIST, 1], rtol=1e-6)


def test_missing_pandas_gives_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # makes `import pandas` fail
    with pytest.raises(ImportError, match=r"pip install -r requirements-dev\.txt"):
        sr.import_pandas()


@pytest.mark.integration
def test_study_pose_finds_the_person_like_an_image_mode_estimator() -> None:
    """The study's way (a new IMAGE-mode landmarker per image) sees the same person."""
    pytest.importorskip("mediapipe")
    from skimage import data

    from pipeline.pose import PoseEstimator

    image = np.ascontiguousarray(data.astronaut())
    frame = sr.study_pose(image)
    with PoseEstimator(mode="image") as estimator:
        expected = estimator.detect(image)
    assert frame.found and expected.found
    np.testing.assert_allclose(frame.image, expected.image, atol=1e-5)
