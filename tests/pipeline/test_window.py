"""Tests for pipeline/window.py: windows, resampling, gap filling and the ring buffer."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline import skeleton as sk
from pipeline.features import vectorize
from pipeline.window import SkeletonBuffer, WindowSpec, make_window

SPEC = WindowSpec(window_s=1.5, n_frames=20)


def _linear_stream(t_s: np.ndarray, speed: float = 0.1):
    """A still body whose nose moves right at `speed` (image heights and metres per second)
    relative to fixed hips: any linear interpolation of it is exact."""
    n = t_s.size
    image = np.zeros((n, sk.N_JOINTS, 2), np.float32)
    image[:, sk.L_HIP, 0], image[:, sk.R_HIP, 0] = 0.1, -0.1
    image[:, sk.NOSE, 1] = 0.6
    image[:, sk.NOSE, 0] = speed * t_s
    world = np.concatenate([image, np.zeros((n, sk.N_JOINTS, 1), np.float32)], axis=-1)
    world[:, sk.NOSE, 2] = 0.1  # in front of the body, which faces +z
    return world, image, np.ones((n, sk.N_JOINTS), np.float32)


# --- WindowSpec ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"window_s": 0.0}, r"`window_s` must be 0.05 to 600 seconds, got 0.0"),
        ({"window_s": -1.5}, r"`window_s` must be 0.05 to 600 seconds"),
        ({"window_s": 1e12}, r"`window_s` must be 0.05 to 600 seconds, got 1000000000000.0"),
        ({"window_s": float("nan")}, r"`window_s` must be 0.05 to 600 seconds, got nan"),
        ({"n_frames": 1}, r"`n_frames` must be 2 to 999 frames, got 1"),
        ({"n_frames": 10**12}, r"`n_frames` must be 2 to 999 frames"),
        ({"visibility_threshold": 1.5}, r"`visibility_threshold` must be in \[0, 1\], got 1.5"),
        ({"min_coverage": -0.1}, r"`min_coverage` must be in \[0, 1\]"),
        ({"min_joint_coverage": 2.0}, r"`min_joint_coverage` must be in \[0, 1\]"),
    ],
)
def test_window_spec_rejects_bad_values(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        WindowSpec(**kwargs)


def test_window_spec_round_trips_through_a_dict() -> None:
    spec = WindowSpec(window_s=2.0, n_frames=24, visibility_threshold=0.5, min_coverage=0.7)
    assert WindowSpec.from_dict(spec.to_dict()) == spec
    assert spec.to_dict()["n_frames"] == 24


# --- make_window ----------------------------------------------------------------------------


def test_window_shapes_times_and_canonical_frame(synthetic_sequence) -> None:
    seq = synthetic_sequence(90, 30, "walk")
    w = make_window(*seq.arrays(), SPEC)
    assert w is not None
    assert w.world.shape == (20, sk.N_JOINTS, 3) and w.image.shape == (20, sk.N_JOINTS, 2)
    assert w.world.dtype == np.float32 and w.image.dtype == np.float32
    np.testing.assert_allclose(w.t_s, np.linspace(seq.t_s[-1] - 1.5, seq.t_s[-1], 20))
    assert w.duration_s == pytest.approx(1.5)
    assert w.coverage == 1.0
    np.testing.assert_allclose(sk.mid_hip(w.world), 0.0, atol=1e-6)
    np.testing.assert_allclose(sk.mid_hip(w.image), 0.0, atol=1e-6)
    hip_axis = (w.world[:, sk.L_HIP] - w.world[:, sk.R_HIP]).mean(0)
    assert hip_axis[0] > 0.1 and abs(hip_axis[2]) < 1e-5


@pytest.mark.parametrize("fps", [24.0, 30.0, 60.0])
def test_resampling_follows_timestamps_not_frame_counts(fps: float) -> None:
    rng = np.random.default_rng(int(fps))
    t = 10.0 + np.arange(int(3 * fps)) / fps + rng.uniform(-0.2, 0.2, int(3 * fps)) / fps
    w = make_window(*_linear_stream(t), t, SPEC)
    assert w is not None
    expected = 0.1 * w.t_s  # the nose's x at the window's instants, exact for linear motion
    np.testing.assert_allclose(w.image[:, sk.NOSE, 0], expected, rtol=1e-5)
    np.testing.assert_allclose(w.world[:, sk.NOSE, 0], expected, rtol=1e-5)


def test_window_ends_at_t_end(synthetic_sequence) -> None:
    seq = synthetic_sequence(90, 30, "wave")
    w = make_window(*seq.arrays(), SPEC, t_end=2.0)
    assert w is not None and w.t_s[-1] == pytest.approx(2.0) and w.t_s[0] == pytest.approx(0.5)
    # the window at t_end sees nothing later: cutting the stream there changes nothing
    cut = make_window(*(a[:61] for a in seq.arrays()), SPEC)
    np.testing.assert_array_equal(w.world, cut.world)


def test_30_and_60_fps_give_the_same_window_and_features(synthetic_sequence) -> None:
    for motion in ("wave", "walk"):  # both streams end at 3.0 s, with jittered frames
        s30 = synthetic_sequence(91, 30, motion, jitter_s=0.004, seed=3)
        s60 = synthetic_sequence(181, 60, motion, jitter_s=0.002, seed=4)
        w30 = make_window(*s30.arrays(), SPEC)
        w60 = make_window(*s60.arrays(), SPEC)
        np.testing.assert_allclose(w60.t_s, w30.t_s)
        np.testing.assert_allclose(w60.world, w30.world, atol=0.004)  # metres
        np.testing.assert_allclose(w60.image, w30.image, atol=0.002)  # image heights
        np.testing.assert_allclose(vectorize(w60, "seed"), vectorize(w30, "seed"), atol=0.006)
        # frame-count windows (the last 20 frames) would not agree
        assert np.abs(s60.world[-20:] - s30.world[-20:]).max() > 0.05


def test_gap_is_filled_linearly_between_neighbours() -> None:
    t = np.arange(90) / 30.0
    world, image, vis = _linear_stream(t)
    image[50:60, sk.NOSE] = 5.0  # garbage while the nose is hidden
    world[50:60, sk.NOSE] = np.nan
    vis[50:60, sk.NOSE] = 0.1  # below the 0.3 threshold
    w = make_window(world, image, vis, t, SPEC)
    assert w is not None
    np.testing.assert_allclose(w.image[:, sk.NOSE, 0], 0.1 * w.t_s, rtol=1e-5)
    np.testing.assert_allclose(w.world[:, sk.NOSE, 0], 0.1 * w.t_s, rtol=1e-5)
    assert w.coverage == pytest.approx(1.0 - 10 / (46 * sk.N_JOINTS), abs=0.01)


def test_gap_at_the_ends_is_held_at_the_nearest_visible_sample() -> None:
    t = np.arange(90) / 30.0
    world, image, vis = _linear_stream(t)
    vis[:50, sk.NOSE] = 0.0  # hidden at the start of the window (which starts at 1.47 s)
    vis[80:, sk.NOSE] = 0.0  # and at its end
    w = make_window(world, image, vis, t, SPEC)
    assert w is not None
    nose = w.image[:, sk.NOSE, 0]
    inside = (w.t_s >= t[50]) & (w.t_s <= t[79])
    np.testing.assert_allclose(nose[inside], 0.1 * w.t_s[inside], rtol=1e-5)
    np.testing.assert_allclose(nose[w.t_s < t[50]], 0.1 * t[50], rtol=1e-5)
    np.testing.assert_allclose(nose[w.t_s > t[79]], 0.1 * t[79], rtol=1e-5)


def test_frames_with_nobody_are_skipped(synthetic_sequence) -> None:
    seq = synthetic_sequence(90, 30, "wave")
    world, image, vis = seq.world.copy(), seq.image.copy(), seq.visibility.copy()
    world[70:74], image[70:74], vis[70:74] = sk.EMPTY_WORLD, sk.EMPTY_IMAGE, sk.EMPTY_VISIBILITY
    w = make_window(world, image, vis, seq.t_s, SPEC)
    full = make_window(*seq.arrays(), SPEC)
    assert w is not None and np.isfinite(w.world).all() and np.isfinite(w.image).all()
    np.testing.assert_allclose(w.world, full.world, atol=0.03)  # 4 missing frames, smooth motion


@pytest.mark.parametrize(
    ("hide", "spec"),
    [
        ("most_frames", SPEC),  # nobody in view for 2/3 of the window
        ("lower_body", SPEC),  # half the joints never seen: coverage ~ 0.5 < 0.6
        ("one_joint", SPEC),  # a wrist seen in 2 of 46 frames < min_joint_coverage 0.25
        ("one_joint_never", WindowSpec(min_coverage=0.5, min_joint_coverage=0.0)),
        ("all", SPEC),
    ],
)
def test_too_little_body_gives_no_window(synthetic_sequence, hide: str, spec: WindowSpec) -> None:
    seq = synthetic_sequence(90, 30, "wave")
    vis = seq.visibility.copy()
    if hide == "most_frames":
        vis[45:80] = 0.0
    elif hide == "lower_body":
        vis[:, [sk.L_HIP, sk.R_HIP, sk.L_KNEE, sk.R_KNEE, sk.L_ANKLE, sk.R_ANKLE, sk.NOSE]] = 0.0
    elif hide == "one_joint":
        vis[:88, sk.L_WRIST] = 0.0
    elif hide == "one_joint_never":
        vis[:, sk.L_WRIST] = 0.0
    else:
        vis[:] = 0.0
    assert make_window(seq.world, seq.image, vis, seq.t_s, spec) is None
    # the same stream with everything visible gives a window
    assert make_window(*seq.arrays(), spec) is not None


def test_nan_points_count_as_missing_even_when_visible(synthetic_sequence) -> None:
    seq = synthetic_sequence(90, 30, "wave")
    world = seq.world.copy()
    world[:, sk.L_WRIST] = np.nan  # visibility still says 1
    assert make_window(world, seq.image, seq.visibility, seq.t_s, SPEC) is None


@pytest.mark.parametrize("n_frames", [0, 1, 30, 44])
def test_stream_shorter_than_the_window_gives_none(synthetic_sequence, n_frames: int) -> None:
    seq = synthetic_sequence(max(n_frames, 1), 30, "wave")
    arrays = [a[:n_frames] for a in seq.arrays()]
    assert make_window(*arrays, SPEC) is None  # 44 frames at 30 fps span 1.43 s < 1.5 s


def test_first_sample_may_start_slightly_after_the_window(synthetic_sequence) -> None:
    assert SPEC.start_tolerance_s == pytest.approx(0.5 * 1.5 / 19)  # half a window step
    seq = synthetic_sequence(60, 30, "wave", t0=0.02)
    w = make_window(*seq.arrays(), SPEC, t_end=1.5)  # first sample 0.02 s after the start
    assert w is not None and w.t_s[0] == 0.0
    first = seq.image[0] - sk.mid_hip(seq.image[0])
    np.testing.assert_allclose(w.image[0], first, atol=1e-6)  # held at the first sample
    assert make_window(*seq.arrays(), SPEC, t_end=1.47) is None  # 0.05 s after: too late


# --- SkeletonBuffer ---------------------------------------------------------------------------


def _frame(value: float):
    return (
        np.full((sk.N_JOINTS, 3), value, np.float32),
        np.full((sk.N_JOINTS, 2), value, np.float32),
        np.ones(sk.N_JOINTS, np.float32),
    )


def test_buffer_keeps_the_newest_frames_in_order_after_wrapping() -> None:
    buf = SkeletonBuffer(5)
    for k in range(12):
        buf.push(*_frame(k), t_s=float(k))
    world, image, vis, t = buf.arrays()
    np.testing.assert_array_equal(t, [7, 8, 9, 10, 11])
    np.testing.assert_array_equal(world[:, 0, 0], [7, 8, 9, 10, 11])
    np.testing.assert_array_equal(image[:, 3, 1], [7, 8, 9, 10, 11])
    assert len(buf) == 5 and buf.capacity == 5
    assert buf.span_s() == 4.0


def test_buffer_before_it_is_full() -> None:
    buf = SkeletonBuffer(5)
    assert len(buf) == 0 and buf.span_s() == 0.0 and buf.arrays()[3].size == 0
    assert buf.window(SPEC) is None
    buf.push(*_frame(1.0), t_s=0.5)
    assert buf.span_s() == 0.0
    buf.push(*_frame(2.0), t_s=0.75)
    np.testing.assert_array_equal(buf.arrays()[3], [0.5, 0.75])
    assert buf.span_s() == 0.25


def test_buffer_storage_is_fixed_and_arrays_are_copies() -> None:
    buf = SkeletonBuffer(8)
    storage = [buf._world, buf._image, buf._visibility, buf._t_s]  # noqa: SLF001
    for k in range(5000):
        buf.push(*_frame(k), t_s=k / 30)
    now = [buf._world, buf._image, buf._visibility, buf._t_s]  # noqa: SLF001
    assert all(a is b for a, b in zip(storage, now, strict=True))
    assert [a.shape[0] for a in now] == [8, 8, 8, 8] and len(buf) == 8
    world, *_ = buf.arrays()
    world[:] = -1.0
    assert buf.arrays()[0][0, 0, 0] == 4992  # the caller's copy does not write through


def test_buffer_copies_what_is_pushed() -> None:
    buf = SkeletonBuffer(4)
    world, image, vis = _frame(1.0)
    buf.push(world, image, vis, t_s=0.0)
    world[:] = 99.0
    assert buf.arrays()[0][0, 0, 0] == 1.0


@pytest.mark.parametrize("n_before", [1, 3, 4, 7])
def test_buffer_refuses_timestamps_that_do_not_increase(n_before: int) -> None:
    buf = SkeletonBuffer(4)  # n_before = 4 puts the write index back at 0
    for k in range(n_before):
        buf.push(*_frame(k), t_s=float(k))
    last = float(n_before - 1)
    for bad in (last, last - 0.5):
        with pytest.raises(ValueError, match=rf"`t_s` must increase, got {bad} after {last}"):
            buf.push(*_frame(0), t_s=bad)
        with pytest.raises(ValueError, match="must increase"):
            buf.push_empty(bad)
    assert buf.arrays()[3][-1] == last  # nothing was written


def test_buffer_clear_starts_a_new_stream() -> None:
    buf = SkeletonBuffer(4)
    for k in range(6):
        buf.push(*_frame(k), t_s=10.0 + k)
    buf.clear()
    assert len(buf) == 0
    buf.push(*_frame(0), t_s=0.0)  # earlier than before the clear: allowed
    np.testing.assert_array_equal(buf.arrays()[3], [0.0])


def test_push_empty_stores_a_frame_with_nobody() -> None:
    buf = SkeletonBuffer(4)
    buf.push(*_frame(1.0), t_s=0.0)
    buf.push_empty(0.1)
    world, image, vis, t = buf.arrays()
    assert np.isnan(world[1]).all() and np.isnan(image[1]).all() and (vis[1] == 0).all()
    np.testing.assert_array_equal(t, [0.0, 0.1])


@pytest.mark.parametrize(
    ("capacity", "max_fps"), [(1, None), (0, None), (None, 0.0), (None, -30.0)]
)
def test_buffer_rejects_bad_sizes(capacity, max_fps) -> None:
    with pytest.raises(ValueError, match="`capacity` must be >= 2|`max_fps` must be > 0"):
        if capacity is not None:
            SkeletonBuffer(capacity)
        else:
            SkeletonBuffer.for_spec(SPEC, max_fps)


@pytest.mark.parametrize("fps", [15.0, 30.0, 60.0])
def test_buffer_for_spec_holds_a_whole_window(synthetic_sequence, fps: float) -> None:
    buf = SkeletonBuffer.for_spec(SPEC, max_fps=60.0)
    seq = synthetic_sequence(int(5 * fps), fps, "wave")
    for k in range(seq.t_s.size):
        buf.push(seq.world[k], seq.image[k], seq.visibility[k], seq.t_s[k])
    assert buf.span_s() >= SPEC.window_s
    assert buf.window(SPEC) is not None


@pytest.mark.parametrize("max_fps", [30.0, 240.0])
def test_ring_buffer_and_offline_path_give_identical_windows(
    synthetic_sequence, max_fps: float
) -> None:
    """The live path (push + window) and the offline path (whole arrays + t_end) agree
    bit for bit, including gaps, frames with nobody and after wrapping around, whether
    the buffer holds about one window (30) or several (240: only the tail is cut)."""
    seq = synthetic_sequence(180, 30, "walk", jitter_s=0.005)
    world, image, vis = seq.world.copy(), seq.image.copy(), seq.visibility.copy()
    vis[60:66] = 0.0
    vis[100:104, sk.R_ELBOW] = 0.2
    nobody = {120, 121, 150}
    buf = SkeletonBuffer.for_spec(SPEC, max_fps=max_fps)  # 47 or 362 frames: wraps
    compared = 0
    for k in range(seq.t_s.size):
        if k in nobody:
            buf.push_empty(seq.t_s[k])
            world[k], image[k], vis[k] = sk.EMPTY_WORLD, sk.EMPTY_IMAGE, sk.EMPTY_VISIBILITY
        else:
            buf.push(world[k], image[k], vis[k], seq.t_s[k])
        live = buf.window(SPEC)
        offline = make_window(world, image, vis, seq.t_s, SPEC, t_end=seq.t_s[k])
        assert (live is None) == (offline is None), k
        if live is None:
            continue
        compared += 1
        np.testing.assert_array_equal(live.world, offline.world)
        np.testing.assert_array_equal(live.image, offline.image)
        np.testing.assert_array_equal(live.t_s, offline.t_s)
        assert live.coverage == offline.coverage
        if k % 10 == 0:
            for feature_set in ("seed", "motion", "image"):
                np.testing.assert_array_equal(
                    vectorize(live, feature_set), vectorize(offline, feature_set)
                )
    assert compared > 100
