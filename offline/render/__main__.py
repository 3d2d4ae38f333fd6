"""Command line: render BVH motion capture as video of a mannequin.

    python -m offline.render CLIP.bvh OUT.mp4 --view 35
    python -m offline.render --dataset DATA_DIR --out OUT --views 0 35 -35 90 --jobs 2

One clip becomes one .mp4; `--dataset` renders a labelled library in the Bandai-Namco
layout into `<out>/videos/<Label>/<clip>_view<deg>.mp4` with JSON sidecars
(`offline.render.dataset`). A non-Bandai skeleton needs `--joint-map map.json`
(`offline.mocap.body.BodyMap.from_json`). Bad input gives one line on stderr and exit 2;
progress bars go to stderr (`offline.console.progress_bars`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from offline.entry import interrupt_at_startup

with interrupt_at_startup():  # Ctrl-C while numpy and OpenCV load: one line, exit 130
    from offline import cluster
    from offline.cluster import check_address
    from offline.console import progress_bars
    from offline.datasets.mocap import DEFAULT_STYLES, dataset_body
    from offline.datasets.mocap_table import table_of
    from offline.keypoints.report import shorten
    from offline.labels import STYLE_LABELS
    from offline.mocap.body import BANDAI, BodyMap
    from offline.mocap.bvh import DEFAULT_UNIT_M
    from offline.mocap.virtual_camera import VirtualCamera
    from offline.render.clip import render_bvh
    from offline.render.dataset import DEFAULT_VIEWS, check_view, plan_dataset, render_jobs
    from pipeline.io import check_outputs, check_regular_file, error_line, prepare_outputs
    from pipeline.validate import ArgumentParser, number


class _UsageError(Exception):
    """A command-line error argparse found (reported in one line by `main`)."""


class _Parser(ArgumentParser):  # with OPTION_LIMITS; errors raised, not printed
    def error(self, message: str) -> Any:  # argparse would print usage and exit
        raise _UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="python -m offline.render",
        description="Render BVH motion capture as video of a mannequin (one clip, or a "
        "labelled BVH dataset into a folder of labelled videos).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("bvh", nargs="?", type=Path, help="one BVH clip to render")
    p.add_argument("video", nargs="?", type=Path, help="the .mp4 to write for that clip")
    p.add_argument(
        "--view",
        type=number(),
        default=0.0,
        help="camera yaw around the subject from their mean facing, degrees "
        "(0 front, 90 their left, -90 their right)",
    )
    p.add_argument(
        "--distance", type=number(), default=3.0, help="camera distance from the hips, m"
    )
    p.add_argument(
        "--dataset",
        type=Path,
        help="render a labelled dataset (Bandai-Namco layout: data/*.bvh + "
        "data/*.json, cfg/*_label.txt) instead of one clip",
    )
    p.add_argument("--out", type=Path, help="dataset output folder (videos/<Label>/*.mp4)")
    p.add_argument(
        "--views",
        type=number(),
        nargs="+",
        default=list(DEFAULT_VIEWS),
        help="dataset camera yaws, degrees",
    )
    p.add_argument(
        "--styles",
        nargs="+",
        default=list(DEFAULT_STYLES),
        choices=list(STYLE_LABELS),
        help="dataset styles to render",
    )
    p.add_argument(
        "--jobs", type=number(int, at_least=1), default=1, help="dataset clips rendered in parallel"
    )
    p.add_argument(
        "--cluster",
        type=check_address,
        metavar="local|ADDRESS",
        help="render --dataset clips as Dask tasks: 'local' starts --jobs workers here, "
        "ADDRESS joins a running scheduler (--out shared with its workers)",
    )
    p.add_argument(
        "--max-frames",
        type=number(int, at_least=1),
        default=None,
        help="render only the first N frames of each clip (None: all)",
    )
    p.add_argument(
        "--joint-map",
        type=Path,
        default=None,
        help="JSON of body role -> joint name for a non-Bandai skeleton",
    )
    p.add_argument(
        "--unit-m",
        type=number(above=0),
        default=DEFAULT_UNIT_M,
        help="metres per BVH unit (0.01 for centimetres)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the exit code (2 on bad input, with one line on stderr;
    130 on Ctrl-C, with one line, after removing what was half-written)."""
    try:
        args = build_parser().parse_args(argv)
        return _run(args)
    except _UsageError as e:
        print(f"error: {e} (see python -m offline.render --help)", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError, RuntimeError, OSError) as e:
        print(f"error: {error_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # videos are written under temporary names: none half-written
        print(
            "\ninterrupted: the videos finished so far are kept, none half-written; run the "
            "same command again to render the rest",
            file=sys.stderr,
        )
        return 130


def _run(args: argparse.Namespace) -> int:
    if args.max_frames is not None and args.max_frames < 1:
        raise ValueError(f"--max-frames must be >= 1, got {args.max_frames}")
    if args.jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {args.jobs}")
    if args.dataset is not None:  # --joint-map, else the dataset's own joint_map.json
        body = dataset_body(args.dataset, args.joint_map)
    else:
        body = BANDAI if args.joint_map is None else BodyMap.from_json(args.joint_map)
    camera = VirtualCamera(yaw_deg=check_view(args.view), distance_m=args.distance)
    progress = progress_bars(not args.no_progress)
    if args.dataset is None:
        if args.bvh is None or args.video is None:
            raise _UsageError("give a BVH clip and an output .mp4, or --dataset DIR --out DIR")
        check_regular_file(args.bvh, "BVH file")  # a folder or FIFO is named, never opened
        if args.video.suffix.lower() != ".mp4":
            raise ValueError(f"output video must end in .mp4, got {args.video.name}")
        inputs = {"BVH clip": args.bvh, "--joint-map": args.joint_map}
        prepare_outputs(inputs, {"output video": args.video})  # before any rendering
        n = render_bvh(
            args.bvh,
            args.video,
            camera,
            body=body,
            unit_m=args.unit_m,
            max_frames=args.max_frames,
            progress=progress,
        )
        print(f"wrote {args.video} ({n} frames, view {args.view:g} deg)")
        return 0
    if args.bvh is not None or args.out is None:
        raise _UsageError("--dataset takes --out DIR and no positional BVH/video")
    _check_dataset_folder(args.dataset)
    inputs = {"--dataset": args.dataset, "--joint-map": args.joint_map}
    prepare_outputs(inputs, {}, {"--out": args.out})
    jobs = plan_dataset(
        args.dataset, args.out, args.views, args.styles, camera=camera, max_frames=args.max_frames
    )
    for job in jobs:  # an input inside --out (a clip, the joint map) is never written over
        check_outputs(inputs, {"--out video": job.video, "--out sidecar": job.sidecar_path})
    todo = [j for j in jobs if not j.is_done()]
    print(
        f"{len(jobs)} videos, {len(jobs) - len(todo)} already rendered, {len(todo)} to render "
        f"({sum(j.n_frames for j in todo)} frames) -> {args.out / 'videos'}"
    )
    skipped: dict[str, str] = {}
    with cluster.session(args.jobs, args.cluster):
        render_jobs(todo, body, n_jobs=args.jobs, progress=progress, skipped=skipped)
    if skipped:
        items = [f"{k} ({v})" for k, v in skipped.items()]
        print(f"warning: {len(skipped)} videos not rendered: {shorten(items)}", file=sys.stderr)
    print(f"done: {len(jobs) - len(skipped)} videos in {args.out / 'videos'}")
    return 0


def _check_dataset_folder(root: Path) -> None:
    """Say what --dataset needs when the Bandai-Namco layout's folder or label lists are
    missing (the clips themselves are read by `plan_dataset`); a labels.csv table needs
    only data/."""
    needs = [root / "data"]
    if table_of(root) is None:
        needs += [root / "cfg" / "content_label.txt", root / "cfg" / "style_label.txt"]
    for p in needs:
        if not p.exists():
            raise FileNotFoundError(
                f"{p} not found: --dataset must be a folder with data/*.bvh, data/*.json "
                "and cfg/{content,style}_label.txt (the Bandai-Namco layout), or data/*.bvh "
                "with labels.csv (offline/datasets/mocap_table.py)"
            )


if __name__ == "__main__":
    raise SystemExit(main())
