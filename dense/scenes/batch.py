"""Scenes as a training batch of the probes' contract (docs/CONTRACTS.md, "Training batch")."""
from __future__ import annotations

import numpy as np
import torch

from dense.scenes.render import Scene


def to_batch(scenes: list[Scene]) -> dict:
    """Collate scenes of one size into ``{'image', 'seg', 'depth', 'normals', 'meta'}``.

    ``image`` is float32 (N, 3, H, W) in [0, 1] (not normalized), ``seg`` int64 (N, H, W), ``depth`` float32
    metres (N, H, W), ``normals`` float32 unit camera-frame vectors (N, 3, H, W); every pixel of a scene is valid.
    """
    if not scenes:
        raise ValueError('dense/scenes/batch.py: to_batch needs at least one scene')
    shapes = {s.semantic.shape for s in scenes}
    if len(shapes) != 1:
        raise ValueError(f'dense/scenes/batch.py: scenes of one batch must share a size, got {sorted(shapes)}')
    stack = lambda key: torch.from_numpy(np.stack([getattr(s, key) for s in scenes]))  # noqa: E731
    return {'image': stack('image').permute(0, 3, 1, 2).float() / 255,
            'seg': stack('semantic').long(),
            'depth': stack('depth'),
            'normals': stack('normals').permute(0, 3, 1, 2).contiguous(),
            'meta': [dict(img_path=f'scene:{s.seed}', ori_shape=s.semantic.shape, seed=s.seed) for s in scenes]}
