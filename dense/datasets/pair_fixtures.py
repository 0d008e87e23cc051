"""Tiny correspondence data sets in their published layouts, written from embedded-scene pairs (known geometry).

    python -m dense.datasets.pair_fixtures navi work_dirs/fixtures/navi_pairs [--num 2]
    python -m dense.datasets.pair_fixtures scannet work_dirs/fixtures/scannet_pairs
    python -m dense.datasets.pair_fixtures spair work_dirs/fixtures/spair

NAVI: one object per scene pair, a ``wild_set`` (and a ``multiview_00`` scene, which Probe3D requires) holding the
pair's two views; depth as NAVI's scaled disparity (``65535 * 10 / depth_mm``) of the scene shrunk by
:data:`NAVI_SCALE` so depths fall in NAVI's range, far background left without depth (object-centric like NAVI);
poses as NAVI's object-to-camera quaternion (w, x, y, z) and translation in mm. ScanNet: ``scannet_test_1500``
files (colour JPEG, uint16 mm depth, camera-to-world pose text, ``intrinsics.npz``, ``test.npz``). SPair-71k:
random images with keypoints at random positions inside them, pair files in ``PairAnnotation/test``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from dense.scenes.layout import sample_layout
from dense.scenes.pairs import orbit, render_pair

SIZE = (48, 64)
FIRST_SEED = 1_000_000
NAVI_SCALE = 0.1  # scene metres -> NAVI metres


def scene_pair_with_poses(seed: int, size=SIZE):
    """A scene pair and its cameras' ``(origin, axes)`` in the scenes' world frame."""
    pair = render_pair(seed, size)
    layout = sample_layout(seed)
    return pair, [(layout.camera.origin, layout.camera.rotation()), orbit(layout, pair.yaw)]


def navi_annotation(name: str, shape, origin: np.ndarray, axes: np.ndarray, focal: float) -> dict:
    """A NAVI annotation of a view: object-to-camera quaternion and translation (mm)."""
    from scipy.spatial.transform import Rotation
    # the scenes' world (X right, Y up, Z away) is left-handed: mirror Z for a proper rotation (camera points keep)
    mirror = np.diag([1.0, 1.0, -1.0])
    world_to_cam, origin = (mirror @ axes).T, mirror @ origin
    x, y, z, w = Rotation.from_matrix(world_to_cam).as_quat()
    t = -world_to_cam @ origin * NAVI_SCALE * 1000
    return {'filename': name, 'image_size': list(shape), 'camera': {'focal_length': focal, 'q': [w, x, y, z],
                                                                    't': t.tolist()}}


def navi_disparity(depth: np.ndarray, near_fraction: float = 0.6) -> np.ndarray:
    """NAVI's uint16 depth encoding of scene depth (scaled by :data:`NAVI_SCALE`); far pixels get 0 (no depth)."""
    finite = np.isfinite(depth)
    near = finite & (depth < near_fraction * depth[finite].max())
    depth_mm = np.where(near, depth, 1.0) * NAVI_SCALE * 1000
    return np.where(near, np.round(65535 * 10 / depth_mm), 0).astype(np.uint16)


def write_navi_pairs(root: Path, num: int = 2, size=SIZE) -> None:
    for i in range(num):
        pair, poses = scene_pair_with_poses(FIRST_SEED + i, size)
        for folder in ('wild_set', 'multiview_00_pixel'):
            d = root / f'scene{i:03d}' / folder
            (d / 'images').mkdir(parents=True, exist_ok=True)
            (d / 'depth').mkdir(exist_ok=True)
            anns = []
            for k, (view, (origin, axes)) in enumerate(zip((pair.view_0, pair.view_1), poses)):
                Image.fromarray(view.image).save(d / 'images' / f'{k:03d}.jpg', quality=95)
                Image.fromarray(navi_disparity(view.depth)).save(d / 'depth' / f'{k:03d}.png')
                anns.append(navi_annotation(f'{k:03d}.jpg', view.depth.shape, origin, axes, float(pair.K[0, 0])))
            (d / 'annotations.json').write_text(json.dumps(anns))


def write_scannet_pairs(root: Path, num: int = 2, size=SIZE) -> None:
    names, intrinsics = [], {}
    for i in range(num):
        pair, poses = scene_pair_with_poses(FIRST_SEED + i, size)
        scene = f'scene{i:04d}_00'
        for folder in ('color', 'depth', 'pose'):
            (root / scene / folder).mkdir(parents=True, exist_ok=True)
        for frame, (view, (origin, axes)) in enumerate(zip((pair.view_0, pair.view_1), poses)):
            Image.fromarray(view.image).save(root / scene / 'color' / f'{frame}.jpg', quality=95)
            mm = np.where(np.isfinite(view.depth), np.round(view.depth * 1000), 0).astype(np.uint16)
            Image.fromarray(mm).save(root / scene / 'depth' / f'{frame}.png')
            pose = np.block([[axes, origin[:, None]], [np.zeros((1, 3)), np.ones((1, 1))]])
            np.savetxt(root / scene / 'pose' / f'{frame}.txt', pose, delimiter=' ')
        intrinsics[scene] = pair.K.astype(np.float64)
        names.append([i, 0, 0, 1])
    np.savez(root / 'intrinsics.npz', **intrinsics)
    np.savez(root / 'test.npz', name=np.array(names))


def write_spair(root: Path, num: int = 2, size=SIZE, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for category in ('cat', 'dog'):
        (root / 'JPEGImages' / category).mkdir(parents=True, exist_ok=True)
        (root / 'ImageAnnotation' / category).mkdir(parents=True, exist_ok=True)
        for k in range(num + 1):
            Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(
                root / 'JPEGImages' / category / f'{k:03d}.jpg')
    (root / 'PairAnnotation' / 'test').mkdir(parents=True, exist_ok=True)
    h, w = size
    for category in ('cat', 'dog'):
        for k in range(num):
            kps = [rng.uniform([0, 0], [w - 1, h - 1], (5, 2)).round().tolist() for _ in range(2)]
            ann = {'src_imname': f'{k:03d}.jpg', 'trg_imname': f'{k + 1:03d}.jpg', 'category': category,
                   'src_kps': kps[0], 'trg_kps': kps[1], 'src_bndbox': [0, 0, w, h], 'trg_bndbox': [2, 3, w - 5, h - 4],
                   'src_imsize': [w, h, 3], 'trg_imsize': [w, h, 3], 'viewpoint_variation': k % 3}
            name = f'{k:06d}-{k:03d}-{k + 1:03d}:{category}.json'
            (root / 'PairAnnotation' / 'test' / name).write_text(json.dumps(ann))


WRITERS = {'navi': write_navi_pairs, 'scannet': write_scannet_pairs, 'spair': write_spair}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('kind', choices=sorted(WRITERS))
    parser.add_argument('root')
    parser.add_argument('--num', type=int, default=2)
    args = parser.parse_args(argv)
    WRITERS[args.kind](Path(args.root), args.num)
    return 0


if __name__ == '__main__':
    sys.exit(main())
