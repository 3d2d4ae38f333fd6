"""Train, evaluate and compare PosEmotion models offline.

    python train.py                       # the shipped model from ../shared motion capture
    python train.py train --data DIR ...  # any dataset: mocap, EiLA layout or labelled videos
    python train.py evaluate MODEL --data DIR [--json]
    python train.py compare --features-grid motion image seed --window-grid 1 1.5

A thin command line over `offline.training`: options -> Recipe (what decides the model) and
Resources (where the work runs) -> train / evaluate / compare; every default is stated there.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import fields, replace
from pathlib import Path

from offline.entry import interrupt_at_startup, prepare_compare_outputs, prepare_train_outputs

with interrupt_at_startup():  # Ctrl-C while numpy, OpenCV, sklearn load: one line, 130
    from offline.cluster import check_address
    from offline.console import our_lines_only, progress_bars
    from offline.datasets.registry import KINDS
    from offline.training import experiment, report
    from offline.training.classifiers import BALANCING, MODEL_FACTORIES
    from offline.training.evaluation import TrainSettings
    from offline.training.recipe import SHARED_MOCAP, Recipe, Resources
    from pipeline.features import FEATURE_SETS
    from pipeline.io import error_line, write_text_atomic
    from pipeline.models import DEFAULT_MODEL
    from pipeline.pose import PoseSettings
    from pipeline.validate import ArgumentParser, number
    from pipeline.window import WindowSpec

R, T, W, G, RES = Recipe(), TrainSettings(), WindowSpec(), experiment.Grid(), Resources()
OUT = experiment.TrainOutputs(out=DEFAULT_MODEL)
POS, INT0, INT1 = number(above=0), number(int, at_least=0), number(int, at_least=1)
POSE_OPTIONS = [f.name for f in fields(PoseSettings) if f.name != "num_poses"]


def recipe_from(args: argparse.Namespace) -> Recipe:
    pose = PoseSettings(**{name: getattr(args, f"pose_{name}") for name in POSE_OPTIONS})
    return Recipe(
        data=tuple(args.data or ()), kind=args.kind,
        labels=tuple(args.labels) if args.labels else None,
        feature_set=getattr(args, "features", R.feature_set),
        window=replace(W, window_s=getattr(args, "window_s", W.window_s),
                       n_frames=getattr(args, "frames", W.n_frames)),
        stride_s=args.stride_s,
        train=TrainSettings(model=getattr(args, "model", T.model),
                            balance=getattr(args, "balance", T.balance),
                            seed=getattr(args, "seed", T.seed),
                            projection=getattr(args, "projection", T.projection)),
        mirror=getattr(args, "mirror", R.mirror),
        views_deg=tuple(args.views) if args.views else None,
        image_jitter=getattr(args, "image_jitter", R.image_jitter),
        world_jitter_m=getattr(args, "world_jitter", R.world_jitter_m),
        group=getattr(args, "group", None),
        render_views_deg=() if getattr(args, "no_render", True) else tuple(args.render_views),
        pose=pose,
        auxiliary=tuple(args.aux_data) if getattr(args, "aux_data", None) else None,
        other_styles=getattr(args, "other_styles", R.other_styles),
        single_label_contents=getattr(args, "single_label_contents", R.single_label_contents),
        joint_map=args.joint_map, unit_m=args.unit_m,
    )  # fmt: skip


def resources_from(args: argparse.Namespace) -> Resources:
    return Resources(
        cache_dir=Path(args.cache_dir) if args.cache_dir else None,
        pose_model=Path(args.pose_model) if args.pose_model else None,
        render_dir=Path(getattr(args, "render_dir", RES.render_dir)),
        jobs=args.jobs,
        cluster=args.cluster,
        progress=None if args.no_progress else progress_bars(),
        notify=print, trust_pickle=getattr(args, "trust_pickle", False),
    )  # fmt: skip


def cmd_train(args: argparse.Namespace) -> int:
    outputs = experiment.TrainOutputs(
        out=Path(args.out), report_dir=Path(args.report_dir) if args.report_dir else None,
        test_data=tuple(args.test_data or ()), repeats=args.repeats,
        cluster_samples=args.cluster_samples, quick=args.quick,
    )  # fmt: skip
    prepare_train_outputs(recipe_from(args), outputs)  # after recovering a cut save
    run = experiment.train(recipe_from(args), resources_from(args), outputs)
    print(report.scores_table(run.rows))
    if run.video_eval and run.video_eval.per_view:
        print(report.per_view_table(run.video_eval.per_view))
    print(
        f"model: {run.model_path} (card {run.card_path.name}); report: "
        f"{run.report_dir / 'report.md'}; {run.results['timing_s']['total']:.1f} s"
    )
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    res = replace(resources_from(args), notify=lambda line: None)
    result, scores = experiment.evaluate(Path(args.model), recipe_from(args), res)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print("\n".join(result["notes"]))
    print(report.scores_table([(Path(args.model).name, scores),
                               ("chance", result["chance_baseline"])]))  # fmt: skip
    print(report.per_class_table(scores), report.confusion_table(scores), sep="\n")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    grid = experiment.Grid(tuple(args.features_grid), tuple(args.window_grid),
                           tuple(args.model_grid), args.rate)  # fmt: skip
    prepare_compare_outputs(recipe_from(args), args.test_data, args.out_md)
    res = resources_from(args)
    lines = experiment.compare(recipe_from(args), grid, res, tuple(args.test_data or ()))
    if args.out_md:
        write_text_atomic(args.out_md, "\n".join([*experiment.COMPARE_HEADER, *lines]) + "\n")
    return 0


# fmt: off
def _data_args(p: argparse.ArgumentParser, required: bool = False) -> None:
    add = p.add_argument
    add("--data", action="append", required=required, metavar="DIR",
        help="dataset folder (repeatable): Bandai-Namco-layout motion capture, EiLA layout "
        f"(annotations/annotations.csv + videos/) or videos/<label>/*.mp4. Default: {SHARED_MOCAP}")
    add("--kind", default=R.kind, choices=["auto", *KINDS], help="dataset kind")
    add("--labels", nargs="+", metavar="LABEL", help="labels to use (mocap style names or "
        "emotions); default: happy sad angry normal for mocap, all for videos")
    add("--views", nargs="+", type=number(), metavar="DEG", help="virtual camera yaws for mocap "
        "(degrees; default 0 for 3D features, -90 -60 -35 0 35 60 90 for image features)")
    add("--stride-s", type=POS, default=R.stride_s, help="seconds between window ends")
    add("--jobs", type=INT1, default=RES.jobs, help="parallel jobs (pose, renders, study protocol)")
    add("--cluster", type=check_address, metavar="local|ADDRESS", help="run extraction, renders "
        "and fits on Dask: 'local' starts --jobs workers here, ADDRESS joins a running scheduler")
    add("--cache-dir", help="keypoint cache folder (default: the user cache folder)")
    add("--pose-model", help="PoseLandmarker .task for video datasets (default: built-in)")
    add("--no-progress", action="store_true", help="no progress bars")
    add("--joint-map", help="JSON body map for BVH files with another skeleton (README)")
    add("--unit-m", type=POS, default=R.unit_m, help="metres per BVH unit")
    pose = PoseSettings()
    for name in POSE_OPTIONS:  # recorded on the model card; the live app follows them
        add(f"--pose-{name.replace('_', '-')}", type=type(getattr(pose, name)),
            default=getattr(pose, name), help=f"PoseLandmarker setting {name} (PoseSettings)")


def _recipe_args(p: argparse.ArgumentParser) -> None:
    add = p.add_argument
    add("--features", default=R.feature_set, choices=sorted(FEATURE_SETS), help="feature set")
    add("--window-s", type=POS, default=W.window_s, help="movement window, seconds")
    add("--frames", type=number(int, at_least=2, at_most=999), default=W.n_frames,
        help="frames per window after resampling (T)")
    add("--model", default=T.model, choices=sorted(MODEL_FACTORIES),
        help="classifier: et (extra trees), rf (random forest), svm, mlp")
    add("--balance", default=T.balance, choices=BALANCING, help="class balancing on training "
        "folds: sample weights (classes equal; then people, contents or clips), SMOTE, ...")
    add("--mirror", action=argparse.BooleanOptionalAction, default=R.mirror,
        help="add left-right mirrored copies to training folds")
    add("--image-jitter", type=number(at_least=0, at_most=1), default=R.image_jitter,
        help="per-frame noise on projected mocap joints, fraction of body height")
    add("--world-jitter", type=number(at_least=0), default=R.world_jitter_m,
        help="per-frame noise on mocap joints, metres")
    add("--group", help="group key held out by the evaluation (default: person when every "
        "class has two people, else action family for mocap, video for EiLA/folders)")
    add("--seed", type=INT0, default=T.seed, help="random seed")
    add("--projection", type=int, default=T.projection, help="action (content) directions "
        "removed from the features before the classifier (0: plain scaling)")
    add("--aux-data", action="append", metavar="DIR", help="motion capture (any styles) that "
        "teaches the projection what actions look like; default: the shared style dataset")
    add("--other-styles", action=argparse.BooleanOptionalAction, default=R.other_styles,
        help="the training data's non-label styles are auxiliary data too")
    add("--single-label-contents", action=argparse.BooleanOptionalAction,
        default=R.single_label_contents, help="train on actions seen with one label only")
    add("--test-data", action="append", metavar="DIR", help="also evaluate on this dataset with "
        "the same held-out groups (default: the rendered motion capture, i.e. the video path)")
    add("--render-views", nargs="+", type=number(), default=list(R.render_views_deg), metavar="DEG",
        help="render mocap clips as video at these camera yaws and train and evaluate on "
        "PoseLandmarker's output of them too (the video path)")
    add("--no-render", action="store_true", help="train on motion-capture skeletons only")
    add("--render-dir", default=str(RES.render_dir), help="where rendered videos are kept")


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.ArgumentDefaultsHelpFormatter
    parser = ArgumentParser(
        prog="train.py", formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__.split("\n\n", 1)[0],
        epilog="examples:\n"
        "  python train.py                                  # ships models/emotion.skops\n"
        "  python train.py train --data my_videos --labels Happy Sad Neutral --out my.skops\n"
        "  python train.py evaluate models/emotion.skops --data my_videos --json\n"
        "  python train.py compare --features-grid motion image --window-grid 1 1.5\n")
    sub = parser.add_subparsers(dest="command", metavar="{train,evaluate,compare}")
    tr = sub.add_parser("train", formatter_class=fmt, help="train, score, save (default)")
    _data_args(tr)
    _recipe_args(tr)
    add = tr.add_argument
    add("--out", default=str(OUT.out), help="model file to write (+ .card.json)")
    add("--report-dir", help="report folder (default: beside the model, <model>_report/)")
    add("--repeats", type=INT0, default=OUT.repeats, help="study protocol splits (0: skip)")
    add("--cluster-samples", type=INT1, default=OUT.cluster_samples, help="windows for clustering")
    add("--quick", action="store_true",
        help="grouped evaluation and model only (no seed comparison, study protocol, clustering)")
    tr.set_defaults(func=cmd_train)
    ev = sub.add_parser("evaluate", formatter_class=fmt, help="score a model file on a dataset")
    ev.add_argument("model", help="model file (.skops with its .card.json)")
    ev.add_argument("--trust-pickle", action="store_true", help="read an old pickle model too")
    _data_args(ev, required=True)
    ev.add_argument("--json", action="store_true", help="print the metrics as JSON")
    ev.set_defaults(func=cmd_evaluate)
    cmp_ = sub.add_parser("compare", formatter_class=fmt, help="grouped CV over a grid of settings")
    _data_args(cmp_)
    _recipe_args(cmp_)
    add = cmp_.add_argument
    add("--features-grid", nargs="+", default=list(G.feature_sets), choices=sorted(FEATURE_SETS))
    add("--window-grid", nargs="+", type=POS, default=list(G.windows_s), help="windows, s")
    add("--rate", type=POS, default=G.rate, help="resampled frames per second (T = s * rate)")
    add("--model-grid", nargs="+", default=list(G.models), choices=sorted(MODEL_FACTORIES))
    add("--out-md", help="also write the table to this Markdown file")
    cmp_.set_defaults(func=cmd_compare)
    return parser
# fmt: on


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["train", *argv]  # `python train.py [options]` trains
    try:
        args = build_parser().parse_args(argv)
        os.environ.setdefault("GLOG_minloglevel", "2")
        if getattr(args, "trust_pickle", False):
            print("warning: --trust-pickle: a pickle model may run code on load", file=sys.stderr)
        with our_lines_only():  # warnings shown; mediapipe's lines muted: errors are one line
            return int(args.func(args))
    except (ValueError, RuntimeError, OSError) as e:  # one line naming the path, never a traceback
        print(f"error: {error_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing half-written was left in place of a good file", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
