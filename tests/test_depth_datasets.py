"""Depth / normals data sets: tiny fixtures written in each real on-disk layout, read back into batches."""
import os
import pickle

import numpy as np
import pytest
import scipy.io
import torch
from PIL import Image

from dense.datasets.common import collate
from dense.datasets.fixtures import write_navi
from dense.datasets.geo_common import clean_normals
from dense.datasets.navi import NAVIDataset
from dense.datasets.nyu import NYUDepthMMSeg, NYUProbe3D

H, W = 480, 640


def _depth_mm(rng, h=H, w=W):
    d = rng.uniform(500, 12000, (h, w)).astype(np.uint16)  # some beyond 10 m
    d[:20, :30] = 0
    return d


def _check_batch(batch, n, size, keys=('image', 'depth', 'normals')):
    assert batch['image'].shape == (n, 3, *size) and batch['image'].dtype == torch.float32
    assert 0 <= batch['image'].min() and batch['image'].max() <= 1
    assert batch['depth'].shape == (n, *size) and batch['depth'].dtype == torch.float32
    assert torch.isfinite(batch['depth']).all() and (batch['depth'] >= 0).all()
    if 'normals' in keys:
        n_len = batch['normals'].norm(dim=1)
        valid = n_len > 0
        assert torch.allclose(n_len[valid], torch.ones(()), atol=1e-5)
        assert not valid[batch['depth'] == 0].any()  # no normal where the depth is missing
    assert len(batch['meta']) == n


def test_nyu_mmseg_layout(tmp_path):
    rng = np.random.default_rng(0)
    for split in ('train', 'test'):
        os.makedirs(tmp_path / 'images' / split)
        os.makedirs(tmp_path / 'annotations' / split)
    depths = {}
    for i, name in enumerate(['bathroom_0001', 'kitchen_0002']):
        Image.fromarray(rng.integers(0, 255, (H, W, 3), dtype=np.uint8)).save(tmp_path / f'images/test/{name}.jpg')
        depths[name] = _depth_mm(rng)
        Image.fromarray(depths[name]).save(tmp_path / f'annotations/test/{name}.png')
    ds = NYUDepthMMSeg(str(tmp_path), 'test', center_crop=True)
    batch = collate([ds[0], ds[1]])
    _check_batch(batch, 2, (480, 480), keys=('image', 'depth'))
    want = depths['bathroom_0001'][:, 80:560].astype(np.float32) / 1000
    want[want > 10] = 0
    assert np.allclose(batch['depth'][0].numpy(), want)
    small = NYUDepthMMSeg(str(tmp_path), 'test', center_crop=True, size=(64, 64))[1]
    assert small['depth'].shape == (64, 64)


def test_nyu_mmseg_rejects_8bit_depth(tmp_path):
    os.makedirs(tmp_path / 'images/test')
    os.makedirs(tmp_path / 'annotations/test')
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / 'images/test/a.jpg')
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / 'annotations/test/a.png')
    with pytest.raises(ValueError, match='a.png: depth PNG must be 16-bit'):
        NYUDepthMMSeg(str(tmp_path), 'test', center_crop=False)[0]
    with pytest.raises(FileNotFoundError, match='mmseg NYU layout'):
        NYUDepthMMSeg(str(tmp_path / 'nope'), 'test')


