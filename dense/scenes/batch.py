"""Scenes as a training batch of the probes' contract (docs/CONTRACTS.md, "Training batch")."""
from __future__ import annotations

import numpy as np
import torch

from dense.scenes.render import Scene


def scene_sample(scene: Scene, img_path: str | None = None) -> dict:
    """One scene as a training sample (the batch contract without the batch axis); every pixel is valid."""
    return {'image': torch.from_numpy(scene.image.copy()).permute(2, 0, 1).float() / 255,
            'seg': torch.from_numpy(scene.semantic.astype(np.int64)),
            'depth': torch.from_numpy(scene.depth.copy()),
            'normals': torch.from_numpy(scene.normals.copy()).permute(2, 0, 1).contiguous(),
            'meta': dict(img_path=img_path or f'scene:{scene.seed}', ori_shape=scene.semantic.shape, seed=scene.seed)}


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
    samples = [scene_sample(s) for s in scenes]
    batch = {key: torch.stack([s[key] for s in samples]) for key in ('image', 'seg', 'depth', 'normals')}
    return dict(batch, meta=[s['meta'] for s in samples])
