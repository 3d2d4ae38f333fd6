"""Tests for offline/datasets/mocap.py on tiny Bandai-Namco-layout folders written here.

`write_mocap_folder` builds `data/*.bvh` + `.json` and `cfg/*_label.txt` like the shared
data: a 13-joint-capable BVH skeleton (the Bandai joint names `offline.mocap.body` reads)
whose arm swing, walking speed and posture depend on the clip's content and style. The
training CLI and registry tests import it from here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest

from offline.datasets.mocap import (
    DEFAULT_STYLES,
    STYLE_LABELS,
    MocapOptions,
    list_clips,
    read_mocap,
)
from offline.datasets.movement import Movement
from offline.datasets.performers import performer_of
from offline.mocap.body import BANDAI, BodyMap, from_bvh
from offline.mocap.bvh import read_bvh
from offline.mocap.virtual_camera import VirtualCamera
from pipeline import skeleton as sk

CONTENTS = ("walk", "wave", "bow")
STYLES = ("normal", "happy", "sad", "angry", "proud")

# (name, parent, offset in cm, has rotation channels); the root also has positions.
_JOINTS = (
    ("Hips", None, (0, 0, 0)),
    ("Spine", "Hips", (0, 10, 0)),
    ("Chest", "Spine", (0, 20, 0)),
    ("Neck", "Chest", (0, 20, 0)),
    ("Head", "Neck", (0, 10, 0)),
    ("Shoulder_L", "Chest", (5, 15, 0)),
    ("UpperArm_L", "Shoulder_L", (12, 0, 0)),
    ("LowerArm_L", "UpperArm_L", (0, -28, 0)),
    ("Hand_L", "LowerArm_L", (0, -25, 0)),
    ("Shoulder_R", "Chest", (-5, 15, 0)),
    ("UpperArm_R", "Shoulder_R", (-12, 0, 0)),
    ("LowerArm_R", "UpperArm_R", (0, -28, 0)),
    ("Hand_R", "LowerArm_R", (0, -25, 0)),
    ("UpperLeg_L", "Hips", (9, 0, 0)),
    ("LowerLeg_L", "UpperLeg_L", (0, -42, 0)),
    ("Foot_L", "LowerLeg_L", (0, -42, 0)),
    ("UpperLeg_R", "Hips", (-9, 0, 0)),
    ("LowerLeg_R", "UpperLeg_R", (0, -42, 0)),
    ("Foot_R", "LowerLeg_R", (0, -42, 0)),
)
_LEAVES = {"Head", "Hand_L", "Hand_R", "Foot_L", "Foot_R"}
# Style -> (arm swing amplitude deg, swing frequency Hz, chest pitch deg)
_STYLE_MOTION = {
    "normal": (20, 0.8, 0),
    "happy": (55, 1.4, -5),
    "sad": (8, 0.5, 25),
    "angry": (40, 2.0, 10),
    "proud": (15, 0.7, -15),
}


def _hierarchy() -> str:
    children: dict[str | None, list[tuple[str, tuple[int, int, int]]]] = {}
    for name, parent, offset in _JOINTS:
        children.setdefault(parent, []).append((name, offset))

    def block(name: str, offset: tuple[int, int, int], depth: int, root: bool) -> list[str]:
        pad = "  " * depth
        channels = (
            "CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation"
            if root
            else "CHANNELS 3 Zrotation Xrotation Yrotation"
        )
        lines = [
            f"{pad}{'ROOT' if root else 'JOINT'} {name}",
            f"{pad}{{",
            f"{pad}  OFFSET {offset[0]} {offset[1]} {offset[2]}",
            f"{pad}  {channels}",
        ]
        for child, child_offset in children.get(name, []):
            lines += block(child, child_offset, depth + 1, False)
        if name in _LEAVES:
            lines += [f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET 0 5 0", f"{pad}  }}"]
        return lines + [f"{pad}}}"]

    return "\n".join(["HIERARCHY", *block("Hips", (0, 0, 0), 0, True)]) + "\n"


def bvh_text(content: str, style: str, n_frames: int = 75, fps: float = 30.0, seed: int = 0) -> str:
    """A BVH clip (centimetres, degrees) of `content` performed in `style`."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames) / fps
    amp, freq, pitch = _STYLE_MOTION.get(style, (20, 1.0, 0))
    amp = amp * rng.uniform(0.9, 1.1)
    swing = amp * np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi))
    speed = {"walk": 100.0, "wave": 0.0, "bow": 0.0}.get(content, 20.0)  # cm/s
    values = {name: np.zeros((n_frames, 3)) for name, _, _ in _JOINTS}  # z, x, y rotations
    root_pos = np.stack(
        [rng.normal(0, 0.3, n_frames), 95 + 2 * np.sin(4 * np.pi * freq * t), speed * t], axis=1
    )
    values["Chest"][:, 1] = pitch + (
        30 * np.clip(np.sin(np.pi * t / t[-1]), 0, 1) if content == "bow" else 0
    )
    values["UpperArm_L"][:, 1] = swing
    values["UpperArm_R"][:, 1] = -swing
    values["LowerArm_L"][:, 1] = -abs(swing) / 2
    values["LowerArm_R"][:, 1] = -abs(swing) / 2
    if content == "wave":
        values["UpperArm_R"][:, 0] = -120 - swing / 2  # raise the right arm sideways
    leg = (0.6 if content == "walk" else 0.1) * swing
    values["UpperLeg_L"][:, 1] = -leg
    values["UpperLeg_R"][:, 1] = leg
    rows = []
    for f in range(n_frames):
        row = [*root_pos[f], 0.0, 0.0, 0.0]
        for name, parent, _ in _JOINTS:
            if parent is not None:
                row += list(values[name][f])
        rows.append(" ".join(f"{v:.4f}" for v in row))
    motion = f"MOTION\nFrames: {n_frames}\nFrame Time: {1 / fps:.7f}\n" + "\n".join(rows) + "\n"
    return _hierarchy() + motion