def _normals(rng, n, h=H, w=W):
    v = rng.normal(size=(n, 3, h, w)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_nyu_probe3d_test_pickle(tmp_path):
    rng = np.random.default_rng(1)
    depths = rng.uniform(0.5, 11, (3, H, W)).astype(np.float32)
    depths[0, :10] = 0
    snorms = _normals(rng, 3)
    snorms[1, :, 5:9, 5:9] = np.nan  # broken normals become invalid
    data = {'depths': depths, 'images': rng.integers(0, 255, (3, 3, H, W), dtype=np.uint8), 'snorms': snorms,
            'scene_types': [['kitchen'], ['office'], ['bedroom']], 'test_indices': np.array([0, 2])}
    with open(tmp_path / 'nyu.pkl', 'wb') as f:
        pickle.dump(data, f)
    ds = NYUProbe3D(str(tmp_path / 'nyu.pkl'), 'test')
    assert len(ds) == 2
    batch = collate([ds[0], ds[1]])
    _check_batch(batch, 2, (480, 480))
    valid = batch['depth'][1] > 0  # beyond 10 m: depth and normal invalid, as Probe3D's depth > 0 mask
    assert 0 < valid.sum() < valid.numel() and (batch['normals'][1][:, ~valid] == 0).all()
    want = torch.from_numpy(snorms[2][:, :, 80:560])
    assert torch.allclose(batch['normals'][1][:, valid], want[:, valid], atol=1e-6)
    assert torch.allclose(batch['image'][0], torch.from_numpy(data['images'][0][:, :, 80:560]).float() / 255)


def test_nyu_probe3d_pickle_refuses_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ('echo hacked',))
    with open(tmp_path / 'bad.pkl', 'wb') as f:
        pickle.dump({'depths': Evil()}, f)
    with pytest.raises(pickle.UnpicklingError, match='refusing'):
        NYUProbe3D(str(tmp_path / 'bad.pkl'), 'test')


def test_nyu_probe3d_geonet_mat(tmp_path):
    rng = np.random.default_rng(2)
    for i in range(21):
        img = rng.integers(0, 255, (H, W, 3)).astype(np.float64) - 2 * np.array([122.175, 116.169, 103.508])
        norm = np.transpose(_normals(rng, 1)[0], (1, 2, 0)) * 1.02  # slightly off unit: renormalised
        scipy.io.savemat(tmp_path / f'kitchen_0001_r-{i:05d}.mat',
                         {'img': img, 'depth': rng.uniform(0.5, 9, (H, W)), 'norm': norm})
    assert len(NYUProbe3D(str(tmp_path), 'train')) == 19 and len(NYUProbe3D(str(tmp_path), 'valid')) == 2
    ds = NYUProbe3D(str(tmp_path), 'trainval', size=(96, 96))
    batch = collate([ds[0], ds[5]])
    _check_batch(batch, 2, (96, 96))
    full = NYUProbe3D(str(tmp_path), 'valid', center_crop=False)[0]
    raw = scipy.io.loadmat(tmp_path / 'kitchen_0001_r-00000.mat')
    want = np.clip(raw['img'] + 2 * np.array([122.175, 116.169, 103.508]), 0, 255).astype(np.uint8)
    assert torch.allclose(full['image'], torch.from_numpy(want).permute(2, 0, 1).float() / 255)


def _write_navi(root, rng):
    write_navi(root, rng, num=4)


def test_navi_layout_splits_and_normals(tmp_path):
    rng = np.random.default_rng(3)
    _write_navi(tmp_path, rng)
    train = NAVIDataset(str(tmp_path), 'train', size=(32, 32), every=1)
    valid = NAVIDataset(str(tmp_path), 'valid', size=(32, 32), every=1)
    test = NAVIDataset(str(tmp_path), 'test', size=(32, 32), every=2)
    assert (len(train), len(valid), len(test)) == (8, 8, 4)  # 2 scenes: int(0.9 * 2) = 1 train, 1 valid
    batch = collate([train[0], test[1]])
    _check_batch(batch, 2, (32, 32))
    assert batch['meta'][0]['scene'] == 'multiview_00_pixel' and batch['meta'][1]['scene'] == 'wild_set'
    full = NAVIDataset(str(tmp_path), 'test', size=None, box_crop=False, short_side=None, every=1)[0]
    n = full['normals'][:, 50, 60]
    # NAVI stores disparity, growing right and down: the plane comes nearer there; its normal is -(a f, b f, c)
    # for 1/z = a u + b v + c (tests/test_navi_probe3d.py), so x, y, z < 0
    assert n[0] < 0 and n[1] < 0 and n[2] < 0
    assert full['depth'][50, 60] == pytest.approx(655.35 / (1000 + 2 * 60 + 50), rel=1e-6)


