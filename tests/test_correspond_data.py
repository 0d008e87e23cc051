"""Correspondence data in their published layouts: NAVI and ScanNet pairs written from embedded-scene pairs (known
geometry) in the real encodings, SPair-71k pairs with hand-placed keypoints; readers checked against the truth."""
import json

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.spatial.transform import Rotation

from dense.encoders import build_encoder
from dense.scenes.layout import sample_layout
from dense.scenes.pairs import orbit, render_pair
from dense.datasets.pairs import NAVIPairs, ScanNetPairs, SPairPairs
from probes.evaluations.correspond import Correspondence

SIZE = (48, 64)
SEED = 1_000_003
NAVI_SCALE = 0.1  # scene metres -> NAVI metres, so depths fall in NAVI's 16-bit disparity range


@pytest.fixture(scope='module')
def scene():
    pair = render_pair(SEED, SIZE)
    layout = sample_layout(SEED)
    poses = [(layout.camera.origin, layout.camera.rotation()), orbit(layout, pair.yaw)]
    return pair, poses


def _surface_check(xyz: torch.Tensor, depth: np.ndarray, K: np.ndarray, scale: float) -> float:
    """Median relative depth error of a reader's points against the rendered depth at their projection."""
    pts = xyz.permute(1, 2, 0)[xyz[2] > 0].double().numpy() / scale
    uv = pts @ K.T
    col, row = (uv[:, 0] / uv[:, 2]).astype(int), (uv[:, 1] / uv[:, 2]).astype(int)
    inside = (col >= 0) & (col < depth.shape[1]) & (row >= 0) & (row < depth.shape[0])
    assert inside.mean() > 0.99
    return float(np.median(np.abs(depth[row[inside], col[inside]] - pts[inside, 2]) / pts[inside, 2]))


def test_scannet_pairs_read_the_published_layout(tmp_path, scene):
    pair, poses = scene
    base = tmp_path / 'scene0000_00'
    for folder in ('color', 'depth', 'pose'):
        (base / folder).mkdir(parents=True)
    for frame, (view, (origin, axes)) in enumerate(zip((pair.view_0, pair.view_1), poses)):
        Image.fromarray(view.image).save(base / 'color' / f'{frame}.jpg', quality=95)
        mm = np.where(np.isfinite(view.depth), np.round(view.depth * 1000), 0).astype(np.uint16)
        Image.fromarray(mm).save(base / 'depth' / f'{frame}.png')
        np.savetxt(base / 'pose' / f'{frame}.txt', np.block([[axes, origin[:, None]], [np.zeros((1, 3)), 1]]),
                   delimiter=' ')
    np.savez(tmp_path / 'intrinsics.npz', scene0000_00=pair.K.astype(np.float64))
    np.savez(tmp_path / 'test.npz', name=np.array([[0, 0, 0, 1]]))
    sample = ScanNetPairs(str(tmp_path), image_size=SIZE)[0]
    np.testing.assert_allclose(sample['Rt_01'].numpy(), pair.Rt_01, atol=1e-5)
    np.testing.assert_allclose(sample['xyz_0'].permute(1, 2, 0).numpy(), pair.xyz_0, atol=2e-3)
    assert sample['angle'] == pytest.approx(pair.angle, abs=1e-3)
    (base / 'pose' / '1.txt').write_text('1 0 0\n0 1 0\n')
    with pytest.raises(ValueError, match='1.txt'):
        ScanNetPairs(str(tmp_path), image_size=SIZE)[0]


def _navi_annotation(name: str, view, origin, axes, focal) -> dict:
    # the scenes' world (X right, Y up, Z away) is left-handed: mirror Z so the pose is a proper rotation
    # (camera-frame points are unchanged)
    mirror = np.diag([1.0, 1.0, -1.0])
    world_to_cam, origin = (mirror @ axes).T, mirror @ origin
    x, y, z, w = Rotation.from_matrix(world_to_cam).as_quat()
    t = -world_to_cam @ origin * NAVI_SCALE * 1000  # millimetres
    return {'filename': name, 'image_size': list(view.depth.shape), 'camera':
            {'focal_length': focal, 'q': [w, x, y, z], 't': t.tolist()}}


def test_navi_pairs_read_disparity_poses_and_intrinsics(tmp_path, scene):
    pair, poses = scene
    for folder in ('wild_set', 'multiview_00_pixel'):
        d = tmp_path / 'obj' / folder
        (d / 'images').mkdir(parents=True), (d / 'depth').mkdir()
        anns = []
        for k, (view, (origin, axes)) in enumerate(zip((pair.view_0, pair.view_1), poses)):
            Image.fromarray(view.image).save(d / 'images' / f'{k:03d}.jpg')
            depth_mm = view.depth * NAVI_SCALE * 1000
            near = np.isfinite(depth_mm) & (view.depth < 0.6 * np.nanmax(view.depth[np.isfinite(view.depth)]))
            value = np.where(near, np.round(65535 * 10 / np.where(near, depth_mm, 1)), 0).astype(np.uint16)
            Image.fromarray(value).save(d / 'depth' / f'{k:03d}.png')
            anns.append(_navi_annotation(f'{k:03d}.jpg', view, origin, axes, float(pair.K[0, 0])))
        (d / 'annotations.json').write_text(json.dumps(anns))
    data = NAVIPairs(str(tmp_path), size=48, every=1)
    assert len(data) == 2
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
