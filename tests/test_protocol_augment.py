"""The reference pipelines' augmentation pieces, each checked against the reference code under the same seed:
torchvision ColorJitter / RandomResizedCrop (Probe3D), mmseg RandomCrop(cat_max_ratio) and PhotoMetricDistortion
(DINOv2 / TIPS segmentation)."""
import random

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.transforms import ColorJitter, RandomResizedCrop

from dense.datasets.common import IGNORE_INDEX, augment


def _sample(h=40, w=60, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {'image': torch.rand(3, h, w, generator=g), 'depth': torch.rand(h, w, generator=g) + 0.5,
            'normals': F.normalize(torch.randn(3, h, w, generator=g), dim=0),
            'seg': torch.randint(0, 3, (h, w), generator=g), 'meta': {}}


def test_color_jitter_is_torchvision_random_apply():
    s = _sample()
    for seed in range(6):
        torch.manual_seed(seed)
        out = augment(s, color_jitter=dict(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.2, p=0.8))
        torch.manual_seed(seed)
        want = ColorJitter(0.2, 0.2, 0.2, 0.2)(s['image']) if torch.rand(1).item() < 0.8 else s['image']
        assert torch.equal(out['image'], want)
        assert torch.equal(out['depth'], s['depth'])  # labels untouched


def test_random_resized_crop_nearest_for_everything():
    s = _sample()
    applied = 0
    for seed in range(8):
        torch.manual_seed(seed)
        out = augment(s, random_resized_crop=dict(size=(32, 32), scale=(0.5, 1.0), ratio=(1.0, 1.0), p=0.5))
        torch.manual_seed(seed)
        if torch.rand(1).item() >= 0.5:
            assert out['image'].shape == (3, 40, 60) and torch.equal(out['depth'], s['depth'])
            continue
        applied += 1
        top, left, h, w = RandomResizedCrop.get_params(s['image'], [0.5, 1.0], [1.0, 1.0])
        assert h == w  # ratio 1
        rows, cols = (torch.arange(32) * h / 32).floor().long() + top, (torch.arange(32) * w / 32).floor().long() + left
        for key in ('image', 'depth', 'normals', 'seg'):
            assert torch.equal(out[key], s[key][..., rows, :][..., cols]), key
    assert 0 < applied < 8


def test_cat_max_ratio_crop_is_mmsegs():
    import dense.mmcv_compat
    dense.mmcv_compat.install()
    from mmseg.datasets.transforms import RandomCrop
    s = _sample()
    s['seg'][:, :45] = 0  # one class dominates most windows
    for seed in range(4):
        np.random.seed(seed)
        random.seed(seed)
        out = augment(s, crop_size=(20, 20), cat_max_ratio=0.75)
        np.random.seed(seed)
        ref = RandomCrop((20, 20), 0.75, IGNORE_INDEX).transform(
            {'img': (s['image'].permute(1, 2, 0).numpy() * 255).astype(np.uint8),
             'gt_seg_map': s['seg'].numpy().astype(np.uint8), 'seg_fields': ['gt_seg_map']})
        assert np.array_equal(out['seg'].numpy(), ref['gt_seg_map'])


def test_crop_pads_labels_with_the_ignore_index():
    out = augment(_sample(10, 12), crop_size=(16, 16))
    assert (out['seg'][10:] == IGNORE_INDEX).all() and (out['seg'][:, 12:] == IGNORE_INDEX).all()
    assert (out['image'][:, 10:] == 0).all()


def test_photometric_distortion_is_mmsegs():
    import dense.mmcv_compat
    dense.mmcv_compat.install()
    from mmseg.datasets.transforms import PhotoMetricDistortion
    s = _sample()
    s['image'] = (s['image'] * 255).round() / 255
    bgr = np.ascontiguousarray((s['image'] * 255).round().byte().permute(1, 2, 0).numpy()[..., ::-1])
    for seed in range(4):
        np.random.seed(seed)
        out = augment(s, photometric={})
        np.random.seed(seed)
        ref = PhotoMetricDistortion().transform({'img': bgr.copy()})['img'][..., ::-1]
        assert np.array_equal((out['image'] * 255).round().byte().permute(1, 2, 0).numpy(), ref.astype(np.uint8))


def test_imagenet_space_jitter_is_probe3d_navi_order():
    """get_navi_transforms: ToTensor, Normalize(ImageNet), ..., RandomApply(ColorJitter) -- jitter on normalised
    values (torchvision clips them to [0, 1]); ours maps back to pixels, so normalising again gives Probe3D's."""
    from torchvision.transforms import Normalize, RandomApply
    s = _sample()
    norm = Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    for seed in range(4):
        torch.manual_seed(seed)
        out = augment(s, color_jitter=dict(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.2, p=0.8,
                                           space='imagenet'))
        torch.manual_seed(seed)
        want = RandomApply([ColorJitter(0.2, 0.2, 0.2, 0.2)], p=0.8)(norm(s['image']))
        assert torch.allclose(norm(out['image']), want, atol=1e-5)


def test_nyu_jitter_runs_on_the_full_frame_before_the_centre_crop():
    """Probe3D NYU: image_transform (ColorJitter on 480 x 640) first, then image[..., 80:-80]."""
    from dense.datasets.nyu import _finish
    s = _sample(480, 640)
    jitter = dict(brightness=0.2, contrast=0.4, saturation=0.2, hue=0.2, p=1.0)
    torch.manual_seed(0)
    out = _finish(dict(s), True, None, dict(color_jitter=jitter), None)
    torch.manual_seed(0)
    torch.rand(1)  # the RandomApply draw
    want = ColorJitter(0.2, 0.4, 0.2, 0.2)(s['image'])[..., 80:-80]
    assert torch.allclose(out['image'], want, atol=1e-6)