def test_clean_normals_masks_broken_vectors():
    v = torch.tensor([[1.0, 0.0, 0.1, float('nan')], [0.0, 0.0, 0.0, 0.0], [0.0, 1.1, 0.0, 1.0]]).view(3, 1, 4)
    out = clean_normals(v)
    assert torch.allclose(out[:, 0, 0], torch.tensor([1.0, 0, 0])) and out[:, 0, 1].norm() == pytest.approx(1)
    assert (out[:, 0, 2:] == 0).all()  # too short and non-finite: invalid


# --- smoke configs of every real layout, run end to end on fixtures --------------------------------------------

def test_geometry_data_sets_are_registered():
    from dense.datasets import DATASETS
    assert DATASETS['nyu_mmseg'] is NYUDepthMMSeg and DATASETS['nyu_probe3d'] is NYUProbe3D
    assert DATASETS['navi'] is NAVIDataset


def _small_nyu_probe3d(root, rng):
    os.makedirs(root / 'geonet')
    for i in range(2):
        img = rng.integers(0, 255, (H, W, 3)).astype(np.float32) - 2 * np.array([122.175, 116.169, 103.508])
        norm = np.transpose(_normals(rng, 1)[0], (1, 2, 0))
        scipy.io.savemat(root / f'geonet/office_0001_r-{i:05d}.mat',
                         {'img': img.astype(np.float32), 'depth': rng.uniform(0.5, 9, (H, W)).astype(np.float32),
                          'norm': norm})
    data = {'depths': rng.uniform(0.5, 9, (2, H, W)).astype(np.float32),
            'images': rng.integers(0, 255, (2, 3, H, W), dtype=np.uint8), 'snorms': _normals(rng, 2),
            'scene_types': [['office'], ['kitchen']], 'test_indices': np.array([0, 1])}
    with open(root / 'nyu.pkl', 'wb') as f:
        pickle.dump(data, f)


def _small_nyu_mmseg(root, rng):
    for split in ('train', 'test'):
        os.makedirs(root / 'images' / split)
        os.makedirs(root / 'annotations' / split)
        for i in range(2):
            Image.fromarray(rng.integers(0, 255, (H, W, 3), dtype=np.uint8)).save(root / f'images/{split}/{i}.jpg')
            Image.fromarray(_depth_mm(rng)).save(root / f'annotations/{split}/{i}.png')


@pytest.mark.parametrize('config,layout', [
    ('configs/depth/nyu_linear-dpt_test64_smoke.py', 'nyu_probe3d'),
    ('configs/normals/nyu_linear-dpt_test64_smoke.py', 'nyu_probe3d'),
    ('configs/depth/nyummseg_linear-dpt_test64_smoke.py', 'nyu_mmseg'),
    ('configs/depth/navi_linear-dpt_test64_smoke.py', 'navi'),
    ('configs/normals/navi_linear-dpt_test64_smoke.py', 'navi'),
])
def test_smoke_config_per_layout(tmp_path, config, layout):
    from probes.train import as_config, run_training
    rng = np.random.default_rng(7)
    cfg = as_config(config)
    if layout == 'nyu_probe3d':
        _small_nyu_probe3d(tmp_path, rng)
        cfg.data.train.path, cfg.data.val.path = str(tmp_path / 'geonet'), str(tmp_path / 'nyu.pkl')
    elif layout == 'nyu_mmseg':
        _small_nyu_mmseg(tmp_path, rng)
        cfg.data.train.root = cfg.data.val.root = str(tmp_path)
    else:
        _write_navi(tmp_path, rng)
        cfg.data.train.root = cfg.data.val.root = str(tmp_path)
    cfg.work_dir = str(tmp_path / 'work')
    results = run_training(cfg)
    task = next(iter(cfg.tasks))
    assert set(results['best']) == {f'{task}/probe3d_linear', f'{task}/probe3d_dpt'}
    assert all(np.isfinite(results['best'][g]['val']['rmse']) for g in results['best'])
    assert (tmp_path / 'work' / 'metrics.json').is_file()
