"""Shared data-set utilities: image / label loading with clear errors, augmentation, batch collation.

Every data set yields samples ``{'image': float32[3, H, W] in [0, 1], 'seg': int64[H, W], ..., 'meta': dict}``
and :func:`collate` stacks them into the training batch of docs/CONTRACTS.md. Instance-level labels follow the
image through every augmentation: ``boxes`` (float32[n, 4], x0 y0 x1 y1 in pixels of the image as it is now) with
``box_labels`` (int64[n]), and ``target_box`` (float32[4], a referring expression's box).
"""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

IGNORE_INDEX = 255
IMAGENET_MEAN = (0.485, 0.456, 0.406)  # torchvision / Probe3D ImageNet statistics
IMAGENET_STD = (0.229, 0.224, 0.225)
LABEL_KEYS = ('seg', 'depth', 'normals')
# per-sample values of varying length or non-tensors: collated as lists, never stacked
LIST_KEYS = ('boxes', 'box_labels', 'queries', 'expression')


def _scale_boxes(sample: dict, sy: float, sx: float) -> dict:
    """Boxes of ``sample`` scaled by ``sx`` (x) and ``sy`` (y)."""
    out = dict(sample)
    factor = torch.tensor([sx, sy, sx, sy])
    for key in ('boxes', 'target_box'):
        if key in sample:
            out[key] = sample[key] * factor
    return out


def _crop_boxes(sample: dict, y0: int, x0: int, height: int, width: int) -> dict:
    """Boxes shifted into a crop window and clipped to it; ``boxes`` left with no area are dropped."""
    out = dict(sample)
    shift = torch.tensor([x0, y0, x0, y0], dtype=torch.float32)
    limit = torch.tensor([width, height, width, height], dtype=torch.float32)
    for key in ('boxes', 'target_box'):
        if key in sample:
            out[key] = torch.minimum((sample[key] - shift).clamp_min(0), limit)
    if 'boxes' in out:
        keep = (out['boxes'][:, 2] > out['boxes'][:, 0]) & (out['boxes'][:, 3] > out['boxes'][:, 1])
        out['boxes'] = out['boxes'][keep]
        if 'box_labels' in out:
            out['box_labels'] = out['box_labels'][keep]
    return out


def load_label(path: str | Path) -> np.ndarray:
    """Single-channel label map (palette or grey PNG) as a uint8/uint16 array, unmodified."""
    try:
        with Image.open(path) as img:
            if img.mode not in ('L', 'P', 'I', 'I;16'):
                raise ValueError(f'label must be a single-channel PNG, got mode {img.mode}')
            return np.asarray(img).copy()
    except (OSError, ValueError) as err:
        raise ValueError(f'{path}: cannot read label ({err})') from err


def check_seg_label(label: np.ndarray, num_classes: int, path: str | Path, ignore_index: int = IGNORE_INDEX) -> None:
    """Raise if a label holds a value outside ``[0, num_classes)`` that is not ``ignore_index``."""
    values = np.unique(label)
    bad = values[(values >= num_classes) & (values != ignore_index)]
    if bad.size or (values < 0).any():
        raise ValueError(f'{path}: label values {bad.tolist()[:8]} outside [0, {num_classes}) and not the '
                         f'ignore index {ignore_index}; check the label files or the data set type')


def check_same_size(image: torch.Tensor, label: np.ndarray | torch.Tensor, image_path, label_path) -> None:
    """Raise if an image and its label differ in size."""
    if tuple(image.shape[-2:]) != tuple(label.shape[-2:]):
        raise ValueError(f'{label_path}: label size {tuple(label.shape[-2:])} differs from image {image_path} '
                         f'size {tuple(image.shape[-2:])}')


def _resize_sample(sample: dict, size: tuple[int, int]) -> dict:
    height, width = sample['image'].shape[-2:]
    out = _scale_boxes(sample, size[0] / height, size[1] / width)
    out['image'] = F.interpolate(sample['image'][None], size=size, mode='bilinear', align_corners=False,
                                 antialias=True)[0]
    for key in LABEL_KEYS:
        if key in sample:
            value = sample[key]
            x = value[None, None] if value.dim() == 2 else value[None]
            resized = F.interpolate(x.float(), size=size, mode='nearest')[0]
            out[key] = resized[0].to(value.dtype) if value.dim() == 2 else resized
    return out


