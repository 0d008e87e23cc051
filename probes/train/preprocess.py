"""Per-protocol feature settings: which normalisation the pixels get, padding to whole patches, and whether the
probed layers go through the encoder's final LayerNorm.

- ``norm_layers``: DINOv2's evaluations take intermediate layers through the final norm
  (facebookresearch/dinov2 ``dinov2/models/vision_transformer.py: get_intermediate_layers(norm=True)``, used by
  ``dinov2/eval/depth`` and ``eval/segmentation`` backbones), as TIPS's decoders do (google-deepmind/tips
  ``pytorch/image_encoder.py: get_intermediate_layers(norm=True)``); Probe3D takes raw block outputs
  (mbanani/probe3d ``evals/models/siglip.py: SigLIP.forward`` appends ``blk(x)``).
- ``preprocess``: ``'encoder'`` = the encoder's own normalisation (SigLIP 2: [-1, 1], right for SigLIP 2);
  ``'probe3d'`` = ImageNet mean / std for every backbone, as Probe3D's ``evals/datasets/utils.py:
  get_nyu_transforms / get_navi_transforms(image_mean='imagenet')`` applies it (SigLIP included: reproduces
  Probe3D's published SigLIP numbers).
- ``center_pad``: zero-pad the normalised image to whole patches, centred (Probe3D ``evals/models/utils.py:
  center_padding``: 480 -> 490 and 512 -> 518 for /14), instead of resizing it.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from dense.datasets.common import IMAGENET_MEAN, IMAGENET_STD

PREPROCESS = ('encoder', 'probe3d')
DEFAULTS = dict(norm_layers=False, preprocess='encoder', center_pad=False)


def feature_settings(options: dict | None) -> dict:
    """``options`` over :data:`DEFAULTS`, checked (a clear error for an unknown key or value)."""
    out = dict(DEFAULTS, **(options or {}))
    unknown = set(out) - set(DEFAULTS)
    if unknown:
        raise ValueError(f'features: unknown settings {sorted(unknown)}; known: {sorted(DEFAULTS)}')
    if out['preprocess'] not in PREPROCESS:
        raise ValueError(f"features.preprocess must be one of {PREPROCESS}, got {out['preprocess']!r}")
    return out


def center_pad(x: torch.Tensor, patch: int) -> torch.Tensor:
    """Zero-pad ``[N, C, H, W]`` to multiples of ``patch``, the extra split top / bottom (top gets the floor)."""
    h, w = x.shape[-2:]
    if h % patch == 0 and w % patch == 0:
        return x
    pad_h, pad_w = (patch - h % patch) % patch, (patch - w % patch) % patch
    return F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))


def encoder_input(encoder, x01: torch.Tensor, settings: dict) -> torch.Tensor:
    """Pixels in [0, 1] -> the encoder's input under ``settings`` (normalised, maybe padded); NaN or
    out-of-range pixels (0-255 floats) are a one-line error (``dense.extract.check_pixels``)."""
    from dense.extract import check_pixels
    if not x01.is_cuda:  # CUDA inputs were checked on the host before their copy (BatchPreprocessor, load_image):
        check_pixels(x01)  # reading device values here would stall every training step
    if settings['preprocess'] == 'probe3d':
        mean = x01.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = x01.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
        x = (x01 - mean) / std
    else:
        x = encoder.normalize(x01)
    return center_pad(x, encoder.patch_size) if settings['center_pad'] else x