def write_mocap_folder(
    root: Path,
    clips: Iterable[tuple[str, str]] | None = None,
    *,
    contents: tuple[str, ...] = CONTENTS,
    styles: tuple[str, ...] = STYLES,
    n_frames: int = 75,
    fps: float = 30.0,
) -> Path:
    """A Bandai-Namco-layout folder with one clip per (content, style) (default: all pairs)."""
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    (root / "cfg").mkdir(exist_ok=True)
    (root / "cfg" / "content_label.txt").write_text("".join(f"dataset-1_{c}\n" for c in contents))
    (root / "cfg" / "style_label.txt").write_text("".join(f"dataset-1_{s}\n" for s in styles))
    pairs = list(clips) if clips is not None else [(c, s) for c in contents for s in styles]
    for k, (content, style) in enumerate(pairs):
        stem = f"dataset-1_{content}_{style}_001"
        (data / f"{stem}.bvh").write_text(bvh_text(content, style, n_frames, fps, seed=k))
        meta = {"content": contents.index(content), "style": styles.index(style)}
        (data / f"{stem}.json").write_text(json.dumps(meta))
    return root


@pytest.fixture
def mocap_root(tmp_path: Path) -> Path:
    return write_mocap_folder(tmp_path / "mocap")


# --- list_clips ---------------------------------------------------------------------------


def test_list_clips_reads_labels_from_the_cfg_files(mocap_root: Path) -> None:
    clips = list_clips(mocap_root)
    assert len(clips) == len(CONTENTS) * len(STYLES)
    assert [c.path.name for c in clips] == sorted(c.path.name for c in clips)
    for clip in clips:
        _, content, style, _ = clip.path.stem.split("_")  # dataset-1_<content>_<style>_001
        assert (clip.content, clip.style) == (content, style)


