"""Tests for pipeline/render.py: the mocap mannequin renderer, its video writer and CLI."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from offline.mocap.bvh import read_bvh
from offline.mocap.camera import VirtualCamera
from offline.render import renderer as R
from pipeline import skeleton as sk

SHARED = Path(__file__).resolve().parents[3].parent / "shared"
BANDAI_DATA = SHARED / "data" / "bandai-namco-motion-1"

# A standing figure with Bandai-Namco joint names, facing +z (its left at +x), in cm:
# (name, parent, offset). The left arm is raised sideways, the right one hangs down.
_TINY_JOINTS = (
    ("Hips", None, (0.0, 94.0, 0.0)),
    ("Spine", "Hips", (0.0, 14.0, 0.0)),
    ("Chest", "Spine", (0.0, 10.0, 0.0)),
    ("Neck", "Chest", (0.0, 17.0, 0.0)),
    ("Head", "Neck", (0.0, 6.0, 0.0)),
    ("Shoulder_L", "Chest", (5.0, 13.0, 0.0)),
    ("UpperArm_L", "Shoulder_L", (5.5, 0.0, 0.0)),
    ("LowerArm_L", "UpperArm_L", (25.0, 0.0, 0.0)),
    ("Hand_L", "LowerArm_L", (22.0, 0.0, 0.0)),
    ("Shoulder_R", "Chest", (-5.0, 13.0, 0.0)),
    ("UpperArm_R", "Shoulder_R", (-5.5, 0.0, 0.0)),
    ("LowerArm_R", "UpperArm_R", (-1.0, -25.0, 0.0)),
    ("Hand_R", "LowerArm_R", (-1.0, -22.0, 0.0)),
    ("UpperLeg_L", "Hips", (7.0, -3.0, 0.0)),
    ("LowerLeg_L", "UpperLeg_L", (0.0, -40.0, 0.0)),
    ("Foot_L", "LowerLeg_L", (0.0, -40.0, -1.0)),
    ("Toes_L", "Foot_L", (0.0, -8.0, 10.0)),
    ("UpperLeg_R", "Hips", (-7.0, -3.0, 0.0)),
    ("LowerLeg_R", "UpperLeg_R", (0.0, -40.0, 0.0)),
    ("Foot_R", "LowerLeg_R", (0.0, -40.0, -1.0)),
    ("Toes_R", "Foot_R", (0.0, -8.0, 10.0)),
)
# Head rotation (Z, X, Y degrees) that gives it Bandai's local axes: x up, y forward, z left.
_HEAD_ZXY = (90.0, 90.0, 0.0)


def write_tiny_bvh(path: Path, n_frames: int = 4, prefix: str = "") -> Path:
    """Write the tiny skeleton as a BVH: the root drifts along +x, the left arm waves."""
    children: dict[str | None, list[str]] = {}
    for name, parent, _ in _TINY_JOINTS:
        children.setdefault(parent, []).append(name)
    offsets = {name: off for name, _, off in _TINY_JOINTS}
    lines = ["HIERARCHY"]
    order: list[str] = []  # joints in file order: the order of the motion channels

    def emit(name: str, depth: int) -> None:
        order.append(name)
        pad = "  " * depth
        kind = "ROOT" if depth == 0 else "JOINT"
        lines.append(f"{pad}{kind} {prefix}{name}")
        lines.append(f"{pad}{{")
        lines.append(f"{pad}  OFFSET {' '.join(f'{v:g}' for v in offsets[name])}")
        channels = "Xposition Yposition Zposition " if depth == 0 else ""
        n = 6 if depth == 0 else 3
        lines.append(f"{pad}  CHANNELS {n} {channels}Zrotation Xrotation Yrotation")
        kids = children.get(name, [])
        for kid in kids:
            emit(kid, depth + 1)
        if not kids:
            lines.extend([f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET 0 0 0", f"{pad}  }}"])
        lines.append(f"{pad}}}")

    emit("Hips", 0)
    lines += ["MOTION", f"Frames: {n_frames}", "Frame Time: 0.0333333"]
    for f in range(n_frames):
        row: list[float] = []
        for name in order:
            if name == "Hips":
                row += [0.5 * f, 94.0, 0.0, 0.0, 0.0, 0.0]
            elif name == "Head":
                row += list(_HEAD_ZXY)
            elif name == "UpperArm_L":
                row += [20.0 * np.sin(f / 5.0), 0.0, 0.0]
            else:
                row += [0.0, 0.0, 0.0]
        lines.append(" ".join(f"{v:.4f}" for v in row))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def tiny_bvh(tmp_path: Path) -> Path:
    return write_tiny_bvh(tmp_path / "tiny.bvh")


def test_tiny_bvh_has_bandai_head_axes(tiny_bvh: Path) -> None:
    motion = read_bvh(tiny_bvh)
    head = motion.rotations[0, motion.index("Head")]
    # columns: local x -> world up, local y -> forward (+z), local z -> the subject's left (+x)
    np.testing.assert_allclose(head, [[0, 0, 1], [1, 0, 0], [0, 1, 0]], atol=1e-9)
    world = sk.from_bvh(motion)
    assert abs(sk.facing_yaw(world)) < 1e-6  # faces +z


# --------------------------------------------------------------------------- geometry


def _render(motion, camera: VirtualCamera, frame: int = 0) -> tuple[R.Scene, R.RenderedFrame]:
    scene = R.build_scene(motion, camera)
    return scene, R.Renderer(camera).render(scene, frame)


@pytest.mark.parametrize("view", [0.0, 35.0, -35.0, 90.0, 180.0])
def test_figure_appears_where_the_camera_projects_the_joints(tiny_bvh: Path, view: float) -> None:
    motion = read_bvh(tiny_bvh)
    camera = VirtualCamera(yaw_deg=view, width=240, height=320)
    scene, out = _render(motion, camera)
    world = sk.from_bvh(motion).astype(np.float64)
    pixels, depth = camera.project(world, camera.poses(world, 30.0))
    names = [p.name for p in scene.parts]
    cols, rows = np.floor(pixels[0]).astype(int).T
    parts_seen = out.part[rows, cols]
    assert (parts_seen >= 0).all(), f"joints on background: {np.array(sk.JOINTS)[parts_seen < 0]}"
    # The joints are inside the body: the surface seen there is never behind them.
    surface_z = out.depth[rows, cols] * R.Renderer(camera).rays[2][rows, cols]
    gap = depth[0] - surface_z
    assert (gap > -0.01).all(), dict(zip(sk.JOINTS, gap.round(3), strict=True))
    if view == 0.0:  # from the front nothing is hidden: the surface is just in front
        assert (gap < 0.17).all(), dict(zip(sk.JOINTS, gap.round(3), strict=True))
        assert names[parts_seen[sk.NOSE]] in ("nose", "head", "jaw")
        assert abs(gap[sk.NOSE]) < 0.01
        # the raised left arm is on the image's right; its mirror image is background
        wrist = names[parts_seen[sk.L_WRIST]]
        assert wrist in ("hand_l", "forearm_l"), wrist
        hip_u = 0.5 * (pixels[0, sk.L_HIP, 0] + pixels[0, sk.R_HIP, 0])
        assert cols[sk.L_WRIST] > hip_u + 20
        mirror_col = int(2 * hip_u - pixels[0, sk.L_WRIST, 0])
        assert out.part[rows[sk.L_WRIST], mirror_col] == -1


def test_figure_stays_near_the_projected_joints(tiny_bvh: Path) -> None:
    motion = read_bvh(tiny_bvh)
    camera = VirtualCamera(yaw_deg=35.0, width=240, height=320)
    _, out = _render(motion, camera)
    world = sk.from_bvh(motion).astype(np.float64)
    pixels, depth = camera.project(world, camera.poses(world, 30.0))
    margin = 0.3 * camera.focal_px / depth[0].min()  # 30 cm: head top, shoes, hands, flesh
    lo, hi = pixels[0].min(axis=0) - margin, pixels[0].max(axis=0) + margin
    rows, cols = np.nonzero(out.part >= 0)
    assert rows.size > 2000  # a figure, not a speck
    assert (cols + 0.5 >= lo[0]).all() and (cols + 0.5 <= hi[0]).all()
    assert (rows + 0.5 >= lo[1]).all() and (rows + 0.5 <= hi[1]).all()
    # and it is opaque between the joints: the mid-points of the bones are covered
    for a, b in sk.BONES:
        u, v = np.floor(0.5 * (pixels[0, a] + pixels[0, b])).astype(int)
        assert out.part[v, u] >= 0, (sk.JOINTS[a], sk.JOINTS[b])


def test_pixel_rays_pass_through_pixel_centres() -> None:
    camera = VirtualCamera(width=64, height=48)
    renderer = R.Renderer(camera)
    rays = np.stack(renderer.rays, axis=-1).astype(np.float64)  # (H, W, 3), camera axes
    np.testing.assert_allclose(np.linalg.norm(rays, axis=-1), 1.0, atol=1e-6)
    # a point on each ray, in world axes for an identity camera pose, projects to the centre
    poses = camera.poses(np.zeros((1, sk.N_JOINTS, 3)), 30.0)
    rot, pos = poses.rotation[0], poses.position[0]
    world = pos + 2.5 * rays @ rot  # camera -> world: x_w = R^T x_c
    pixels, _ = camera.project(world[None], poses)
    rows, cols = np.mgrid[0:48, 0:64]
    np.testing.assert_allclose(pixels[0, ..., 0], cols + 0.5, atol=1e-4)
    np.testing.assert_allclose(pixels[0, ..., 1], rows + 0.5, atol=1e-4)


def test_render_is_deterministic(tiny_bvh: Path) -> None:
    motion = read_bvh(tiny_bvh)
    camera = VirtualCamera(yaw_deg=20.0, width=120, height=160)
    first = list(R.render_motion(motion, camera))
    second = list(R.render_motion(read_bvh(tiny_bvh), camera))
    assert len(first) == motion.n_frames == 4
    for a, b in zip(first, second, strict=True):
        assert a.dtype == np.uint8 and a.shape == (160, 120, 3)
        assert np.array_equal(a, b)
    assert not np.array_equal(first[0], first[-1])  # the figure moves between frames


def test_video_files_are_identical_frame_for_frame(tiny_bvh: Path, tmp_path: Path) -> None:
    from pipeline.video import iter_frames

    camera = VirtualCamera(width=120, height=160)
    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    assert R.render_bvh(tiny_bvh, a, camera) == 4
    assert R.render_bvh(tiny_bvh, b, camera) == 4
    fa = [f.image for f in iter_frames(a)]
    fb = [f.image for f in iter_frames(b)]
    assert len(fa) == len(fb) == 4
    assert all(np.array_equal(x, y) for x, y in zip(fa, fb, strict=True))


# --------------------------------------------------------------------------- intersectors
# Reference: march along each ray in 0.5 mm steps and test inside/outside with the plain
# definition of each shape (a round cone is the union of the spheres interpolated between
# its end spheres; an ellipsoid is |M (p - c)| <= 1).

_STEP = 0.0005


def _inside_cone(p: np.ndarray, a: np.ndarray, b: np.ndarray, ra: float, rb: float) -> np.ndarray:
    s = np.linspace(0.0, 1.0, 201)
    centres = a + s[:, None] * (b - a)  # (S, 3)
    radii = ra + s * (rb - ra)
    d = np.linalg.norm(p[..., None, :] - centres, axis=-1) - radii
    return d.min(axis=-1) <= 0


def _inside_ellipsoid(p: np.ndarray, c: np.ndarray, axes: np.ndarray, radii) -> np.ndarray:
    q = (p - c) @ axes / np.asarray(radii)
    return (q * q).sum(-1) <= 1


def _reference_t(inside, rays: np.ndarray, t0: float, t1: float) -> np.ndarray:
    ts = np.arange(t0, t1, _STEP)
    out = np.full(len(rays), np.inf)
    for i, ray in enumerate(rays):
        hit = np.nonzero(inside(ts[:, None] * ray))[0]
        if hit.size:
            out[i] = ts[hit[0]]
    return out


def _random_rays(centre: np.ndarray, spread: float, n: int = 150) -> np.ndarray:
    rng = np.random.default_rng(0)
    targets = centre + rng.uniform(-spread, spread, size=(n, 3)) * np.array([1, 1, 0])
    return targets / np.linalg.norm(targets, axis=1, keepdims=True)


def _check_angles(normals: np.ndarray, reference: np.ndarray, max_deg: float = 2.0) -> None:
    reference = reference / np.linalg.norm(reference, axis=1, keepdims=True)
    cos = np.clip(np.sum(normals * reference, axis=1), -1.0, 1.0)
    assert np.degrees(np.arccos(cos)).max() < max_deg


def _rotation(yaw: float, pitch: float) -> np.ndarray:
    cy, sy, cp, sp = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch)
    return np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]]) @ np.array(
        [[1, 0, 0], [0, cp, -sp], [0, sp, cp]]
    )


def _check_hits(fast: np.ndarray, ref: np.ndarray) -> None:
    both = np.isfinite(fast) & np.isfinite(ref)
    assert both.mean() > 0.2, "too few rays hit the shape for a meaningful test"
    assert np.isinf(ref).mean() > 0.1, "too few rays miss the shape for a meaningful test"
    assert np.abs(fast[both] - ref[both]).max() < 2.5 * _STEP
    assert (np.isfinite(fast) != np.isfinite(ref)).mean() < 0.02  # only grazing rays


@pytest.mark.parametrize(
    ("a", "b", "ra", "rb", "spread"),
    [
        ((0.05, 0.2, 3.0), (0.1, -0.15, 3.1), 0.08, 0.05, 0.2),  # tapering, across the view
        ((0.0, 0.0, 2.8), (0.02, 0.05, 3.2), 0.04, 0.06, 0.08),  # pointing away from the camera
        ((-0.1, 0.0, 3.0), (0.1, 0.0, 3.0), 0.05, 0.05, 0.12),  # a plain capsule
    ],
)
def test_round_cone_hits_match_ray_marching(a, b, ra: float, rb: float, spread: float) -> None:
    a, b = np.array(a), np.array(b)
    rays = _random_rays(0.5 * (a + b), spread)
    rx, ry, rz = (rays[:, k].astype(np.float32) for k in range(3))
    fast = R._cone_hit(rx, ry, rz, a, b, ra, rb)
    near = min(np.linalg.norm(a), np.linalg.norm(b)) - max(ra, rb) - 0.01
    far = max(np.linalg.norm(a), np.linalg.norm(b)) + 0.01
    ref = _reference_t(lambda p: _inside_cone(p, a, b, ra, rb), rays, near, far)
    _check_hits(fast, ref)
    hit = np.isfinite(fast)
    p = [fast[hit] * r[hit] for r in (rx, ry, rz)]
    n = np.stack(R._cone_normal(*p, a, b, ra, rb), axis=-1).astype(np.float64)
    p = np.stack(p, axis=-1).astype(np.float64)
    assert (np.sum(n * rays[hit], axis=1) < 0).all()  # normals face the camera
    assert not _inside_cone(p + 0.002 * n, a, b, ra, rb).any()
    assert _inside_cone(p - 0.002 * n, a, b, ra, rb).all()
    # the normal of a union of spheres is the radial direction of the nearest one
    s = np.linspace(0.0, 1.0, 4001)
    centres, radii = a + s[:, None] * (b - a), ra + s * (rb - ra)
    d = np.linalg.norm(p[:, None, :] - centres, axis=-1) - radii
    radial = p - centres[d.argmin(axis=1)]
    _check_angles(n, radial)


def test_ellipsoid_hits_match_ray_marching() -> None:
    c, axes, radii = np.array([0.05, 0.1, 3.0]), _rotation(0.6, 0.3), (0.12, 0.08, 0.05)
    rays = _random_rays(c, 0.15)
    rx, ry, rz = (rays[:, k].astype(np.float32) for k in range(3))
    fast = R._ellipsoid_hit(rx, ry, rz, c, axes, radii)
    ref = _reference_t(lambda p: _inside_ellipsoid(p, c, axes, radii), rays, 2.8, 3.2)
    _check_hits(fast, ref)
    hit = np.isfinite(fast)
    p = [fast[hit] * r[hit] for r in (rx, ry, rz)]
    n = np.stack(R._ellipsoid_normal(*p, c, axes, radii), axis=-1).astype(np.float64)
    p = np.stack(p, axis=-1).astype(np.float64)
    assert not _inside_ellipsoid(p + 0.002 * n, c, axes, radii).any()
    assert _inside_ellipsoid(p - 0.002 * n, c, axes, radii).all()

    def level(q: np.ndarray) -> np.ndarray:  # |M (q - c)|^2, 1 on the surface
        u = (q - c) @ axes / np.asarray(radii)
        return (u * u).sum(-1)

    eye = 1e-5 * np.eye(3)
    gradient = np.stack([level(p + e) - level(p - e) for e in eye], axis=-1)
    _check_angles(n, gradient)


def test_flat_cone_hits_match_ray_marching() -> None:
    axes = _rotation(0.8, 0.1)  # columns lateral, up, forward (camera axes)
    a, b = np.array([0.0, -0.1, 3.0]), np.array([0.02, 0.15, 3.0])
    part = R.Part(
        "torso", "flatcone", R.SHIRT, a[None], b[None], 0.12, 0.14, axes=axes[None], squash=0.6
    )
    m = axes @ np.diag([1.0, 1.0, 1 / 0.6]) @ axes.T

    def inside(p: np.ndarray) -> np.ndarray:
        return _inside_cone(p @ m.T, m @ a, m @ b, 0.12, 0.14)

    rays = _random_rays(0.5 * (a + b), 0.3)
    rx, ry, rz = (rays[:, k].astype(np.float32) for k in range(3))
    fast = R._flatcone_hit(rx, ry, rz, part, 0)
    _check_hits(fast, _reference_t(inside, rays, 2.7, 3.3))
    hit = np.isfinite(fast)
    p = [fast[hit] * r[hit] for r in (rx, ry, rz)]
    n = np.stack(R._flatcone_normal(*p, part, 0), axis=-1).astype(np.float64)
    p = np.stack(p, axis=-1).astype(np.float64)
    assert not inside(p + 0.002 * n).any()
    assert inside(p - 0.002 * n).all()


# --------------------------------------------------------------------------- body map


def test_another_skeleton_through_a_joint_map(tmp_path: Path) -> None:
    bandai = read_bvh(write_tiny_bvh(tmp_path / "a.bvh"))
    other = read_bvh(write_tiny_bvh(tmp_path / "b.bvh", prefix="mixamorig:"))
    body = R.BodyMap(**{role: f"mixamorig:{name}" for role, name in R.BANDAI.joint_names.items()})
    np.testing.assert_array_equal(R.shared_joints(other, body), sk.from_bvh(bandai))
    camera = VirtualCamera(width=120, height=160)
    a = R.Renderer(camera).render(R.build_scene(bandai, camera), 0).image
    b = R.Renderer(camera).render(R.build_scene(other, camera, body), 0).image
    assert np.array_equal(a, b)
    with pytest.raises(ValueError, match=r"BVH lacks joints the body map needs: hips=Hips"):
        R.build_scene(other, camera)


def test_the_figure_scales_with_the_skeleton(tiny_bvh: Path) -> None:
    full, small = read_bvh(tiny_bvh), read_bvh(tiny_bvh, unit_m=0.006)  # a 60% size person
    k_full, k_small = R.body_scale(full), R.body_scale(small)
    assert k_full == pytest.approx(0.8001 / 0.8007, abs=1e-3)  # the tiny leg is Bandai's
    assert k_small == pytest.approx(0.6 * k_full, rel=1e-6)
    camera = VirtualCamera(width=240, height=320)
    big_parts = {p.name: p for p in R.build_scene(full, camera).parts}
    small_parts = {p.name: p for p in R.build_scene(small, camera).parts}
    assert small_parts["thigh_l"].ra == pytest.approx(0.6 * big_parts["thigh_l"].ra)
    assert small_parts["head"].radii == pytest.approx(
        tuple(0.6 * r for r in big_parts["head"].radii)
    )


def test_body_map_from_json_and_its_checks(tmp_path: Path) -> None:
    path = tmp_path / "map.json"
    path.write_text(json.dumps({"head": "Skull", "head_up": [0, 1, 0], "head_forward": [0, 0, 1]}))
    body = R.BodyMap.from_json(path)
    assert body.head == "Skull" and body.head_up == (0, 1, 0) and body.hips == "Hips"
    path.write_text(json.dumps({"pelvis": "Hips"}))
    with pytest.raises(ValueError, match=r"keys among .* got \['pelvis'\]"):
        R.BodyMap.from_json(path)
    with pytest.raises(ValueError, match=r"`head_up` must be a unit 3-vector"):
        R.BodyMap(head_up=(0.0, 2.0, 0.0))
    with pytest.raises(ValueError, match=r"must be perpendicular"):
        R.BodyMap(head_up=(1.0, 0.0, 0.0), head_forward=(1.0, 0.0, 0.0))
    with pytest.raises(FileNotFoundError, match="joint map not found"):
        R.BodyMap.from_json(tmp_path / "nope.json")


# --------------------------------------------------------------------------- video file


def test_write_video_is_atomic(tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    out.write_bytes(b"previous good file")

    def frames():
        yield np.zeros((64, 48, 3), np.uint8)
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        R.write_video(frames(), out, 30.0)
    assert out.read_bytes() == b"previous good file"
    assert os.listdir(tmp_path) == ["clip.mp4"]  # no temporary file left behind
    with pytest.raises(ValueError, match=r"output video must end in \.mp4, got clip\.avi"):
        R.write_video(iter([]), tmp_path / "clip.avi", 30.0)
    with pytest.raises(ValueError, match="no frames to write"):
        R.write_video(iter([]), tmp_path / "empty.mp4", 30.0)
    assert not (tmp_path / "empty.mp4").exists()


# --------------------------------------------------------------------------- CLI


def test_cli_renders_a_clip(tiny_bvh: Path, tmp_path: Path, capsys) -> None:
    from pipeline.video import VideoInfo

    out = tmp_path / "out" / "tiny.mp4"
    assert R.main([str(tiny_bvh), str(out), "--view", "35", "--no-progress"]) == 0
    info = VideoInfo.from_path(out)
    assert (info.width, info.height, info.total_frames) == (480, 640, 4)
    assert abs(info.fps - 30.0) < 0.01
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.bvh", "out.mp4"], r"^error: BVH file not found: missing\.bvh$"),
        (["{bvh}", "out.mp4", "--view", "abc"], r"^error: argument --view: invalid float value"),
        (["{bvh}", "out.mp4", "--view", "200"], r"^error: `view` must be in \[-180, 180\]"),
        (["{bvh}", "out.avi"], r"^error: output video must end in \.mp4, got out\.avi$"),
        (["{bvh}", "out.mp4", "--distance", "0"], r"^error: `distance_m` must be > 0 metres"),
        (["{bvh}"], r"^error: give a BVH clip and an output \.mp4"),
        (["--dataset", "{tmp}"], r"^error: --dataset takes --out DIR"),
        (["--dataset", "{tmp}", "--out", "{tmp}"], r"^error: .*cfg.* not found: --dataset must be"),
    ],
)
def test_cli_bad_input_gives_one_line_and_exit_2(
    args: list[str], message: str, tiny_bvh: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = [a.format(bvh=tiny_bvh, tmp=tmp_path / "nodata") for a in args]
    (tmp_path / "nodata" / "data").mkdir(parents=True)
    assert R.main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert re.search(message, err.strip()), err
    assert not (tmp_path / "out.mp4").exists()


def _tiny_dataset(root: Path) -> Path:
    (root / "cfg").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "cfg" / "content_label.txt").write_text("dataset-1_walk\ndataset-1_bow\n")
    styles = "dataset-1_normal\ndataset-1_happy\ndataset-1_old\n"
    (root / "cfg" / "style_label.txt").write_text(styles)
    for stem, content, style in (
        ("d_walk_happy_001", 0, 1),
        ("d_bow_normal_001", 1, 0),
        ("d_bow_old_001", 1, 2),
    ):
        write_tiny_bvh(root / "data" / f"{stem}.bvh", n_frames=3)
        label = {"content": content, "style": style}
        (root / "data" / f"{stem}.json").write_text(json.dumps(label))
    return root


def test_cli_renders_a_labelled_dataset_and_skips_done_work(tmp_path: Path, capsys) -> None:
    data, out = _tiny_dataset(tmp_path / "bandai"), tmp_path / "rendered"
    argv = ["--dataset", str(data), "--out", str(out), "--views", "0", "-35", "--no-progress"]
    assert R.main(argv) == 0
    videos = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.mp4"))
    assert videos == [
        "videos/Happy/d_walk_happy_001_view-35.mp4",
        "videos/Happy/d_walk_happy_001_view0.mp4",
        "videos/Neutral/d_bow_normal_001_view-35.mp4",
        "videos/Neutral/d_bow_normal_001_view0.mp4",
    ]  # the "old" style is not an emotion and is not rendered
    sidecar = json.loads((out / "videos/Happy/d_walk_happy_001_view-35.json").read_text())
    assert {
        k: sidecar[k]
        for k in (
            "clip",
            "content",
            "style",
            "label",
            "view_deg",
            "distance_m",
            "frames",
            "renderer",
        )
    } == {
        "clip": "d_walk_happy_001",
        "content": "walk",
        "style": "happy",
        "label": "Happy",
        "view_deg": -35.0,
        "distance_m": 3.0,
        "frames": 3,
        "renderer": R.RENDERER_VERSION,
    }
    assert "4 to render" in capsys.readouterr().out
    stamp = (out / "videos/Happy/d_walk_happy_001_view0.mp4").stat().st_mtime_ns
    assert R.main(argv) == 0
    assert "4 already rendered, 0 to render" in capsys.readouterr().out
    assert (out / "videos/Happy/d_walk_happy_001_view0.mp4").stat().st_mtime_ns == stamp
    # other settings are other work: a new distance renders again
    assert R.main([*argv, "--distance", "3.5", "--styles", "happy"]) == 0
    assert "0 already rendered, 2 to render" in capsys.readouterr().out


def test_dataset_with_a_broken_label_file(tmp_path: Path, capsys) -> None:
    data = _tiny_dataset(tmp_path / "bandai")
    (data / "data" / "d_bow_old_001.json").write_text('{"content": 7, "style": 0}')
    assert R.main(["--dataset", str(data), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: label file") and "d_bow_old_001.json" in err
    assert len(err.splitlines()) == 1


# --------------------------------------------------------------------------- PoseLandmarker


def _landmarker_errors(motion, camera: VirtualCamera, n_frames: int) -> tuple[float, np.ndarray]:
    """Detection rate and per-frame pixel errors (F, 13) of PoseLandmarker on a render."""
    import cv2

    from pipeline.pose import PoseEstimator

    world = sk.from_bvh(motion).astype(np.float64)
    pixels, _ = camera.project(world, camera.poses(world, 1.0 / motion.frame_time_s))
    errors, found = [], 0
    with PoseEstimator(mode="video") as estimator:
        previous = None
        frames = R.render_motion(motion, camera, max_frames=n_frames)
        for f, image in enumerate(frames):
            t_ms = int(round(f * motion.frame_time_s * 1000)) + 1
            pose = estimator.detect(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), t_ms, previous)
            previous = pose
            if pose.found:
                found += 1
                seen = pose.image[sk.MEDIAPIPE_INDEX, :2] * np.array([camera.width, camera.height])
                errors.append(np.linalg.norm(seen - pixels[f], axis=1))
    return found / n_frames, np.array(errors)


def _body_height_px(motion, camera: VirtualCamera) -> float:
    """Standing height (head top above the floor, 1.63 m here) in pixels at 3 m."""
    return camera.focal_px * 1.63 / camera.distance_m


_CHECKED = [sk.NOSE, sk.L_SHOULDER, sk.R_SHOULDER, sk.L_HIP, sk.R_HIP]


@pytest.mark.integration
def test_pose_landmarker_finds_the_tiny_figure(tmp_path: Path) -> None:
    motion = read_bvh(write_tiny_bvh(tmp_path / "tiny.bvh", n_frames=30))
    camera = VirtualCamera(yaw_deg=20.0)
    rate, errors = _landmarker_errors(motion, camera, 30)
    assert rate >= 0.9
    relative = np.median(errors[:, _CHECKED], axis=0) / _body_height_px(motion, camera)
    assert (relative < 0.05).all(), dict(
        zip(np.array(sk.JOINTS)[_CHECKED], relative.round(3), strict=True)
    )


@pytest.mark.integration
@pytest.mark.skipif(not BANDAI_DATA.is_dir(), reason=f"shared Bandai-Namco data absent ({SHARED})")
@pytest.mark.parametrize("view", [0.0, 90.0])
def test_pose_landmarker_finds_a_rendered_walk(view: float) -> None:
    motion = read_bvh(BANDAI_DATA / "data" / "dataset-1_walk_normal_001.bvh")
    camera = VirtualCamera(yaw_deg=view)
    rate, errors = _landmarker_errors(motion, camera, 30)
    assert rate >= 0.9
    relative = np.median(errors, axis=0) / _body_height_px(motion, camera)
    assert (relative[_CHECKED] < 0.05).all(), dict(zip(sk.JOINTS, relative.round(3), strict=True))
    assert (relative < 0.08).all(), dict(zip(sk.JOINTS, relative.round(3), strict=True))
