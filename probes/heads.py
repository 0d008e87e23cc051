"""Probe heads on frozen patch features: linear (SigLIP 2 / TIPS), BN + linear (DINOv2) and DPT.

Every head is a plain ``nn.Module`` registered in :data:`HEADS`. The constructor takes explicit dimensions
(``in_dims``: one channel count per input layer, ``out_channels``) plus head options; ``forward(feats, pooled)``
takes a list of ``[N, C_i, h, w]`` feature maps (and the ``[N, C]`` pooled embedding when the head was built with
``pooled_dim > 0``) and returns logits ``[N, out_channels, h', w']`` at the feature resolution or higher. Heads
never modify their inputs (features may be cached and shared by many probes).

References:
    - Linear probe with the global embedding concatenated to each patch: Maninis et al. 2024, "TIPS: Text-Image
      Pretraining with Spatial awareness", and Tschannen et al. 2025, "SigLIP 2", Sec. 3.3.1 (MAP output
      instead of the CLS token).
    - BN + 1x1 conv on one or several layers: Oquab et al. 2023, "DINOv2", Sec. 7.4 ("lin" and "+ms").
    - DPT: Ranftl et al. 2021, "Vision Transformers for Dense Prediction" (reassemble, fusion with residual
      conv units, "project" readout); El Banani et al. 2024, "Probing the 3D Awareness of Visual Foundation
      Models" (4 layers at quarter depths).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from probes.heads_ref import REF_HEADS


def _check_inputs(head: nn.Module, feats: list[torch.Tensor], pooled: torch.Tensor | None) -> None:
    """Raise a clear error when the features do not match what the head was built for."""
    if len(feats) != len(head.in_dims):
        raise ValueError(f'{type(head).__name__} was built for {len(head.in_dims)} feature maps '
                         f'(in_dims={head.in_dims}) but got {len(feats)}')
    got = [int(f.shape[1]) for f in feats]
    if got != list(head.in_dims):
        raise ValueError(f'{type(head).__name__}: feature channels {got} differ from in_dims {head.in_dims}')
    if head.pooled_dim and pooled is None:
        raise ValueError(f'{type(head).__name__} was built with pooled_dim={head.pooled_dim}: pass `pooled`')


def _concat_layers(feats: list[torch.Tensor]) -> torch.Tensor:
    """Concatenate feature maps along channels, resizing each to the first one's grid (DINOv2 resize_concat)."""
    size = feats[0].shape[-2:]
    resized = [f if f.shape[-2:] == size else F.interpolate(f, size=size, mode='bilinear', align_corners=False)
               for f in feats]
    return torch.cat(resized, dim=1)


def _broadcast_pooled(x: torch.Tensor, pooled: torch.Tensor) -> torch.Tensor:
    """Append the pooled embedding to every position of ``x`` (TIPS / SigLIP 2 linear probe)."""
    n, _, h, w = x.shape
    return torch.cat([x, pooled[:, :, None, None].to(x.dtype).expand(n, -1, h, w)], dim=1)


class LinearHead(nn.Module):
    """A linear layer on every patch feature (1x1 conv), the SigLIP 2 / TIPS linear probe.

    Args:
        in_dims: Channels of each input layer; several layers are concatenated.
        out_channels: Number of outputs per patch (classes, depth bins, ...).
        pooled_dim: Channels of the pooled (MAP) embedding to concatenate to every patch; 0 = none.
        batch_norm: Normalize the concatenated features with BatchNorm first (DINOv2's "lin" head).
        dropout: Dropout probability on the features before the classifier.
    """

    def __init__(self, in_dims: list[int], out_channels: int, pooled_dim: int = 0, batch_norm: bool = False,
                 dropout: float = 0.0):
        super().__init__()
        if not in_dims or out_channels < 1:
            raise ValueError(f'{type(self).__name__} needs at least one input layer and out_channels >= 1, '
                             f'got in_dims={in_dims}, out_channels={out_channels}')
        self.in_dims = [int(d) for d in in_dims]
        self.pooled_dim = int(pooled_dim)
        channels = sum(self.in_dims) + self.pooled_dim
        self.norm = nn.BatchNorm2d(channels) if batch_norm else nn.Identity()
        self.dropout = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()
        self.classifier = nn.Conv2d(channels, out_channels, kernel_size=1)

    def forward(self, feats: list[torch.Tensor], pooled: torch.Tensor | None = None) -> torch.Tensor:
        """Return logits ``[N, out_channels, h, w]`` on the grid of the first feature map."""
        _check_inputs(self, feats, pooled)
        x = _concat_layers(feats)
        if self.pooled_dim:
            x = _broadcast_pooled(x, pooled)
        return self.classifier(self.dropout(self.norm(x)))


class BNLinearHead(LinearHead):
    """DINOv2's linear segmentation head: BatchNorm then a 1x1 conv on the (concatenated) layers."""

    def __init__(self, in_dims: list[int], out_channels: int, pooled_dim: int = 0, dropout: float = 0.0):
        super().__init__(in_dims, out_channels, pooled_dim=pooled_dim, batch_norm=True, dropout=dropout)


class ResidualConvUnit(nn.Module):
    """DPT's residual conv unit: x + conv(relu(conv(relu(x))))."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the unit (out of place)."""
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


