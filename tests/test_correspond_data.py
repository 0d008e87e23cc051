"""Correspondence data in their published layouts: NAVI and ScanNet pairs written from embedded-scene pairs (known
geometry) in the real encodings, SPair-71k pairs with hand-placed keypoints; readers checked against the truth."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from dense.encoders import build_encoder
from dense.datasets.pair_fixtures import (FIRST_SEED, NAVI_SCALE, scene_pair_with_poses, write_navi_pairs,
                                          write_scannet_pairs)
from dense.datasets.pairs import NAVIPairs, ScanNetPairs, SPairPairs
from probes.evaluations.correspond import Correspondence

SIZE = (48, 64)


@pytest.fixture(scope='module')
def scene():
    return scene_pair_with_poses(FIRST_SEED, SIZE)


def _surface_check(xyz: torch.Tensor, depth: np.ndarray, K: np.ndarray, scale: float) -> float:
    """Median relative depth error of a reader's points against the rendered depth at their projection."""
    pts = xyz.permute(1, 2, 0)[xyz[2] > 0].double().numpy() / scale
    uv = pts @ K.T
    col, row = (uv[:, 0] / uv[:, 2]).astype(int), (uv[:, 1] / uv[:, 2]).astype(int)
    inside = (col >= 0) & (col < depth.shape[1]) & (row >= 0) & (row < depth.shape[0])
    assert inside.mean() > 0.99
    return float(np.median(np.abs(depth[row[inside], col[inside]] - pts[inside, 2]) / pts[inside, 2]))


def test_scannet_pairs_read_the_published_layout(tmp_path, scene):
    pair, _ = scene
    write_scannet_pairs(tmp_path, num=1, size=SIZE)
    sample = ScanNetPairs(str(tmp_path), image_size=SIZE)[0]
    np.testing.assert_allclose(sample['Rt_01'].numpy(), pair.Rt_01, atol=1e-5)
    np.testing.assert_allclose(sample['xyz_0'].permute(1, 2, 0).numpy(), pair.xyz_0, atol=2e-3)
    assert sample['angle'] == pytest.approx(pair.angle, abs=1e-3)
    (tmp_path / 'scene0000_00' / 'pose' / '1.txt').write_text('1 0 0\n0 1 0\n')
    with pytest.raises(ValueError, match='1.txt'):
        ScanNetPairs(str(tmp_path), image_size=SIZE)[0]


def test_navi_pairs_read_disparity_poses_and_intrinsics(tmp_path, scene):
    pair, _ = scene
    write_navi_pairs(tmp_path, num=1, size=SIZE)
    data = NAVIPairs(str(tmp_path), size=48, every=1)
    assert len(data) == 2  # each view paired with the other
    sample = data[0]
    np.testing.assert_allclose(sample['Rt_01'][:, :3].numpy(), pair.Rt_01[:, :3], atol=1e-4)
    np.testing.assert_allclose(sample['Rt_01'][:, 3].numpy(), pair.Rt_01[:, 3] * NAVI_SCALE, atol=1e-4)
    assert sample['angle'] == pytest.approx(pair.angle, abs=1e-2)
    for xyz, view in ((sample['xyz_0'], pair.view_0), (sample['xyz_1'], pair.view_1)):
        assert _surface_check(xyz, view.depth, pair.K, NAVI_SCALE) < 5e-3
    # K at the 48 px output: the view-1 points project inside the 48 x 48 output image
    uv = sample['xyz_1'].permute(1, 2, 0)[sample['xyz_1'][2] > 0] @ sample['K'].T
    assert (uv[:, :2] / uv[:, 2:]).abs().max() < 48


def _spair(root, kps_trg=((30, 20), (10, 35))):
    for name, colour in (('a', 60), ('b', 200)):
        (root / 'JPEGImages' / 'cat').mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((40, 50, 3), colour, np.uint8)).save(root / 'JPEGImages' / 'cat' / f'{name}.jpg')
    (root / 'PairAnnotation' / 'test').mkdir(parents=True, exist_ok=True)
    (root / 'ImageAnnotation' / 'cat').mkdir(parents=True, exist_ok=True)
    ann = {'src_imname': 'a.jpg', 'trg_imname': 'b.jpg', 'category': 'cat', 'src_kps': [[5, 5], [45, 30]],
           'trg_kps': [list(k) for k in kps_trg], 'src_bndbox': [0, 0, 50, 40], 'trg_bndbox': [5, 10, 25, 30],
           'src_imsize': [50, 40, 3], 'trg_imsize': [50, 40, 3], 'viewpoint_variation': 1}
    (root / 'PairAnnotation' / 'test' / '000001-a-b:cat.json').write_text(json.dumps(ann))


def test_spair_pairs_pad_resize_and_scale(tmp_path):
    _spair(tmp_path)
    sample = SPairPairs(str(tmp_path), image_size=100)[0]
    assert sample['image_0'].shape == (3, 100, 100)
    assert sample['image_0'][:, 95, 50].tolist() == [1.0, 1.0, 1.0]  # white padding below the 40 px image
    np.testing.assert_allclose(sample['kps_1'].numpy(), [[60, 40], [20, 70]])  # x 100 / 50 (padded side)
    assert sample['scale'] == pytest.approx(20 / 50) and sample['vp'] == 1


class _Keypoints(Correspondence):
    """One-hot features: source keypoint k and target keypoint ``target[k]`` share channel k (10 x 10 grid)."""

    def __init__(self, *args, target=(0, 1), **kwargs):
        super().__init__(*args, **kwargs)
        self.target = target

    def pair_features(self, pair):
        feats = []
        # source: the patch grid_sample(align_corners=True) reads (kp / size * (n - 1), rounded), as Probe3D;
        # target: the patch whose top-left corner / n is the keypoint (argmax position = corner, as Probe3D)
        for kps, order, cell in ((pair['kps_0'], (0, 1), lambda k: (k / 100 * 9).round()),
                                 (pair['kps_1'], self.target, lambda k: (k / 10).floor())):
            f = torch.full((3, 10, 10), 0.01)
            f[2] = 1.0
            for k, (x, y) in zip(order, cell(kps).long().tolist()):
                f[:, y, x] = torch.eye(3)[k] * 5
            feats.append(f)
        return tuple(feats)


def test_spair_pck_by_hand_and_bad_keypoint(tmp_path):
    _spair(tmp_path)
    data = dict(type='spair', root=str(tmp_path), image_size=100)
    enc = build_encoder('test')
    good = _Keypoints(enc, tmp_path, data=data, protocol='spair', num_figures=1).run()
    assert good == {'spair/pck@0.1.cat': 100.0, 'spair/pck@0.1': 100.0, 'spair/pck@0.1_vp1': 100.0,
                    'spair/pairs': 1.0}
    # swapped: keypoint 0 lands on keypoint 1, |(0.2, 0.7) - (0.6, 0.4)| / (20 / 50) = 1.25 > 0.3
    swapped = _Keypoints(enc, tmp_path, data=data, protocol='spair', alpha=0.3, target=(1, 0), num_figures=0).run()
    assert swapped['spair/pck@0.3'] == 0.0
    assert (tmp_path / 'figures' / 'correspond_spair_0.png').is_file()
    _spair(tmp_path, kps_trg=((30, 20), (60, 35)))
    with pytest.raises(ValueError, match=r'000001-a-b:cat.json: keypoint \[60.0, 35.0\] lies outside b.jpg'):
        SPairPairs(str(tmp_path), image_size=100)[0]
