"""Every protocol card row against the objects its config builds, and against the reference's own values.

docs/protocols.md is generated from the configs (probes/protocol_cards.py); this test regenerates it (the file must
match) and checks the built objects row by row: layers, norm, heads (parameter counts), padding, augmentation (run
on a sample), lr schedule values at chosen iterations, batch / order, inference settings and metrics.
"""
import math
from pathlib import Path

import pytest
import torch

from dense.datasets.common import augment
from probes.protocol_cards import CARDS, _specs, head_params, lr_factors, render
from probes.tasks import build_task
from probes.train.config import load_config
from probes.train.preprocess import feature_settings
from test_heads_reference import probe3d_dpt_layers, tips_decoder_layers

ROOT = Path(__file__).resolve().parents[1]


def cfg_of(name):
    return load_config(ROOT / 'configs' / name)


def layers_of(cfg):
    return {s.head: s.layers for s in _specs(cfg)}


def factors(cfg):
    return dict(lr_factors(cfg)[1])


def test_cards_file_is_generated_from_the_configs():
    assert (ROOT / 'docs/protocols.md').read_text() == render()
    assert all(len(card['refs']) == 12 for card in CARDS.values())


def test_probe3d_card():
    nyu = cfg_of('depth/nyu_linear-dpt_siglip2-b16-224_probe3d480.py')
    navi = cfg_of('normals/navi_linear-dpt_siglip2-so400m14-384_probe3d518.py')
    # layers: probe3d evals/models/siglip.py multilayers; So400m (27 blocks): 27//4*3-1 = 17
    assert layers_of(nyu) == {'probe3d_linear': (2, 5, 8, 11), 'probe3d_dpt': (2, 5, 8, 11)}
    assert layers_of(navi)['probe3d_dpt'] == (5, 12, 17, 26)
    for cfg in (nyu, navi):
        assert feature_settings(cfg.features) == dict(norm_layers=False, preprocess='encoder', center_pad=True)
        assert cfg.train_batch_size == 8 and cfg.train_shuffle is False and cfg.optimizer == dict(weight_decay=1e-2)
        assert not cfg.get('inference') and not cfg.get('lr_selection')
    # head: Probe3D's DPT at B/16 with 256 bins, counted from its published layer list (38.2 M)
    dpt = next(s for s in _specs(nyu) if s.head == 'probe3d_dpt')
    assert head_params(nyu, dpt) == sum(math.prod(v) for v in probe3d_dpt_layers(768, 256).values())
    # schedule: cosine_decay_linear_warmup(step, 1000, 150) at the marked steps
    f = factors(nyu)
    assert f[0] == pytest.approx(0.01) and f[150] == pytest.approx(1.0)
    assert f[999] == pytest.approx(0.99 * math.cos(0.5 * math.pi * 849 / 850) + 0.01)
    # augmentation: ColorJitter(0.2 x 4, p 0.8) and RandomResizedCrop(480, (0.5, 1), ratio 1, p 0.5)
    aug = nyu.data.train.augment
    assert aug['color_jitter'] == dict(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.2, p=0.8)
    assert aug['random_resized_crop'] == dict(size=(480, 480), scale=(0.5, 1.0), ratio=(1.0, 1.0), p=0.5)
    assert navi.data.train.augment == dict(color_jitter=dict(aug['color_jitter'], space='imagenet'))
    torch.manual_seed(1)
    sample = {'image': torch.rand(3, 480, 480), 'depth': torch.rand(480, 480), 'meta': {}}
    outs = [augment(sample, **aug) for _ in range(6)]
    assert all(o['image'].shape == (3, 480, 480) for o in outs)
    assert any(not torch.equal(o['depth'], sample['depth']) for o in outs)  # the crop fired at least once
    # metrics: per image, depth > 0 validity for normals, align_corners=True upsampling, 4-channel normals
    depth, normals = build_task('depth', **nyu.tasks.depth), build_task('normals', **navi.tasks.normals)
    assert depth.aggregation == 'per_image' and depth.align_corners and depth.bin_eps == 0.1
    assert (depth.min_depth, depth.max_depth) == (1e-3, 10.0)
    assert normals.valid_from_depth and normals.align_corners and normals.out_channels == 4
    assert build_task('depth', **cfg_of('depth/navi_linear-dpt_siglip2-b16-224_probe3d512.py').tasks.depth
                      ).max_depth == 1.0


