"""Render speed of `offline.render` on one core, over a real shared mocap clip.

Times, per frame: drawing (`Renderer.render`), video encoding (OpenCV mp4v) and both
together, after warm-up frames; plus the once-per-clip scene setup. Prints median and
spread (p5, p95) in seconds per frame and, with --out, writes them as JSON.

    python -m benchmarks.render_speed        # walk_happy_001, views 0 35 -35 90, 150 frames each
    python -m benchmarks.render_speed --clip PATH.bvh --frames 100 --out reports/render_speed.json

Needs the shared Bandai-Namco data (../shared from the repository) unless --clip is given.
Not part of run_all: rendering happens once per dataset, not per training run.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import SHARED_MOCAP, benchmark_parser, run_benchmark, summarise
from offline.render import DEFAULT_VIEWS

DEFAULT_CLIP = SHARED_MOCAP / "data" / "dataset-1_walk_happy_001.bvh"
PARTS = ("draw", "encode", "total")


def bench_view(motion: Any, view: float, n_frames: int, warmup: int) -> dict[str, Any]:
    """Seconds per frame to draw and to encode `motion` seen from yaw `view` degrees."""
    import cv2

    from offline.mocap.virtual_camera import VirtualCamera
    from offline.render.raycast import Renderer
    from offline.render.scene import build_scene

    camera = VirtualCamera(yaw_deg=view)
    t0 = time.perf_counter()
    scene = build_scene(motion, camera)
    renderer = Renderer(camera)
    renderer.background(scene.poses, 0)
    setup_s = time.perf_counter() - t0
    draw, encode = [], []
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "bench.mp4")
        fourcc = cv2.VideoWriter_fourcc(*"mp4v")
        writer = cv2.VideoWriter(path, fourcc, 30.0, (camera.width, camera.height))
        try:
            for f in range(min(n_frames + warmup, scene.n_frames)):
                t1 = time.perf_counter()
                image = renderer.render(scene, f).image
                t2 = time.perf_counter()
                writer.write(image)
                t3 = time.perf_counter()
                if f >= warmup:
                    draw.append(t2 - t1)
                    encode.append(t3 - t2)
        finally:
            writer.release()
    total = [a + b for a, b in zip(draw, encode, strict=True)]
    return {
        "view_deg": view,
        "setup_s": round(setup_s, 4),
        **{k: summarise(v, 5) for k, v in zip(PARTS, (draw, encode, total), strict=True)},
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    if not args.clip.is_file():
        raise FileNotFoundError(
            f"BVH clip not found: {args.clip} (pass --clip, or put the shared "
            "Bandai-Namco data at ../shared)"
        )
    if args.frames < 1 or args.warmup < 0:
        raise ValueError(f"need --frames >= 1 and --warmup >= 0, got {args.frames}, {args.warmup}")
    if args.cpu >= 0 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    import cv2

    cv2.setNumThreads(1)
    from offline.mocap.bvh import read_bvh
    from offline.mocap.virtual_camera import VirtualCamera
    from offline.render import RENDERER_VERSION

    t0 = time.perf_counter()
    motion = read_bvh(args.clip)
    read_s = time.perf_counter() - t0
    views = [bench_view(motion, v, args.frames, args.warmup) for v in args.views]
    camera = VirtualCamera()
    return {
        "clip": args.clip.name,
        "frames_in_clip": motion.n_frames,
        "image_wh": [camera.width, camera.height],
        "renderer": RENDERER_VERSION,
        "cpu_pinned": args.cpu if args.cpu >= 0 else None,
        "read_bvh_s": round(read_s, 4),
        "unit": "seconds per frame",
        "views": views,
        "median_over_views": {k: summarise([v[k]["median"] for v in views], 5) for k in PARTS},
    }


def report(r: dict[str, Any]) -> str:
    w, h = r["image_wh"]
    lines = [
        f"{r['clip']}: {r['frames_in_clip']} frames, {w}x{h}, one core "
        f"(read {r['read_bvh_s']:.2f} s); seconds per frame:",
        f"{'view':>6} {'draw med':>9} {'p5':>7} {'p95':>7} {'encode':>8} {'total':>8} {'p95':>7}",
    ]
    for v in r["views"]:
        d, e, t = v["draw"], v["encode"], v["total"]
        lines.append(
            f"{v['view_deg']:>6g} {d['median']:>9.4f} {d['p5']:>7.4f} {d['p95']:>7.4f} "
            f"{e['median']:>8.4f} {t['median']:>8.4f} {t['p95']:>7.4f}"
        )
    pooled = r["median_over_views"]
    lines.append(
        f"s/frame (median of views): draw {pooled['draw']['median']:.4f}, "
        f"encode {pooled['encode']['median']:.4f}, total {pooled['total']['median']:.4f}"
    )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = benchmark_parser("render_speed", __doc__)
    p.add_argument("--clip", type=Path, default=DEFAULT_CLIP, help="BVH clip to render")
    p.add_argument(
        "--views",
        type=float,
        nargs="+",
        default=list(DEFAULT_VIEWS),
        help="camera yaws, degrees",
    )
    p.add_argument("--frames", type=int, default=150, help="timed frames per view")
    p.add_argument("--warmup", type=int, default=5, help="untimed frames first")
    p.add_argument("--cpu", type=int, default=0, help="pin to this CPU (-1: do not pin)")
    return p


def main(argv: list[str] | None = None) -> int:
    return run_benchmark(build_parser().parse_args(argv), run, report)


if __name__ == "__main__":
    raise SystemExit(main())
