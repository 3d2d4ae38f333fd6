"""The novelty check ("uncertain"), side by side for one model file: how often it fires on
real people moving ordinarily and on movement unlike anything people do (#18 item 4).

Every window takes the live app's path: skeletons -> `Movement.windows(model.window,
stride)` (`make_window`, as the live buffer) -> `vectorize` (the model's feature set) ->
`EmotionModel.unfamiliar` (True: shown as "uncertain"). Rows:
- real footage: the single-person pose2sim demo videos (`realtime.demo.fetch_demo_videos`;
  or --videos) through PoseLandmarker with the card's pose settings (the training reader
  `offline.datasets.folders`, keypoints cached), a window every `window_s / (n_frames - 1)`
  seconds as the live app classifies. Target: >= 70 % get a label (<= 30 % flagged).
- unlike anything people do, made from the shared motion capture (--mocap: cmu-everyday,
  bandai-namco-motion-1, every style): lying down (each frame turned 90 degrees about its
  horizontal hip axis), upside down (180), frozen (the window's last frame held through
  it), jittering (independent noise on every joint and frame, --jitter-cm RMS 3D) and an
  arm spinning (straight, windmilling at --spin-hz); changed skeletons are seen again by
  the mocap reader's virtual camera, so their image-plane joints agree. Target: >= 80 %.
- ordinary movement of other people (--ordinary: cmu-everyday, cmu-emotion): sanity rows,
  no target, marked when the model's card names the folder (its own data: optimistic).
  Where clips carry the model's labels: accuracy of the windows let through and flagged.

Figures are printed, never asserted. About a minute once the keypoints are cached:

    python -m benchmarks.novelty [--model models/emotion.skops] [--quick] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmarks.common import SHARED_DIR, Row, benchmark_parser, run_benchmark, verdict

if TYPE_CHECKING:
    from offline.datasets.movement import Movement
    from pipeline.models import EmotionModel
    from pipeline.window import Window, WindowSpec

DATA = SHARED_DIR / "data"
DEFAULT_MOCAP = (DATA / "cmu-everyday", DATA / "bandai-namco-motion-1")
DEFAULT_ORDINARY = (DATA / "cmu-everyday", DATA / "cmu-emotion")
REAL_FLAGGED_MAX = 0.30  # >= 70 % of real windows get a label
UNLIKE_FLAGGED_MIN = 0.80
TARGETS = {"real": ("<=", REAL_FLAGGED_MAX), "unlike": (">=", UNLIKE_FLAGGED_MIN)}
JITTER_CM, SPIN_HZ = 6.5, 2.0
CHUNK = 512  # windows per novelty query (an N x reference distance matrix)

# --- movements unlike anything people do ------------------------------------------------


def _hip_axes(world: np.ndarray) -> np.ndarray:
    """(N, 3) unit horizontal right-to-left hip axis of each frame (+x where undefined)."""
    from pipeline import skeleton as sk

    axis = (world[:, sk.L_HIP] - world[:, sk.R_HIP]).astype(np.float64)
    axis[:, 1] = 0.0
    norm = np.linalg.norm(axis, axis=-1, keepdims=True)
    return np.where(norm > 1e-9, axis / np.where(norm > 1e-9, norm, 1.0), [1.0, 0.0, 0.0])


def turned(world: np.ndarray, degrees: float) -> np.ndarray:
    """(N, J, 3) -> each frame turned by `degrees` about its own horizontal hip axis through
    its mid-hip (90: an upright body lies down, 180: upside down), then the whole movement
    moved up or down so that its lowest joint is on the floor (y = 0)."""
    from pipeline import skeleton as sk

    k = _hip_axes(world)[:, None, :]
    pivot = sk.mid_hip(world.astype(np.float64))[:, None, :]
    v = world - pivot
    a = math.radians(degrees)
    out = (
        v * math.cos(a)
        + np.cross(k, v) * math.sin(a)
        + k * (k * v).sum(-1, keepdims=True) * (1 - math.cos(a))
        + pivot
    )
    out[..., 1] -= np.nanmin(out[..., 1])
    return out


def jittered(world: np.ndarray, rms_m: float, rng: np.random.Generator) -> np.ndarray:
    """Independent Gaussian noise on every joint of every frame, `rms_m` RMS 3D displacement."""
    return world + rng.normal(0.0, rms_m / math.sqrt(3.0), world.shape)


def arm_spinning(world: np.ndarray, t_s: np.ndarray, hz: float) -> np.ndarray:
    """The right arm held straight and swung in vertical circles (a windmill through up and
    forward) about the shoulder, `hz` turns a second; the rest of the body as it was."""
    from pipeline import skeleton as sk

    out = np.array(world, np.float64)
    shoulder = out[:, sk.R_SHOULDER]
    upper = np.nanmedian(np.linalg.norm(out[:, sk.R_ELBOW] - shoulder, axis=-1))
    fore = np.nanmedian(np.linalg.norm(out[:, sk.R_WRIST] - out[:, sk.R_ELBOW], axis=-1))
    forward = np.cross(_hip_axes(out), [0.0, 1.0, 0.0])
    angle = (2 * math.pi * hz * (t_s - t_s[0]))[:, None]
    direction = np.cos(angle) * [0.0, 1.0, 0.0] + np.sin(angle) * forward
    out[:, sk.R_ELBOW] = shoulder + upper * direction
    out[:, sk.R_WRIST] = shoulder + (upper + fore) * direction
    return out


def frozen(window: Window) -> Window:
    """The window with its last frame held for the whole window (a skeleton that froze)."""
    n = window.world.shape[0]
    held = {k: np.repeat(getattr(window, k)[-1:], n, axis=0) for k in ("world", "image")}
    return replace(window, **held)


def seen_again(movement: Movement, world: np.ndarray, tag: str) -> Movement:
    """`movement` with a new 3D skeleton, seen by the mocap reader's virtual camera (view 0)."""
    from offline.datasets.mocap import MocapOptions
    from offline.datasets.views import view_movements

    rng = np.random.default_rng(0)  # no jitter is drawn: MocapOptions() has none
    (out,) = view_movements(
        world, movement.t_s, movement.label, movement.groups, f"{movement.name}~{tag}",
        MocapOptions(), rng,
    )  # fmt: skip
    return out