def augment(sample: dict, crop_size: tuple[int, int] | None = None, scale_range: tuple[float, float] = (1.0, 1.0),
            flip: bool = False, resize: tuple[int, int] | int | None = None, cat_max_ratio: float = 1.0,
            photometric: dict | None = None, color_jitter: dict | None = None,
            random_resized_crop: dict | None = None) -> dict:
    """Random rescale, random crop and horizontal flip (mmseg's RandomResize + RandomCrop + RandomFlip), drawn
    with python's ``random`` (seeded by the runner and its worker_init_fn); optionally the reference pipelines'
    other pieces (defaults off).

    Args:
        sample: Image and label maps.
        crop_size: ``(h, w)`` crop, padded with the ignore label / zeros where the image is smaller (mmseg's
            ``Pad(seg_pad_val=255)``).
        scale_range: Random factor on the base size.
        flip: Flip horizontally with probability 0.5 (negating the x component of ``normals``).
        resize: Base size before the random factor: ``(H, W)``, an int short side (aspect kept), or None.
        cat_max_ratio: < 1: mmseg's ``RandomCrop(cat_max_ratio)`` (up to 10 draws until no class covers this
            share of the crop's labelled pixels), drawn by mmseg's own code.
        photometric: options of mmseg's ``PhotoMetricDistortion`` (``{}`` = its defaults), run by mmseg's code.
        color_jitter: ``dict(brightness, contrast, saturation, hue, p, space)``: torchvision ``ColorJitter``
            applied with probability ``p`` (Probe3D ``get_nyu_transforms`` / ``get_navi_transforms``: 0.2 each,
            p 0.8; NAVI's on ImageNet-normalised values: ``space='imagenet'``).
        random_resized_crop: ``dict(size, scale, ratio, p)``: with probability ``p`` a torchvision /
            albumentations ``RandomResizedCrop`` window resized to ``size`` with nearest neighbour for the image
            and every label (Probe3D NYU: size 480, scale (0.5, 1), ratio (1, 1), p 0.5, ``interpolation=0``).
    """
    height, width = sample['image'].shape[-2:]
    base = target_size((height, width), resize)
    scale = random.uniform(*scale_range) if tuple(scale_range) != (1.0, 1.0) else 1.0
    size = (max(1, round(base[0] * scale)), max(1, round(base[1] * scale)))
    if size != (height, width):
        sample = _resize_sample(sample, size)
    if color_jitter is not None:
        sample = _color_jitter(sample, **color_jitter)
    if random_resized_crop is not None:
        sample = _random_resized_crop(sample, **random_resized_crop)
    if crop_size is not None:
        origin = _mmseg_crop_origin(sample, tuple(crop_size), cat_max_ratio) if cat_max_ratio < 1 else None
        sample = _random_crop(sample, tuple(crop_size), origin)
    if flip and random.random() < 0.5:
        sample = _hflip(sample)
    if photometric is not None:
        sample = _photometric(sample, photometric)
    return sample


def _color_jitter(sample: dict, brightness=0.0, contrast=0.0, saturation=0.0, hue=0.0, p: float = 1.0,
                  space: str = 'pixels') -> dict:
    """torchvision ``RandomApply([ColorJitter(...)], p)`` (torch's RNG) on the [0, 1] image, or with
    ``space='imagenet'`` on its ImageNet-normalised values (mapped back after), as Probe3D's
    ``get_navi_transforms`` runs it after ``Normalize`` (torchvision then clips the normalised values to [0, 1])."""
    from torchvision.transforms import ColorJitter
    if space not in ('pixels', 'imagenet'):
        raise ValueError(f"color_jitter: space must be 'pixels' or 'imagenet', got {space!r}")
    if torch.rand(1).item() >= p:
        return sample
    jitter = ColorJitter(brightness, contrast, saturation, hue)
    if space == 'pixels':
        return dict(sample, image=jitter(sample['image']))
    mean, std = torch.tensor(IMAGENET_MEAN)[:, None, None], torch.tensor(IMAGENET_STD)[:, None, None]
    return dict(sample, image=jitter((sample['image'] - mean) / std) * std + mean)


def _random_resized_crop(sample: dict, size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), p: float = 1.0) -> dict:
    """With probability ``p``: torchvision's ``RandomResizedCrop.get_params`` window (the algorithm albumentations
    follows), every map resized to ``size`` with nearest neighbour."""
    from torchvision.transforms import RandomResizedCrop
    if torch.rand(1).item() >= p:
        return sample
    top, left, h, w = RandomResizedCrop.get_params(sample['image'], list(scale), list(ratio))
    out = _crop_boxes(sample, top, left, h, w)
    for key in ('image', *LABEL_KEYS):
        if key in sample:
            out[key] = sample[key][..., top:top + h, left:left + w]
    size = (size, size) if isinstance(size, int) else tuple(size)
    out = _scale_boxes(out, size[0] / h, size[1] / w)
    for key in ('image', *LABEL_KEYS):
        if key in out:
            value = out[key]
            x = value[None, None] if value.dim() == 2 else value[None]
            resized = F.interpolate(x.float(), size=size, mode='nearest')[0]
            out[key] = resized[0].to(value.dtype) if value.dim() == 2 else resized
    return out