def test_labels_come_from_the_json_indices_not_the_file_name(mocap_root: Path) -> None:
    bvh = mocap_root / "data" / "dataset-1_walk_happy_001.bvh"
    bvh.with_suffix(".json").write_text(json.dumps({"content": 2, "style": 2}))
    clip = next(c for c in list_clips(mocap_root) if c.path == bvh)
    assert (clip.content, clip.style) == ("bow", "sad")


def test_list_clips_filters_styles(mocap_root: Path) -> None:
    clips = list_clips(mocap_root, ["sad", "angry"])
    assert {c.style for c in clips} == {"sad", "angry"}
    assert len(clips) == 2 * len(CONTENTS)


def test_unknown_style_lists_the_valid_ones(mocap_root: Path) -> None:
    valid = str(sorted(STYLES)).replace("[", r"\[").replace("]", r"\]")
    with pytest.raises(ValueError, match=rf"unknown style\(s\) \['bogus'\]; .* has {valid}"):
        list_clips(mocap_root, ["happy", "bogus"])


def test_missing_json_is_named(mocap_root: Path) -> None:
    (mocap_root / "data" / "dataset-1_wave_sad_001.json").unlink()
    with pytest.raises(
        FileNotFoundError,
        match=r"dataset-1_wave_sad_001.bvh has no label file "
        r"dataset-1_wave_sad_001.json",
    ):
        list_clips(mocap_root)


@pytest.mark.parametrize(
    "meta", ['{"content": 9, "style": 0}', '{"content": 0}', "not json", '["content", "style"]']
)
def test_bad_label_file_is_named(mocap_root: Path, meta: str) -> None:
    path = mocap_root / "data" / "dataset-1_bow_proud_001.json"
    path.write_text(meta)
    with pytest.raises(ValueError, match=r"dataset-1_bow_proud_001.json: bad label file"):
        list_clips(mocap_root)