def unlike_windows(
    movement: Movement, spec: WindowSpec, stride_s: float, jitter_m: float, spin_hz: float,
    rng: np.random.Generator,
) -> dict[str, list[Window]]:  # fmt: skip
    """Each kind of movement unlike anything people do, made from `movement`: its windows."""
    w, t = movement.world.astype(np.float64), movement.t_s
    out = {
        "lying down (turned 90°)": seen_again(movement, turned(w, 90.0), "lying"),
        "upside down (turned 180°)": seen_again(movement, turned(w, 180.0), "upside"),
        f"jittering ({jitter_m * 100:g} cm RMS per joint and frame)":
            seen_again(movement, jittered(w, jitter_m, rng), "jitter"),
        f"arm spinning ({spin_hz:g} turns/s)":
            seen_again(movement, arm_spinning(w, t, spin_hz), "spin"),
    }  # fmt: skip
    windows = {k: m.windows(spec, stride_s) for k, m in out.items()}
    windows["frozen (one frame held)"] = [frozen(x) for x in movement.windows(spec, stride_s)]
    return windows


# --- measuring -------------------------------------------------------------------------


def flags(model: EmotionModel, windows: Sequence[Window]) -> tuple[np.ndarray, np.ndarray]:
    """(unfamiliar (N,) bool, predicted class index (N,)) of the windows."""
    from pipeline.features import vectorize

    if not windows:
        return np.zeros(0, bool), np.zeros(0, int)
    x = np.stack([vectorize(w, model.feature_set) for w in windows])
    flagged, predicted = [], []
    for i in range(0, len(x), CHUNK):
        u = model.unfamiliar(x[i : i + CHUNK])
        if u is None:
            raise ValueError("the model has no novelty check (no reference windows on it)")
        flagged.append(u)
        predicted.append(model.predict_proba(x[i : i + CHUNK]).argmax(axis=1))
    return np.concatenate(flagged), np.concatenate(predicted)


class Tally:
    """Windows and flags of one table row, by source; accuracy where labels are known."""

    def __init__(self) -> None:
        self.by_source: dict[str, list[int]] = {}
        self.correct = {"let_through": [0, 0], "flagged": [0, 0]}  # [correct, windows]

    def add(self, model: EmotionModel, source: str, windows: Sequence[Window], label: str) -> None:
        flagged, predicted = flags(model, windows)
        n_f = self.by_source.setdefault(source, [0, 0])
        n_f[0] += len(windows)
        n_f[1] += int(flagged.sum())
        if label in model.classes:
            right = predicted == model.classes.index(label)
            for key, mask in (("let_through", ~flagged), ("flagged", flagged)):
                self.correct[key][0] += int(right[mask].sum())
                self.correct[key][1] += int(mask.sum())

    def row(self, section: str, name: str, note: str = "") -> dict[str, Any]:
        n = sum(v[0] for v in self.by_source.values())
        k = sum(v[1] for v in self.by_source.values())
        accuracy = {
            key: None if total == 0 else round(right / total, 3)
            for key, (right, total) in self.correct.items()
        }
        labelled = any(total for _, total in self.correct.values())
        return {
            "section": section, "name": name, "windows": n, "flagged": k,
            "share_flagged": None if n == 0 else round(k / n, 4),
            "by_source": {s: {"windows": v[0], "flagged": v[1]} for s, v in self.by_source.items()},
            "accuracy": accuracy if labelled else None,
            "note": note,
        }  # fmt: skip