def test_siglip2_tips_dense_card():
    so = cfg_of('depth/nyu_linear-pool-dpt_siglip2-so400m14-384_siglip2paper384.py')
    b = cfg_of('normals/navi_linear-pool-dpt_siglip2-b16-224_siglip2paper224.py')
    assert layers_of(so)['dpt'] == (6, 13, 20, 26) and layers_of(b)['dpt'] == (2, 5, 8, 11)  # TIPS's map
    assert all(s.pooled for s in _specs(so)) and feature_settings(so.features)['norm_layers'] is True
    assert not feature_settings(so.features)['center_pad'] and so.data.val.image_size == (384, 384)
    depth = build_task('depth', **so.tasks.depth)
    assert depth.bin_eps == 1e-3 and not depth.align_corners  # TIPS DepthDecoder: relu + min_depth
    assert build_task('normals', **b.tasks.normals).out_channels == 3  # TIPS NormalsDecoder
    dpt = next(s for s in _specs(b) if s.head == 'dpt')
    # TIPS decoder at B: 256 channels, post-process (96, 192, 384, 768), MAP readout, 3 outputs
    assert head_params(b, dpt) == sum(math.prod(v) for v in tips_decoder_layers(768, 3).values())


def test_siglip2_tips_seg_card():
    cfg = cfg_of('seg/ade20k_linear-dpt_siglip2-so400m14-384.py')
    assert layers_of(cfg) == {'linear': (26,), 'dpt': (6, 13, 20, 26)}
    assert feature_settings(cfg.features)['norm_layers'] is True
    assert cfg.lr_selection == dict(holdout=0.1, seed=0)
    assert sorted({s.lr for s in _specs(cfg) if s.head == 'linear'}) == [3e-4, 1e-3, 3e-3, 1e-2]
    aug = cfg.data.train.augment
    assert aug['cat_max_ratio'] == 0.75 and aug['photometric'] == {} and aug['flip'] is True
    assert aug['crop_size'] == (384, 384) and cfg.inference['mode'] == 'slide'


def test_cityscapes_card():
    cfg = cfg_of('seg/cityscapes_linear-dpt_siglip2-b16-512.py')
    aug = cfg.data.train.augment
    assert aug['crop_size'] == (512, 1024) and aug['resize'] == (1024, 2048) and aug['scale_range'] == (0.5, 2.0)
    assert cfg.data.val.image_resize == (1024, 2048)
    assert cfg.inference == dict(mode='slide', crop_size=(512, 1024), stride=(341, 683))


def test_dinov2_lin_and_ms_cards():
    lin = cfg_of('seg/ade20k_bnlinear_siglip2-b16-512.py')
    assert layers_of(lin) == {'bn_linear': (11,)} and {s.lr for s in _specs(lin)} == {1e-3}
    assert feature_settings(lin.features)['norm_layers'] is True and not lin.get('lr_selection')
    f = factors(lin)  # mmcv poly from iteration 0 x linear warm-up from 1e-6 over 1500 iterations
    assert f[0] == pytest.approx(1e-6) and f[1500] == pytest.approx(1 - 1500 / 40000)
    assert f[20750] == pytest.approx(1 - 20750 / 40000)
    assert lin.inference == dict(mode='slide', crop_size=(512, 512), stride=(341, 341))
    ms = cfg_of('seg/ade20k_bnlinear4-ms_siglip2-b16-512.py')
    assert layers_of(ms) == {'bn_linear': (8, 9, 10, 11)}
    assert ms.inference['scales'] == (1.0, 1.32, 1.73, 2.28, 3.0) and ms.inference['flip'] is True
    aug = ms.data.train.augment
    assert aug['crop_size'] == (640, 640) and aug['scale_range'] == (1.0, 3.0) and ms.data.val.image_resize == 640


def test_nyu_mmseg_card():
    cfg = cfg_of('depth/nyummseg_linear-dpt_siglip2-b16-224_mmseg480x640.py')
    assert cfg.data.train.center_crop is False and cfg.data.val.center_crop is False
    assert cfg.data.train.augment == dict(crop_size=(480, 480), flip=True)
    task = build_task('depth', **cfg.tasks.depth)
    assert task.eigen_crop and (task.min_depth, task.max_depth) == (1e-3, 10.0) and task.aggregation == 'per_image'


def test_so400m14_at_384_drops_the_last_pixels_like_hf():
    """Item 14: fed 384 px, the valid patch conv sees the first 378 (checked on the tiny encoder's patch)."""
    from dense.encoders import build_encoder
    enc = build_encoder('test')
    p = enc.patch_size
    x = torch.rand(1, 3, 4 * p + p - 2, 4 * p + p - 2)
    full, cropped = enc(x, layers=(-1,)), enc(x[..., :4 * p, :4 * p], layers=(-1,))
    assert torch.equal(full.tokens, cropped.tokens)
