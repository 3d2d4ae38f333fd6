"""Render speed of `pipeline.render` on one core, over a real shared mocap clip.

Times, per 480x640 frame: drawing (`Renderer.render`), video encoding (OpenCV mp4v) and
both together, after warm-up frames; plus the once-per-clip scene setup. Prints median
and spread (p5, p95) in seconds per frame and writes them as JSON.

    python -m benchmarks.render_speed        # walk_happy_001, views 0 35 -35 90, 150 frames each
    python -m benchmarks.render_speed --clip PATH.bvh --frames 100 --out reports/render_speed.json

Needs the shared Bandai-Namco data (../shared from the repository) unless --clip is given.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CLIP = (
    ROOT.parent
    / "shared"
    / "data"
    / "bandai-namco-motion-1"
    / "data"
    / "dataset-1_walk_happy_001.bvh"
)


def _stats(seconds: list[float]) -> dict[str, float]:
    a = np.asarray(seconds)
    return {
        "median_s": float(np.median(a)),
        "p5_s": float(np.percentile(a, 5)),
        "p95_s": float(np.percentile(a, 95)),
        "mean_s": float(a.mean()),
        "n": int(a.size),
    }


def bench_view(motion, view: float, n_frames: int, warmup: int) -> dict[str, object]:
    import cv2

    from pipeline.camera import VirtualCamera
    from pipeline.render import Renderer, build_scene

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
            n = min(n_frames + warmup, scene.n_frames)
            for f in range(n):
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
        "setup_s": setup_s,
        "draw": _stats(draw),
        "encode": _stats(encode),
        "total": _stats(total),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--clip", type=Path, default=DEFAULT_CLIP, help="BVH clip to render")
    p.add_argument(
        "--views",
        type=float,
        nargs="+",
        default=[0.0, 35.0, -35.0, 90.0],
        help="camera yaws, degrees",
    )
    p.add_argument("--frames", type=int, default=150, help="timed frames per view")
    p.add_argument("--warmup", type=int, default=5, help="untimed frames first")
    p.add_argument("--cpu", type=int, default=0, help="pin to this CPU (-1: do not pin)")
    p.add_argument(
        "--out", type=Path, default=ROOT / "reports" / "render_speed.json", help="JSON results"
    )
    args = p.parse_args(argv)
    if not args.clip.is_file():
        print(
            f"error: BVH clip not found: {args.clip} (pass --clip, or put the shared "
            "Bandai-Namco data at ../shared)",
            file=sys.stderr,
        )
        return 2
    if args.cpu >= 0 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    import cv2

    cv2.setNumThreads(1)
    from pipeline.bvh import read_bvh
    from pipeline.render import RENDERER_VERSION

    t0 = time.perf_counter()
    motion = read_bvh(args.clip)
    read_s = time.perf_counter() - t0
    results = [bench_view(motion, v, args.frames, args.warmup) for v in args.views]
    pooled = {k: _stats([r[k]["median_s"] for r in results]) for k in ("draw", "encode", "total")}
    report = {
        "clip": args.clip.name,
        "frames_in_clip": motion.n_frames,
        "image_wh": [480, 640],
        "renderer": RENDERER_VERSION,
        "cpu_pinned": args.cpu if args.cpu >= 0 else None,
        "machine": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "read_bvh_s": read_s,
        "views": results,
        "median_over_views": pooled,
    }
    print(f"{args.clip.name}: {motion.n_frames} frames, 480x640, one core (read {read_s:.2f} s)")
    print(f"{'view':>6} {'draw med':>9} {'p5':>7} {'p95':>7} {'encode':>8} {'total':>8} {'p95':>7}")
    for r in results:
        d, e, t = r["draw"], r["encode"], r["total"]
        print(
            f"{r['view_deg']:>6g} {d['median_s']:>9.4f} {d['p5_s']:>7.4f} {d['p95_s']:>7.4f} "
            f"{e['median_s']:>8.4f} {t['median_s']:>8.4f} {t['p95_s']:>7.4f}"
        )
    print(
        f"s/frame (median of views): draw {pooled['draw']['median_s']:.4f}, "
        f"encode {pooled['encode']['median_s']:.4f}, total {pooled['total']['median_s']:.4f}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