def read_movements(path: Path, clips: int | None) -> list[Movement]:
    """Every movement of a skeleton dataset (mocap or skeleton files, every style), or
    `clips` of them evenly chosen."""
    from offline.datasets.mocap import MocapOptions
    from offline.datasets.registry import ReadOptions, read_dataset

    options = ReadOptions(mocap=MocapOptions(styles=None))
    movements, _, _ = read_dataset(path, "auto", options)
    if clips is not None and clips < len(movements):
        pick = np.unique(np.linspace(0, len(movements) - 1, clips).round().astype(int))
        movements = [movements[i] for i in pick]
    return movements


def video_movements(
    videos: Sequence[Path], model: EmotionModel, cache_dir: Path | None, pose_model: Path | None
) -> tuple[dict[str, Movement], dict[str, str]]:
    """Each video through PoseLandmarker (the model's pose settings) as the training reader
    reads a labelled folder; video name -> movement, and name -> why a video gave none."""
    from offline.datasets.folders import read_folders
    from offline.keypoints.cache import KeypointCache
    from pipeline.pose import quiet_stderr

    unique = len({v.name for v in videos}) == len(videos)
    shown = {
        f"Neutral/{k:02d}_{v.name}": v.name if unique else str(v) for k, v in enumerate(videos)
    }
    with tempfile.TemporaryDirectory(prefix="novelty-videos-") as tmp:
        (Path(tmp) / "Neutral").mkdir()
        for link, v in zip(shown, videos, strict=True):
            (Path(tmp) / link).symlink_to(v.resolve())
        cache = KeypointCache(cache_dir) if cache_dir else KeypointCache()
        with quiet_stderr():  # mediapipe's native log lines
            movements, report = read_folders(
                tmp, cache=cache, pose_model=pose_model, settings=model.pose
            )
    found = {shown[m.name]: m for m in movements}
    return found, {shown.get(k, k): v for k, v in report.skipped.items()}


def run(args: argparse.Namespace) -> dict[str, Any]:
    from pipeline.models import card_path, load_model

    model = load_model(args.model)
    card = json.loads(card_path(args.model).read_text(encoding="utf-8"))
    spec, live_period = model.window, model.window.window_s / (model.window.n_frames - 1)
    rows: list[dict[str, Any]] = []
    if not args.no_videos:
        videos, credit = args.videos, "--videos"
        if not videos:
            from realtime.demo import VIDEOS_CREDIT, fetch_demo_videos

            videos = fetch_demo_videos(notify=lambda m: print(m, file=sys.stderr))
            credit = VIDEOS_CREDIT
        found, skipped = video_movements(videos, model, args.keypoint_cache, args.pose_model)
        total = Tally()
        for name in sorted(found) + sorted(skipped):
            t = Tally()
            windows = found[name].windows(spec, live_period) if name in found else []
            for tally in (t, total):
                tally.add(model, name, windows, "")
            rows.append(t.row("real", name, skipped.get(name, "")))
        rows.append(total.row("real", "all real videos", credit))
    rng = np.random.default_rng(args.seed)
    unlike: dict[str, Tally] = {}
    read: dict[Path, list[Movement]] = {}
    for path in args.mocap:
        for movement in read.setdefault(path, read_movements(path, args.clips)):
            made = unlike_windows(
                movement, spec, args.stride, args.jitter_cm / 100, args.spin_hz, rng
            )
            for kind, windows in made.items():
                unlike.setdefault(kind, Tally()).add(model, path.name, windows, "")
    rows += [t.row("unlike", kind) for kind, t in unlike.items()]
    for path in args.ordinary:
        t = Tally()
        for movement in read.get(path) or read_movements(path, args.clips):
            t.add(model, path.name, movement.windows(spec, args.stride), movement.label)
        seen = path.name in json.dumps([card.get("training_data"), card.get("recipe")])
        note = "in the model's data (its card names it)" if seen else "not on the model's card"
        rows.append(t.row("ordinary", path.name, note))
    return {
        "benchmark": "novelty",
        "model": str(args.model),
        "model_sha256": card.get("sha256"),
        "feature_set": model.feature_set,
        "window": spec.to_dict(),
        "stride_s": {"videos": round(live_period, 4), "mocap": args.stride},
        "targets": {"real_flagged_max": REAL_FLAGGED_MAX, "unlike_flagged_min": UNLIKE_FLAGGED_MIN},
        "rows": rows,
    }  # fmt: skip


