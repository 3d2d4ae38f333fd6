"""Overlay annotators: in place, cheap, sized by resolution, states shown as such."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from pipeline.pose import PoseFrame
from realtime.overlay import (
    ACCENT,
    BAR,
    LabelAnnotator,
    SkeletonAnnotator,
    StatsAnnotator,
    default_annotators,
    ui_scale,
)
from realtime.tick import CLASSIFIED, COLLECTING, NO_PERSON, UNCERTAIN, Decision, StageTimes, Tick

CLASSES = ("angry", "happy", "sad")


@pytest.fixture
def tick(fakes):
    """Factory of ticks with a synthetic person in a `wh` frame."""

    def make(state=CLASSIFIED, label=1, proba=(0.1, 0.7, 0.2), person=True, wh=(640, 480)) -> Tick:
        return _tick(
            fakes.pose_frame(fakes.body_at(0.0, "calm"), wh) if person else None,
            state,
            label,
            proba,
        )

    return make


def _tick(person, state, label, proba) -> Tick:
    return Tick(
        index=7,
        t_s=1.5,
        person=person,
        decision=Decision(state, label if state == CLASSIFIED else None),
        probabilities=None if proba is None else np.array(proba),
        progress=0.4,
        times=StageTimes(latency_ms=31.0),
        fps=29.5,
        dropped=12,
        skipped=2,
    )


def count_colour(scene: np.ndarray, colour) -> int:
    return int(np.all(scene == np.array(colour, np.uint8), axis=-1).sum())


@pytest.mark.parametrize(
    "annotator", [SkeletonAnnotator(), LabelAnnotator(CLASSES), StatsAnnotator()]
)
def test_draws_in_place_and_returns_the_same_array(annotator, tick):
    scene = np.full((480, 640, 3), 128, np.uint8)
    out = annotator.annotate(scene, tick())
    assert out is scene
    assert (scene != 128).any()


def test_skeleton_skips_invisible_landmarks_and_missing_people(tick):
    scene = np.zeros((480, 640, 3), np.uint8)
    SkeletonAnnotator().annotate(scene, tick(person=False))
    assert not scene.any()
    hidden = tick().person
    hidden = PoseFrame(
        hidden.image,
        hidden.world,
        np.zeros_like(hidden.visibility),
        hidden.presence,
        hidden.image_wh,
    )
    t = replace(tick(), person=hidden)  # a Tick is frozen
    SkeletonAnnotator().annotate(scene, t)
    assert not scene.any()
    SkeletonAnnotator().annotate(scene, tick())
    assert count_colour(scene, ACCENT) > 50  # the 13 joints


def test_label_panel_bars_follow_the_probabilities(tick):
    scene = np.zeros((480, 640, 3), np.uint8)
    LabelAnnotator(CLASSES).annotate(scene, tick(proba=(0.1, 0.7, 0.2)))
    accent, bars = count_colour(scene, ACCENT), count_colour(scene, BAR)
    assert accent > 0 and bars > 0
    assert accent == pytest.approx(7 / 3 * bars, rel=0.15)  # 0.7 vs 0.1 + 0.2


def test_uncertain_shows_bars_but_no_accent(tick):
    scene = np.zeros((480, 640, 3), np.uint8)
    LabelAnnotator(CLASSES).annotate(scene, tick(state=UNCERTAIN, proba=(0.34, 0.33, 0.33)))
    assert count_colour(scene, ACCENT) == 0 and count_colour(scene, BAR) > 0


@pytest.mark.parametrize(
    ("state", "proba", "text"),
    [
        (CLASSIFIED, (0.1, 0.72, 0.18), "happy 72%"),
        (UNCERTAIN, (0.34, 0.33, 0.33), "uncertain"),
        (NO_PERSON, None, "no person"),
        (COLLECTING, None, "collecting movement 40%"),
    ],
)
def test_headline_states(state, proba, text, tick):
    assert LabelAnnotator.headline(tick(state=state, proba=proba), CLASSES) == text


def test_headline_when_the_body_is_not_visible_enough(tick):
    t = replace(tick(state=COLLECTING, proba=None), progress=1.0)
    assert LabelAnnotator.headline(t, CLASSES) == "collecting movement"


def test_stats_text(tick):
    assert StatsAnnotator.text(tick()) == "29.5 fps  latency  31 ms  dropped 12  skipped 2"


def test_sizes_follow_resolution(tick):
    small = np.zeros((480, 640, 3), np.uint8)
    large = np.zeros((960, 1280, 3), np.uint8)
    assert ui_scale(small) == 1.0 and ui_scale(large) == 2.0
    for scene in (small, large):
        for a in default_annotators(CLASSES):
            a.annotate(scene, tick(wh=(scene.shape[1], scene.shape[0])))
    ratio = (large.any(-1).sum()) / (small.any(-1).sum())
    assert 3.0 < ratio < 5.0  # drawn area grows with the square of the scale


def test_label_annotator_needs_classes():
    with pytest.raises(ValueError, match="`classes` must not be empty"):
        LabelAnnotator(())


def test_headline_follows_state_at_once_and_percentages_at_the_refresh_rate(tick):
    annotator = LabelAnnotator(CLASSES, refresh_s=0.25)

    def headline_pixels(t_s, state=CLASSIFIED, proba=(0.1, 0.7, 0.2)):
        t = replace(tick(state=state, proba=proba), t_s=t_s)
        scene = np.zeros((480, 640, 3), np.uint8)
        annotator.annotate(scene, t)
        return scene[:30, :200].copy()

    first = headline_pixels(1.0)
    same = headline_pixels(1.1, proba=(0.1, 0.8, 0.1))  # within 0.25 s: 70% still shown
    assert np.array_equal(first, same)
    later = headline_pixels(1.3, proba=(0.1, 0.8, 0.1))  # refreshed: 80%
    assert not np.array_equal(first, later)
    changed = headline_pixels(1.35, state=UNCERTAIN, proba=(0.34, 0.33, 0.33))
    assert not np.array_equal(later, changed)  # a state change shows at once


def test_stats_refresh_rate(tick):
    annotator = StatsAnnotator(refresh_s=0.25)
    shots = []
    for t_s, fps in ((1.0, 30.0), (1.1, 12.0), (1.3, 12.0)):
        t = replace(tick(), t_s=t_s, fps=fps)
        scene = np.zeros((480, 640, 3), np.uint8)
        shots.append(annotator.annotate(scene, t)[-30:].copy())
    assert np.array_equal(shots[0], shots[1]) and not np.array_equal(shots[1], shots[2])