def _as_bgr_uint8(image: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray((image.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()[..., ::-1])


def _mmseg_crop_origin(sample: dict, crop: tuple[int, int], cat_max_ratio: float) -> tuple[int, int]:
    """The top-left corner mmseg's ``RandomCrop(crop, cat_max_ratio).crop_bbox`` draws (its own code)."""
    from dense.mmcv_compat import install
    install()
    from mmseg.datasets.transforms import RandomCrop
    seg = sample['seg'].numpy().astype(np.uint8) if 'seg' in sample else None
    if seg is None:
        raise KeyError('augment: cat_max_ratio needs a segmentation label (seg)')
    cropper = RandomCrop(crop, cat_max_ratio, IGNORE_INDEX)  # held: mmcv's cache_randomness keeps a weakref
    y0, _, x0, _ = cropper.crop_bbox({'img': np.zeros((*sample['image'].shape[-2:], 1), np.uint8),
                                      'gt_seg_map': seg})
    return int(y0), int(x0)


def _photometric(sample: dict, options: dict) -> dict:
    """mmseg's ``PhotoMetricDistortion`` (its own code, on the BGR uint8 image it expects)."""
    from dense.mmcv_compat import install
    install()
    from mmseg.datasets.transforms import PhotoMetricDistortion
    bgr = PhotoMetricDistortion(**options).transform({'img': _as_bgr_uint8(sample['image'])})['img']
    rgb = torch.from_numpy(np.ascontiguousarray(np.asarray(bgr)[..., ::-1]).astype(np.float32))
    return dict(sample, image=rgb.permute(2, 0, 1) / 255)


def target_size(size: tuple[int, int], resize: tuple[int, int] | int | None) -> tuple[int, int]:
    """``resize`` as a size: ``(H, W)`` as given, an int as the short side keeping the aspect, None = ``size``."""
    if resize is None:
        return tuple(size)
    if isinstance(resize, int):
        scale = resize / min(size)
        return round(size[0] * scale), round(size[1] * scale)
    return tuple(resize)


def _pad_value(key: str) -> float:
    return IGNORE_INDEX if key == 'seg' else 0


def _random_crop(sample: dict, crop: tuple[int, int], origin: tuple[int, int] | None = None) -> dict:
    height, width = sample['image'].shape[-2:]
    pad_h, pad_w = max(crop[0] - height, 0), max(crop[1] - width, 0)
    if origin is not None:
        y0, x0 = origin
    else:
        y0 = random.randint(0, max(height - crop[0], 0))
        x0 = random.randint(0, max(width - crop[1], 0))
    out = _crop_boxes(sample, y0, x0, min(crop[0], height - y0), min(crop[1], width - x0))
    for key in ('image', *LABEL_KEYS):
        if key not in sample:
            continue
        value = sample[key][..., y0:y0 + crop[0], x0:x0 + crop[1]]
        if pad_h or pad_w:
            value = F.pad(value, (0, pad_w, 0, pad_h), value=_pad_value(key))
        out[key] = value
    return out


def _hflip(sample: dict) -> dict:
    out = dict(sample)
    for key in ('image', *LABEL_KEYS):
        if key in sample:
            out[key] = sample[key].flip(-1)
    if 'normals' in sample:
        out['normals'] = out['normals'] * torch.tensor([-1.0, 1.0, 1.0])[:, None, None]
    width = sample['image'].shape[-1]
    for key in ('boxes', 'target_box'):
        if key in sample:
            box = sample[key]
            out[key] = torch.stack([width - box[..., 2], box[..., 1], width - box[..., 0], box[..., 3]], dim=-1)
    return out


def collate(samples: list[dict]) -> dict:
    """Stack samples into the training batch dict; ``meta`` and the :data:`LIST_KEYS` become lists."""
    batch = {'meta': [s.get('meta', {}) for s in samples]}
    for key in LIST_KEYS:
        if key in samples[0]:
            batch[key] = [s[key] for s in samples]
    for key in ('image', *LABEL_KEYS, 'target_box'):
        if key not in samples[0]:
            continue
        shapes = {tuple(s[key].shape) for s in samples}
        if len(shapes) > 1:
            raise ValueError(f'cannot batch {key!r} of different sizes {sorted(shapes)}: use batch_size=1 or '
                             'a fixed resize / crop')
        batch[key] = torch.stack([s[key] for s in samples])
    return batch


def batch_image_size(batch: dict) -> tuple[int, int]:
    """``(H, W)`` of a batch's images: ``image``'s, or a feature-cache batch's ``image_size`` (it has no images)."""
    if 'image' in batch:
        return tuple(batch['image'].shape[-2:])
    if 'image_size' in batch:
        return tuple(int(v) for v in batch['image_size'])
    raise KeyError('batch: neither images nor image_size (a feature-cache batch carries image_size)')


def batch_device(batch: dict) -> torch.device:
    """The device a batch's tensors are on: the images', or a feature-cache batch's features'."""
    if 'image' in batch:
        return batch['image'].device
    return next(iter(batch['features'].values())).device