# --- reporting --------------------------------------------------------------------------

SECTIONS = {
    "real": "real footage, people moving ordinarily",
    "unlike": "movement unlike anything people do",
    "ordinary": "ordinary movement of other people (sanity, no target)",
}


def target_of(row: dict[str, Any]) -> tuple[str, bool | None]:
    """The row's target as text, and whether it is met (None: no target or no windows)."""
    share, (op, limit) = row["share_flagged"], TARGETS.get(row["section"], ("", 0.0))
    if not op:
        return "", None
    met = None if share is None else (share <= limit if op == "<=" else share >= limit)
    return f"{op} {limit:.0%} flagged", met


def detail(row: dict[str, Any]) -> str:
    parts = []
    if len(row["by_source"]) > 1 and row["section"] != "real":
        parts.append(", ".join(
            f"{s} {v['flagged'] / v['windows']:.0%} of {v['windows']}" if v["windows"] else f"{s} -"
            for s, v in row["by_source"].items()
        ))  # fmt: skip
    a = row.get("accuracy")
    if a:
        shown = {k: "-" if v is None else f"{v:.2f}" for k, v in a.items()}
        parts.append(f"accuracy let through {shown['let_through']}, flagged {shown['flagged']}")
    if row["note"]:
        parts.append(row["note"])
    return "; ".join(parts)


def share_text(row: dict[str, Any]) -> str:
    return "-" if row["share_flagged"] is None else f"{row['share_flagged']:.1%}"


def report(r: dict[str, Any]) -> str:
    lines = [
        f"model {r['model']} (sha256 {str(r['model_sha256'])[:12]}), features {r['feature_set']}, "
        f"windows {r['window']['window_s']:g} s; stride {r['stride_s']['videos']:g} s (videos, "
        f"as the live app) / {r['stride_s']['mocap']:g} s (motion capture)",
        f"  {'movement':<52}{'windows':>8}{'flagged':>9}{'share':>8}  target",
    ]
    for section, title in SECTIONS.items():
        lines.append(f"{title}:")
        for row in (x for x in r["rows"] if x["section"] == section):
            target, met = target_of(row)
            mark = f"{target} ({verdict(met).strip('*').lower() or 'n/a'})" if target else ""
            lines.append(
                f"  {row['name'][:52]:<52}{row['windows']:>8}{row['flagged']:>9}"
                f"{share_text(row):>8}  {mark}"
            )
            if detail(row):
                lines.append(f"      {detail(row)}")
    return "\n".join(lines)


def rows(r: dict[str, Any]) -> list[Row]:
    """benchmarks.run_all's table rows: one per video, movement kind and dataset."""
    out: list[Row] = []
    for row in r["rows"]:
        target, met = target_of(row)
        figure = f"share flagged uncertain, {SECTIONS[row['section']]}: {row['name']}"
        spread = "; ".join(x for x in (f"n={row['windows']} windows", detail(row)) if x)
        out.append(
            (
                "novelty check",
                figure,
                share_text(row),
                spread,
                target,
                verdict(met),
            )
        )
    return out


def build_parser() -> argparse.ArgumentParser:
    from pipeline.models import DEFAULT_MODEL

    p = benchmark_parser("novelty", __doc__)
    # fmt: off
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="the emotion model file")
    p.add_argument("--videos", type=Path, nargs="+", help="real footage; default the demo videos")
    p.add_argument("--no-videos", action="store_true", help="leave real footage out")
    p.add_argument("--mocap", type=Path, nargs="*", default=list(DEFAULT_MOCAP),
                   help="skeleton datasets the unlike-anything movements are made from")
    p.add_argument("--ordinary", type=Path, nargs="*", default=list(DEFAULT_ORDINARY),
                   help="skeleton datasets of ordinary movement (sanity rows)")
    p.add_argument("--clips", type=int, help="movements per dataset (evenly chosen); default all")
    p.add_argument("--stride", type=float, default=0.5, help="seconds between mocap windows")
    p.add_argument("--jitter-cm", type=float, default=JITTER_CM, help="RMS 3D jitter")
    p.add_argument("--spin-hz", type=float, default=SPIN_HZ, help="arm turns a second")
    p.add_argument("--seed", type=int, default=0, help="seed of the jitter")
    p.add_argument("--keypoint-cache", type=Path, help="keypoint cache folder; default the user's")
    p.add_argument("--pose-model", type=Path, help="PoseLandmarker .task; default the built-in one")
    p.add_argument("--quick", action="store_true", help="12 movements per dataset")
    # fmt: on
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.quick and args.clips is None:
        args.clips = 12
    return run_benchmark(args, run, report)


if __name__ == "__main__":
    raise SystemExit(main())
