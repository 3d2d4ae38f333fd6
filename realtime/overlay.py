"""Drawing the live overlay: skeleton, label panel with a bar per class, and run statistics.

Each annotator is configured once (style, class names) and called on every frame with
`annotate(scene, tick) -> scene`. All of them draw **in place** on the (H, W, 3) uint8 BGR
`scene` and return that same array; copy it first if the original is still needed.
Sizes (text, lines, panel) follow the frame's resolution. Drawing is kept cheap (a few
OpenCV calls per frame, no per-pixel Python), since it is part of the per-frame budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol, cast

import numpy as np
import numpy.typing as npt

from pipeline import skeleton
from pipeline.pose import PoseFrame
from realtime.tick import CLASSIFIED, COLLECTING, NO_PERSON, UNCERTAIN, PersonTick, Tick

Image = npt.NDArray[np.uint8]
Colour = tuple[int, int, int]  # BGR

# Colours (BGR). The accent marks the shown label's bar; tests look for it on screen.
ACCENT: Final[Colour] = (0, 200, 255)
BAR: Final[Colour] = (200, 160, 90)
TEXT: Final[Colour] = (255, 255, 255)
MUTED: Final[Colour] = (170, 170, 170)
STATE_COLOURS: Final[dict[str, Colour]] = {
    CLASSIFIED: (80, 230, 80),
    UNCERTAIN: (0, 215, 255),
    COLLECTING: (230, 200, 120),
    NO_PERSON: (160, 160, 160),
}
_FONT: Final[int] = 0  # cv2.FONT_HERSHEY_SIMPLEX
_AA: Final[int] = 16  # cv2.LINE_AA


def ui_scale(scene: Image) -> float:
    """Size factor for text and lines: 1.0 for a 640x480 frame, by the shorter side."""
    return max(0.5, min(scene.shape[0], scene.shape[1]) / 480.0)


class Annotator(Protocol):
    def annotate(self, scene: Image, tick: Tick) -> Image:
        """Draw on `scene` in place and return it."""


def _ink(layer: Image) -> npt.NDArray[np.uint8]:
    """(H, W) mask, nonzero where a layer drawn on black has ink (for `cv2.copyTo`)."""
    import cv2

    # much faster than numpy's any(axis=2); uint8 in, uint8 out
    return cast("npt.NDArray[np.uint8]", cv2.cvtColor(layer, cv2.COLOR_BGR2GRAY))


def _darken(scene: Image, x0: int, y0: int, x1: int, y1: int) -> None:
    """Halve the brightness of a rectangle, in place (a cheap translucent panel)."""
    roi = scene[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)]
    np.right_shift(roi, 1, out=roi)


class SkeletonAnnotator:
    """The 33-landmark MediaPipe skeleton of everyone in view; landmarks under
    `min_visibility` are skipped.

    Args:
        colour: line colour (BGR).
        joint_colour: colour of the 13 joints the classifier uses (BGR).
        min_visibility: landmarks below this visibility are not drawn, [0, 1].
    """

    def __init__(
        self,
        colour: Colour = (255, 255, 255),
        joint_colour: Colour = ACCENT,
        min_visibility: float = skeleton.VISIBILITY_THRESHOLD,
    ) -> None:
        self.colour = colour
        self.joint_colour = joint_colour
        self.min_visibility = min_visibility
        self._edges = np.array(skeleton.MEDIAPIPE_EDGES, dtype=np.intp)

    def annotate(self, scene: Image, tick: Tick) -> Image:
        people = [p.person for p in tick.people] if len(tick.people) > 1 else [tick.person]
        for person in people:
            if person is not None and person.found:
                self._draw(scene, person)
        return scene

    def _draw(self, scene: Image, person: PoseFrame) -> None:
        import cv2

        height, width = scene.shape[:2]
        s = ui_scale(scene)
        xy = person.image[:, :2] * np.array([width, height], np.float32)
        finite = np.isfinite(xy)
        # NaN visibility compares False; np.where is 4x cheaper than np.nan_to_num here
        seen = (person.visibility >= self.min_visibility) & finite.all(1)
        pixels = np.rint(np.where(finite, xy, 0.0)).astype(np.int32)
        edges = self._edges[seen[self._edges[:, 0]] & seen[self._edges[:, 1]]]
        if len(edges):
            # plain 8-connected lines: antialiasing them cost 2.5x as much (0.18 vs 0.07 ms
            # for the 35 edges at 640x480), for lines 2 px wide under the round joints
            cv2.polylines(scene, list(pixels[edges]), False, self.colour, max(1, round(2 * s)))
        radius = max(2, round(4 * s))
        for j in skeleton.MEDIAPIPE_INDEX[seen[skeleton.MEDIAPIPE_INDEX]]:
            cv2.circle(
                scene, (int(pixels[j, 0]), int(pixels[j, 1])), radius, self.joint_colour, -1, _AA
            )


class LabelAnnotator:
    """Top-left panel: the label with its confidence (or the state), and a bar per class.

    The headline is re-rendered when the state or label changes, and otherwise (for its
    percentage) at most every `refresh_s` seconds of source time; the bars follow every
    frame.

    Args:
        classes: the model's class names, in probability order.
        width_frac: panel width as a fraction of the frame's shorter side.
        refresh_s: shortest time between two renderings of an unchanged headline, seconds.
    """

    def __init__(
        self, classes: Sequence[str], width_frac: float = 0.6, refresh_s: float = 0.25
    ) -> None:
        if not classes:
            raise ValueError("`classes` must not be empty")
        if not 0.1 <= width_frac <= 1.0:
            raise ValueError(f"`width_frac` must be in [0.1, 1], got {width_frac}")
        if refresh_s < 0:
            raise ValueError(f"`refresh_s` must be >= 0 seconds, got {refresh_s}")
        self.classes = tuple(classes)
        self.width_frac = width_frac
        self.refresh_s = refresh_s
        self._cached: _PanelLayout | None = None
        self._head_key: tuple[object, ...] | None = None
        self._head_t_s = 0.0
        self._head: Image | None = None
        self._head_mask: npt.NDArray[np.uint8] | None = None

    @staticmethod
    def headline(tick: Tick, classes: Sequence[str]) -> str:
        """The panel's first line, e.g. "happy 72%", "uncertain" or "no person"."""
        d = tick.decision
        if d.state == CLASSIFIED and d.label is not None and tick.probabilities is not None:
            return f"{classes[d.label]} {100 * tick.probabilities[d.label]:.0f}%"
        if d.state == COLLECTING:
            if tick.progress >= 1.0:  # long enough, but too little of the body was visible
                return COLLECTING
            return f"collecting movement {100 * tick.progress:.0f}%"
        return d.state

    def _layout(self, scene: Image) -> _PanelLayout:
        """Sizes for this frame size, and the static layer (class names, bar outlines).

        The static layer is drawn once per frame size on black and copied onto the
        darkened panel each frame with a mask: one copy instead of a text call per class.
        """
        import cv2

        key = scene.shape[:2]
        if self._cached is not None and self._cached.key == key:
            return self._cached
        s = ui_scale(scene)
        pad, row, head = round(8 * s), round(16 * s), round(30 * s)
        width = min(scene.shape[1], round(self.width_frac * min(scene.shape[:2])))
        height = min(scene.shape[0], 2 * pad + head + row * len(self.classes))
        bar_x0, bar_x1 = pad + round(0.45 * width), width - pad
        # the headline's font: as large as 0.65 * s, small enough for the longest headline
        longest = max(["collecting movement 100%", *(f"{c} 100%" for c in self.classes)], key=len)
        head_scale, head_thick = 0.65 * s, max(1, round(2 * s))
        text_w = cv2.getTextSize(longest, _FONT, head_scale, head_thick)[0][0]
        head_scale *= min(1.0, (width - 2 * pad) / max(text_w, 1))
        static = np.zeros((height, width, 3), np.uint8)
        bars = []
        for i, name in enumerate(self.classes):
            y = pad + head + i * row
            cv2.putText(
                static,
                name,
                (pad, y + row - round(4 * s)),
                _FONT,
                0.4 * s,
                TEXT,
                max(1, round(s)),
                _AA,
            )
            top, bottom = y + round(3 * s), y + row - round(2 * s)
            cv2.rectangle(static, (bar_x0, top), (bar_x1, bottom), MUTED, 1)
            bars.append((top, bottom))
        self._cached = _PanelLayout(
            key=key,
            scale=s,
            pad=pad,
            width=width,
            height=height,
            bar_x0=bar_x0,
            bar_x1=bar_x1,
            bars=tuple(bars),
            head_scale=head_scale,
            head_thickness=head_thick,
            static=static,
            mask=_ink(static),
        )
        return self._cached

    def annotate(self, scene: Image, tick: Tick) -> Image:
        import cv2

        lay = self._layout(scene)
        s = lay.scale
        _darken(scene, 0, 0, lay.width, lay.height)
        cv2.copyTo(lay.static, lay.mask, scene[: lay.height, : lay.width])  # in place
        state = tick.decision.state
        key = (lay.key, state, tick.decision.label)
        if key != self._head_key or not 0 <= tick.t_s - self._head_t_s < self.refresh_s:
            head = np.zeros((lay.pad + round(30 * s), lay.width, 3), np.uint8)
            cv2.putText(
                head,
                self.headline(tick, self.classes),
                (lay.pad, lay.pad + round(20 * s)),
                _FONT,
                lay.head_scale,
                STATE_COLOURS[state],
                lay.head_thickness,
                _AA,
            )
            self._head, self._head_mask = head, _ink(head)
            self._head_key, self._head_t_s = key, tick.t_s
        assert self._head is not None and self._head_mask is not None
        h = min(self._head.shape[0], lay.height)
        cv2.copyTo(self._head[:h], self._head_mask[:h], scene[:h, : lay.width])
        proba = tick.probabilities
        if proba is None:
            return scene
        shown = tick.decision.label if state == CLASSIFIED else None
        span = lay.bar_x1 - lay.bar_x0
        for i, (top, bottom) in enumerate(lay.bars):
            fill = lay.bar_x0 + round(float(proba[i]) * span)
            if fill > lay.bar_x0:
                colour = ACCENT if i == shown else BAR
                cv2.rectangle(scene, (lay.bar_x0, top), (fill, bottom), colour, -1)
        return scene


