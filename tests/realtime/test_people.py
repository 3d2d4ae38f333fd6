"""--max-people: one state per person, stable norfair ids, the people list (fake pose)."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.pose import PoseFrame
from realtime.analyzer import Analyzer
from realtime.capture import Frame
from realtime.smoothing import LabelDecider, make_smoother
from realtime.tick import CLASSIFIED
from tests.realtime.conftest import body_at, pose_frame

pytest.importorskip("norfair")


def shifted(frame: PoseFrame, dx: float) -> PoseFrame:
    image = frame.image.copy()
    image[:, 0] = image[:, 0] * 0.5 + dx
    return PoseFrame(image, frame.world, frame.visibility, frame.presence, frame.image_wh)


class TwoPeople:
    """Left person calm, right person lively; the right one leaves for `away` seconds."""

    def __init__(self, away: tuple[float, float] = (9.0, 9.0)) -> None:
        self.away = away

    def detect(self, image_rgb, timestamp_ms=None, previous=None):
        raise AssertionError("multi-person analysis calls detect_all")

    def detect_all(self, image_rgb, timestamp_ms=None):
        t = timestamp_ms / 1000.0
        people = [shifted(pose_frame(body_at(t, "calm")), 0.0)]
        if not self.away[0] <= t < self.away[1]:
            people.append(shifted(pose_frame(body_at(t, "lively")), 0.5))
        return people[::-1] if int(t * 30) % 2 else people  # order changes every frame


def run(model, pose, n=90):
    analyzer = Analyzer(
        model, pose, make_smoother("none"), LabelDecider(0.6, 0.1), max_people=3, fps=30.0
    )
    img = np.zeros((120, 160, 3), np.uint8)
    return analyzer, [analyzer.step(Frame(img, k, k / 30, 0.0)) for k in range(n)]


def test_each_person_keeps_an_id_and_gets_their_own_label(tiny_model):
    _, ticks = run(tiny_model, TwoPeople())
    ids = {p.id: p.box[0] < 0.5 for t in ticks for p in t.people}
    assert len(ids) == 2  # no id switches although the detection order flips every frame
    last = {p.id: p for p in ticks[-1].people}
    labels = {ids[i]: tiny_model.classes[p.decision.label] for i, p in last.items()}
    assert all(p.decision.state == CLASSIFIED for p in last.values())
    assert labels == {True: "calm", False: "lively"}


def test_a_person_who_returns_soon_keeps_their_id_and_one_gone_long_is_freed(tiny_model):
    analyzer, ticks = run(tiny_model, TwoPeople(away=(1.0, 1.5)), n=75)
    right = {p.id for t in ticks for p in t.people if p.box[0] >= 0.5}
    assert len(right) == 1
    analyzer, ticks = run(tiny_model, TwoPeople(away=(1.0, 9.0)), n=240)
    assert len(analyzer.states) == 1  # the right person's buffer was freed after 3 s