def test_missing_data_or_cfg_folder(tmp_path: Path, mocap_root: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no data/ folder in .*nowhere"):
        list_clips(tmp_path / "nowhere")
    (mocap_root / "cfg" / "style_label.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"label file not found: .*style_label.txt"):
        list_clips(mocap_root)


# --- read_mocap ---------------------------------------------------------------------------


def test_one_sequence_per_clip_and_view(mocap_root: Path) -> None:
    views = (-60.0, 0.0, 90.0)
    seqs = read_mocap(mocap_root, MocapOptions(views_deg=views))
    n_clips = len(CONTENTS) * len(DEFAULT_STYLES)  # "proud" is not read by default
    assert len(seqs) == n_clips * len(views)
    names = [s.name for s in seqs]
    assert len(set(names)) == len(names)
    seq = next(s for s in seqs if s.name == "dataset-1_walk_sad_001@-60")
    person = performer_of(seq_clip := mocap_root / "data" / "dataset-1_walk_sad_001.bvh")
    assert seq_clip.is_file() and person.startswith("skeleton-")
    assert seq.groups == {
        "content": "walk", "clip": "dataset-1_walk_sad_001", "view_deg": "-60", "person": person
    }  # fmt: skip
    assert seq.source == "mocap" and seq.label == "Sad"
    same = [s for s in seqs if s.groups["clip"] == "dataset-1_walk_sad_001"]
    assert [s.groups["view_deg"] for s in same] == ["-60", "0", "90"]
    assert {s.groups["content"] for s in same} == {"walk"}  # held out together


def test_labels_are_mapped_to_canonical_names(mocap_root: Path) -> None:
    seqs = read_mocap(mocap_root, MocapOptions(styles=STYLES))
    by_style = {s.groups["clip"].split("_")[2]: s.label for s in seqs}
    assert by_style == {
        "happy": "Happy",
        "angry": "Anger",
        "normal": "Neutral",
        "sad": "Sad",
        "proud": "Proud",
    }
    assert STYLE_LABELS == {"happy": "Happy", "sad": "Sad", "angry": "Anger", "normal": "Neutral"}


def test_skeleton_and_image_points_come_from_the_bvh_and_the_virtual_camera(
    mocap_root: Path,
) -> None:
    path = mocap_root / "data" / "dataset-1_walk_happy_001.bvh"
    motion = read_bvh(path)
    world = from_bvh(motion)
    options = MocapOptions(styles=("happy",), views_deg=(0.0, 90.0), distance_m=4.0)
    seqs = [s for s in read_mocap(mocap_root, options) if s.groups["content"] == "walk"]
    assert [s.groups["view_deg"] for s in seqs] == ["0", "90"]
    for seq, yaw in zip(seqs, (0.0, 90.0), strict=True):
        np.testing.assert_allclose(seq.world, world, atol=1e-6)
        np.testing.assert_allclose(seq.t_s, motion.t_s)
        camera = VirtualCamera(yaw_deg=yaw, distance_m=4.0)
        np.testing.assert_allclose(seq.image, camera.image_points(world, 30.0), atol=1e-6)
        assert (seq.visibility == 1).all()
        assert seq.world.dtype == np.float32 and seq.image.dtype == np.float32
    front, side = seqs
    # From the front the hips are side by side (left hip on the image's right: the subject
    # faces the camera); from the subject's left they nearly overlap.
    front_hips = front.image[:, sk.L_HIP, 0] - front.image[:, sk.R_HIP, 0]
    side_hips = side.image[:, sk.L_HIP, 0] - side.image[:, sk.R_HIP, 0]
    assert (front_hips > 0.02).all()
    assert np.abs(side_hips).mean() < 0.3 * front_hips.mean()


def test_image_jitter_is_seeded_reproducible_and_scaled(mocap_root: Path) -> None:
    clean = read_mocap(mocap_root, MocapOptions(styles=("sad",)))
    noisy = read_mocap(mocap_root, MocapOptions(styles=("sad",), image_jitter=0.02, seed=3))
    again = read_mocap(mocap_root, MocapOptions(styles=("sad",), image_jitter=0.02, seed=3))
    other = read_mocap(mocap_root, MocapOptions(styles=("sad",), image_jitter=0.02, seed=4))
    for c, n, a, o in zip(clean, noisy, again, other, strict=True):
        np.testing.assert_array_equal(n.image, a.image)  # same seed, same noise
        assert not np.allclose(n.image, o.image)  # another seed, other noise
        np.testing.assert_array_equal(n.world, c.world)  # image jitter leaves 3D alone
        height = np.median(np.ptp(c.image[..., 1], axis=1))  # body height in image heights
        noise = (n.image - c.image).ravel()
        assert abs(noise.mean()) < 0.1 * 0.02 * height
        assert noise.std() == pytest.approx(0.02 * height, rel=0.1)


def test_world_jitter_in_metres(mocap_root: Path) -> None:
    clean = read_mocap(mocap_root, MocapOptions(styles=("angry",)))
    noisy = read_mocap(mocap_root, MocapOptions(styles=("angry",), world_jitter_m=0.01, seed=1))
    for c, n in zip(clean, noisy, strict=True):
        assert (n.world - c.world).std() == pytest.approx(0.01, rel=0.1)
        np.testing.assert_array_equal(n.image, c.image)  # projected from the clean skeleton


def test_no_clips_with_the_requested_styles(tmp_path: Path) -> None:
    root = write_mocap_folder(tmp_path / "m", [("walk", "proud")])
    with pytest.raises(
        ValueError, match=r"no clips with styles \['happy', 'sad', 'angry', 'normal'\]"
    ):
        read_mocap(root)


def test_truncated_bvh_is_named(mocap_root: Path) -> None:
    path = mocap_root / "data" / "dataset-1_wave_angry_001.bvh"
    text = path.read_text()
    path.write_text(text[: text.index("MOTION") + 300])  # header and a few frames only
    with pytest.raises(ValueError, match=r"dataset-1_wave_angry_001.bvh: MOTION"):
        read_mocap(mocap_root)


# --- Movement.mirrored --------------------------------------------------------------------


def test_mirrored_swaps_left_and_right(mocap_root: Path) -> None:
    seq = read_mocap(mocap_root, MocapOptions(styles=("happy",), views_deg=(30.0,)))[1]
    vis = seq.visibility.copy()
    vis[:, sk.L_WRIST] = 0.2  # so that the visibility's swap can be seen
    seq = Movement(seq.world, seq.image, vis, seq.t_s, seq.label, seq.groups, seq.source, seq.name)
    m = seq.mirrored()
    for left, right in ((sk.L_WRIST, sk.R_WRIST), (sk.L_HIP, sk.R_HIP), (sk.L_ANKLE, sk.R_ANKLE)):
        np.testing.assert_allclose(m.world[:, left, 0], -seq.world[:, right, 0])
        np.testing.assert_allclose(m.world[:, left, 1:], seq.world[:, right, 1:])
        np.testing.assert_allclose(m.image[:, right, 0], -seq.image[:, left, 0])
        np.testing.assert_allclose(m.image[:, right, 1], seq.image[:, left, 1])
    np.testing.assert_allclose(m.world[:, sk.NOSE, 0], -seq.world[:, sk.NOSE, 0])
    assert (m.visibility[:, sk.R_WRIST] == 0.2).all() and (m.visibility[:, sk.L_WRIST] == 1).all()
    assert (m.label, m.source, m.name) == (seq.label, seq.source, seq.name + "~mirror")
    assert m.groups == seq.groups and m.groups is not seq.groups
    np.testing.assert_array_equal(m.t_s, seq.t_s)
    twice = m.mirrored()
    np.testing.assert_allclose(twice.world, seq.world)
    np.testing.assert_allclose(twice.image, seq.image)


def test_another_skeleton_through_a_body_map_and_unit(mocap_root: Path) -> None:
    """A BVH with other joint names (and metres as its unit) reads through `options.body`
    and `options.unit_m` into the same movements."""
    names = BANDAI.joint_names
    for bvh in (mocap_root / "data").glob("*.bvh"):
        text = bvh.read_text()
        for name in sorted(set(names.values()), key=len, reverse=True):
            text = re.sub(rf"\b(ROOT|JOINT) {name}\b", rf"\1 mixamorig:{name}", text)
        bvh.write_text(text)
    body = BodyMap(**{role: f"mixamorig:{name}" for role, name in names.items()})
    with pytest.raises(ValueError, match="BVH lacks joints the body map needs"):
        read_mocap(mocap_root, MocapOptions(styles=("sad",)))
    other = read_mocap(mocap_root, MocapOptions(styles=("sad",), body=body))
    assert other and all(np.isfinite(s.world).all() for s in other)
    metres = read_mocap(mocap_root, MocapOptions(styles=("sad",), body=body, unit_m=1.0))
    body_joints = [j for j in range(sk.N_JOINTS) if j != sk.NOSE]  # the nose offset is metres
    for a, b in zip(other, metres, strict=True):
        np.testing.assert_allclose(
            b.world[:, body_joints], 100 * a.world[:, body_joints], rtol=1e-5, atol=1e-3
        )


# --- the shared data ----------------------------------------------------------------------


@pytest.mark.integration
def test_shared_data_has_the_four_emotions(bandai_dir: Path) -> None:
    clips = list_clips(bandai_dir.parent, DEFAULT_STYLES)
    per_style = {style: [c for c in clips if c.style == style] for style in DEFAULT_STYLES}
    assert all(len(v) >= 8 for v in per_style.values()), {k: len(v) for k, v in per_style.items()}
    assert len({c.content for c in clips}) >= 8  # enough contents to hold out one at a time
    seqs = read_mocap(bandai_dir.parent, MocapOptions(styles=("angry",)))
    assert {s.label for s in seqs} == {"Anger"} and len(seqs) == len(per_style["angry"])
