"""Floor baselines that follow the Encoder contract (docs/CONTRACTS.md) without learning anything.

``PixelEncoder`` hands a probe each patch's raw pixels: what a linear probe reaches on these features is the floor
an encoder has to beat.
"""
from __future__ import annotations

import torch
from torch import nn

from dense.encoders import EncoderOutput


class PixelEncoder(nn.Module):
    """Raw-pixel "encoder": layer 0 holds each p x p patch's normalized pixels flattened as 3*p*p channels.

    Channel order is (colour, row, column) within the patch. Like a stride-p patch embedding, trailing rows and
    columns that do not fill a whole patch are dropped. ``pooled`` is the mean over patches.

    Args:
        patch_size: Patch side in pixels.
        image_size: Native (H, W) the feature extractor resizes to by default.
    """
    variant = 'pixels'
    weights_sha256 = 'none'
    depth = 1
    default_layers = (0,)
    mean = (0.5, 0.5, 0.5)
    std = (0.5, 0.5, 0.5)

    def __init__(self, patch_size: int = 16, image_size: tuple[int, int] = (224, 224)):
        super().__init__()
        if patch_size < 1:
            raise ValueError(f'dense/baselines.py: patch_size must be >= 1, got {patch_size}')
        self.patch_size = int(patch_size)
        self.embed_dim = 3 * self.patch_size ** 2
        self.image_size = tuple(image_size)
        self.eval()

    def normalize(self, x01: torch.Tensor) -> torch.Tensor:
        """Pixels in [0, 1] to [-1, 1], as SigLIP 2 preprocesses them."""
        mean = torch.tensor(self.mean, dtype=x01.dtype, device=x01.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=x01.dtype, device=x01.device).view(1, 3, 1, 1)
        return (x01 - mean) / std

    def forward(self, pixels: torch.Tensor, layers=(0,)) -> EncoderOutput:
        """Patchify normalized pixels (N, 3, H, W); ``layers`` may name block 0 (or -1, the same block)."""
        wanted = sorted({0 if i == -1 else i for i in layers})
        if wanted != [0]:
            raise ValueError(f'dense/baselines.py: PixelEncoder has one layer (0 or -1), got layers={tuple(layers)}')
        p = self.patch_size
        n, c, height, width = pixels.shape
        h, w = height // p, width // p
        if h == 0 or w == 0:
            raise ValueError(f'dense/baselines.py: image {height}x{width} is smaller than one {p}x{p} patch')
        x = pixels[:, :, :h * p, :w * p].reshape(n, c, h, p, w, p)
        grid = x.permute(0, 1, 3, 5, 2, 4).reshape(n, c * p * p, h, w)
        tokens = grid.flatten(2).transpose(1, 2)
        return EncoderOutput(layers={0: grid}, tokens=tokens, pooled=tokens.mean(1))