@dataclass(frozen=True, slots=True)
class _PanelLayout:
    key: tuple[int, ...]
    scale: float
    pad: int
    width: int
    height: int
    bar_x0: int
    bar_x1: int
    bars: tuple[tuple[int, int], ...]
    head_scale: float
    head_thickness: int
    static: Image
    mask: npt.NDArray[np.uint8]  # (height, width), 1 where the static layer has ink


class StatsAnnotator:
    """Bottom strip: processing fps, capture-to-label latency, dropped and skipped frames.

    The figures are re-rendered at most every `refresh_s` seconds of source time (a
    readable rate; text changing 30 times a second cannot be read); in between, the
    rendered strip is copied onto each frame.

    Args:
        refresh_s: shortest time between two renderings of the figures, seconds.
    """

    def __init__(self, refresh_s: float = 0.25) -> None:
        if refresh_s < 0:
            raise ValueError(f"`refresh_s` must be >= 0 seconds, got {refresh_s}")
        self.refresh_s = refresh_s
        self._key: tuple[tuple[int, ...], float] | None = None  # (frame shape, render time)
        self._strip: Image | None = None
        self._mask: npt.NDArray[np.uint8] | None = None

    @staticmethod
    def text(tick: Tick) -> str:
        line = (
            f"{tick.fps:4.1f} fps  latency {tick.times.latency_ms:3.0f} ms  dropped {tick.dropped}"
        )
        if tick.skipped:
            line += f"  skipped {tick.skipped}"
        return line

    def _render(self, scene: Image, tick: Tick) -> None:
        import cv2

        s = ui_scale(scene)
        text, scale, thickness = self.text(tick), 0.45 * s, max(1, round(s))
        (width, _), _ = cv2.getTextSize(text, _FONT, scale, thickness)
        pad = round(8 * s)
        strip = np.zeros((round(22 * s), min(width + 2 * pad, scene.shape[1]), 3), np.uint8)
        cv2.putText(
            strip, text, (pad, strip.shape[0] - round(7 * s)), _FONT, scale, TEXT, thickness, _AA
        )
        self._strip, self._mask = strip, _ink(strip)
        # The first rendering counts as half a period old, so later ones fall between the
        # label panel's (which refreshes on the same period): one text rendering per frame.
        first = self._key is None or self._key[0] != scene.shape
        self._key = (scene.shape, tick.t_s - (0.5 * self.refresh_s if first else 0.0))

    def annotate(self, scene: Image, tick: Tick) -> Image:
        import cv2

        key = self._key
        if key is None or key[0] != scene.shape or not 0 <= tick.t_s - key[1] < self.refresh_s:
            self._render(scene, tick)
        assert self._strip is not None and self._mask is not None
        h, w = self._strip.shape[:2]
        top = scene.shape[0] - h
        _darken(scene, 0, top, w, scene.shape[0])
        cv2.copyTo(self._strip, self._mask, scene[top:, :w])
        return scene