class FusionBlock(nn.Module):
    """DPT's fusion block: add the (refined) skip, refine, upsample x2, project."""

    def __init__(self, channels: int, with_skip: bool = True):
        super().__init__()
        self.skip_unit = ResidualConvUnit(channels) if with_skip else None
        self.unit = ResidualConvUnit(channels)
        self.project = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        """Fuse ``x`` with ``skip`` (same grid) and return the result at twice the resolution."""
        if self.skip_unit is not None:
            x = x + self.skip_unit(skip)
        x = self.unit(x)
        x = F.interpolate(x, scale_factor=2.0, mode='bilinear', align_corners=True)
        return self.project(x)


def _resample(in_ch: int, out_ch: int, scale: float) -> nn.Module:
    """Project to ``out_ch`` channels and resample by ``scale`` (4, 2: transposed conv; 1; 0.5: strided conv)."""
    project = nn.Conv2d(in_ch, out_ch, 1)
    if scale > 1:
        factor = int(scale)
        if factor != scale:
            raise ValueError(f'DPTHead: upsampling scales must be integers, got {scale}')
        return nn.Sequential(project, nn.ConvTranspose2d(out_ch, out_ch, factor, stride=factor))
    if scale == 1:
        return project
    stride = round(1 / scale)
    if stride * scale != 1:
        raise ValueError(f'DPTHead: downsampling scales must be 1/k, got {scale}')
    return nn.Sequential(project, nn.Conv2d(out_ch, out_ch, 3, stride=stride, padding=1))


class DPTHead(nn.Module):
    """Dense Prediction Transformer decoder on several ViT layers (by default 4, shallow to deep).

    Each layer is reassembled to a pyramid level (x4, x2, x1, x0.5 the patch grid), projected to
    ``hidden_dim`` and fused from the deepest level up; the output is at 8x the patch grid.

    Args:
        in_dims: Channels of each input layer, shallow to deep.
        out_channels: Number of outputs per pixel.
        pooled_dim: Channels of the pooled (MAP) embedding; > 0 enables DPT's "project" readout
            (concatenate it to every token, then Linear + GELU back to the token width).
        hidden_dim: Channels of the fusion path (DPT: 256; Probe3D: 512).
        reassemble_dims: Channels of each reassembled level (DPT-Base: 96, 192, 384, 768).
        scales: Resampling factor of each level relative to the patch grid.
    """

    def __init__(self, in_dims: list[int], out_channels: int, pooled_dim: int = 0, hidden_dim: int = 256,
                 reassemble_dims: tuple[int, ...] = (96, 192, 384, 768),
                 scales: tuple[float, ...] = (4, 2, 1, 0.5)):
        super().__init__()
        if not len(in_dims) == len(reassemble_dims) == len(scales):
            raise ValueError(f'DPTHead needs one reassemble dim and one scale per input layer: in_dims={in_dims}, '
                             f'reassemble_dims={reassemble_dims}, scales={scales}')
        self.in_dims = [int(d) for d in in_dims]
        self.pooled_dim = int(pooled_dim)
        self.readouts = nn.ModuleList(
            nn.Sequential(nn.Linear(d + self.pooled_dim, d), nn.GELU()) if self.pooled_dim else nn.Identity()
            for d in self.in_dims)
        self.reassemble = nn.ModuleList(_resample(d, r, s) for d, r, s in zip(self.in_dims, reassemble_dims, scales))
        self.to_hidden = nn.ModuleList(nn.Conv2d(r, hidden_dim, 3, padding=1, bias=False) for r in reassemble_dims)
        # the deepest level starts the path and has no skip input
        self.fusion = nn.ModuleList(FusionBlock(hidden_dim, with_skip=i < len(in_dims) - 1)
                                    for i in range(len(in_dims)))
        self.output = nn.Sequential(nn.Conv2d(hidden_dim, hidden_dim, 3, padding=1), nn.ReLU(),
                                    nn.Conv2d(hidden_dim, out_channels, 1))

    def _readout(self, index: int, feat: torch.Tensor, pooled: torch.Tensor | None) -> torch.Tensor:
        if not self.pooled_dim:
            return feat
        x = _broadcast_pooled(feat, pooled).permute(0, 2, 3, 1)
        return self.readouts[index](x).permute(0, 3, 1, 2)

    def forward(self, feats: list[torch.Tensor], pooled: torch.Tensor | None = None) -> torch.Tensor:
        """Return logits ``[N, out_channels, 8h, 8w]`` (with the default scales)."""
        _check_inputs(self, feats, pooled)
        levels = [self.to_hidden[i](self.reassemble[i](self._readout(i, f, pooled))) for i, f in enumerate(feats)]
        x = None
        for i in reversed(range(len(levels))):
            skip = levels[i]
            if x is not None and x.shape[-2:] != skip.shape[-2:]:
                # odd grids: the x0.5 level rounds up, so align before adding
                x = F.interpolate(x, size=skip.shape[-2:], mode='bilinear', align_corners=True)
            x = self.fusion[i](skip) if x is None else self.fusion[i](x, skip)
        return self.output(x)


HEADS: dict[str, type[nn.Module]] = {
    'linear': LinearHead,
    'bn_linear': BNLinearHead,
    'dpt': DPTHead,
    **REF_HEADS,  # referring expressions (probes/heads_ref.py): not per-pixel, their task is 'ref'
}


def build_head(kind: str, in_dims: list[int], out_channels: int, **opts) -> nn.Module:
    """Build the head registered as ``kind`` in :data:`HEADS`.

    Raises:
        KeyError: ``kind`` is not registered (the message lists the known kinds).
    """
    if kind not in HEADS:
        raise KeyError(f'unknown head kind {kind!r}; known: {sorted(HEADS)}')
    return HEADS[kind](in_dims, out_channels, **opts)