class PeopleAnnotator:
    """A tag beside each person (above their box): "#id label 72%", or their state.

    Each tag is rendered once per text and frame size and copied onto the frame with a
    mask; a tag's percentage is re-rendered at most every `refresh_s` seconds of source time.

    Args:
        classes: the model's class names, in probability order.
        refresh_s: shortest time between two renderings of one person's tag, seconds.
    """

    def __init__(self, classes: Sequence[str], refresh_s: float = 0.25) -> None:
        if refresh_s < 0:
            raise ValueError(f"`refresh_s` must be >= 0 seconds, got {refresh_s}")
        self.classes = tuple(classes)
        self.refresh_s = refresh_s
        # person id -> (key, render time, tag, mask)
        self._tags: dict[int, tuple[tuple[object, ...], float, Image, Image]] = {}

    def text(self, person: PersonTick) -> str:
        d = person.decision
        if d.state == CLASSIFIED and d.label is not None and person.probabilities is not None:
            return (
                f"#{person.id} {self.classes[d.label]} {100 * person.probabilities[d.label]:.0f}%"
            )
        if d.state == COLLECTING:
            return f"#{person.id} collecting"
        return f"#{person.id} {d.state}"

    def _tag(self, scene: Image, person: PersonTick, t_s: float) -> tuple[Image, Image]:
        import cv2

        key = (scene.shape, person.decision.state, person.decision.label)
        cached = self._tags.get(person.id)
        if cached is not None and cached[0] == key and 0 <= t_s - cached[1] < self.refresh_s:
            return cached[2], cached[3]
        s = ui_scale(scene)
        text, scale, thickness = self.text(person), 0.5 * s, max(1, round(s))
        (w, h), base = cv2.getTextSize(text, _FONT, scale, thickness)
        pad = round(4 * s)
        tag = np.zeros((h + base + 2 * pad, w + 2 * pad, 3), np.uint8)
        colour = STATE_COLOURS[person.decision.state]
        cv2.putText(tag, text, (pad, pad + h), _FONT, scale, colour, thickness, _AA)
        mask = _ink(tag)
        self._tags[person.id] = (key, t_s, tag, mask)
        return tag, mask

    def annotate(self, scene: Image, tick: Tick) -> Image:
        import cv2

        height, width = scene.shape[:2]
        for person in tick.people:
            tag, mask = self._tag(scene, person, tick.t_s)
            th, tw = tag.shape[:2]
            x = int(np.clip(round(person.box[0] * width), 0, max(0, width - tw)))
            y = int(np.clip(round(person.box[1] * height) - th, 0, max(0, height - th)))
            h, w = min(th, height - y), min(tw, width - x)
            _darken(scene, x, y, x + w, y + h)
            cv2.copyTo(tag[:h, :w], mask[:h, :w], scene[y : y + h, x : x + w])
        # forget the tags of people no longer in view
        for pid in set(self._tags) - {p.id for p in tick.people}:
            del self._tags[pid]
        return scene


def default_annotators(classes: Sequence[str], people: bool = False) -> list[Annotator]:
    """Skeleton(s), label panel and statistics, in drawing order; with `people`, a tag
    beside each person too (--max-people N > 1)."""
    annotators: list[Annotator] = [SkeletonAnnotator(), LabelAnnotator(classes), StatsAnnotator()]
    if people:
        annotators.insert(1, PeopleAnnotator(classes))
    return annotators
