"""Probe heads on frozen patch features: linear (SigLIP 2 / TIPS), BN + linear (DINOv2), DPT (TIPS) and Probe3D's.

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
    - DPT: Ranftl et al. 2021, "Vision Transformers for Dense Prediction"; ``dpt`` is TIPS's decoder
      (google-deepmind/tips ``pytorch/decoders.py``), the SigLIP 2 paper's; ``probe3d_dpt`` / ``probe3d_linear``
      are El Banani et al. 2024, "Probing the 3D Awareness of Visual Foundation Models"
      (mbanani/probe3d ``evals/models/probes.py: DPT, Linear``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from probes.heads_owl import OWLHead
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


class PreActUnit(nn.Module):
    """TIPS's ``PreActResidualConvUnit`` (``pytorch/decoders.py``): x + conv2(relu(conv1(relu(x)))), no biases."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the unit (out of place)."""
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


class FusionBlock(nn.Module):
    """TIPS's ``FeatureFusionBlock``: add the refined skip (resized to the path if grids differ), refine,
    upsample x2 (``align_corners=True``), 1x1 conv."""

    def __init__(self, channels: int, with_skip: bool = True):
        super().__init__()
        self.residual_unit = PreActUnit(channels) if with_skip else None
        self.main_unit = PreActUnit(channels)
        self.out_conv = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        """Fuse ``x`` with ``skip`` and return the result at twice the resolution."""
        if self.residual_unit is not None and skip is not None:
            if skip.shape != x.shape:
                skip = F.interpolate(skip, size=x.shape[-2:], mode='bilinear', align_corners=False)
            x = x + self.residual_unit(skip)
        x = F.interpolate(self.main_unit(x), scale_factor=2.0, mode='bilinear', align_corners=True)
        return self.out_conv(x)


def _resize_layer(channels: int, scale: float) -> nn.Module:
    """Resample by ``scale``: transposed conv (kernel = stride = scale), identity, or strided 3x3 conv (1/k)."""
    if scale > 1:
        factor = int(scale)
        if factor != scale:
            raise ValueError(f'DPTHead: upsampling scales must be integers, got {scale}')
        return nn.ConvTranspose2d(channels, channels, factor, stride=factor)
    if scale == 1:
        return nn.Identity()
    stride = round(1 / scale)
    if stride * scale != 1:
        raise ValueError(f'DPTHead: downsampling scales must be 1/k, got {scale}')
    return nn.Conv2d(channels, channels, 3, stride=stride, padding=1)


class Reassemble(nn.Module):
    """TIPS's ``ReassembleBlocks``: optional "project" readout (pooled embedding concatenated to every token,
    Linear, tanh GELU), 1x1 projection to each level's width, resampling to the level's scale."""

    def __init__(self, in_dims: list[int], dims: tuple[int, ...], scales: tuple[float, ...], pooled_dim: int):
        super().__init__()
        self.out_projections = nn.ModuleList(nn.Conv2d(d, r, 1) for d, r in zip(in_dims, dims))
        self.resize_layers = nn.ModuleList(_resize_layer(r, s) for r, s in zip(dims, scales))
        if pooled_dim:
            self.readout_projects = nn.ModuleList(nn.Linear(d + pooled_dim, d) for d in in_dims)

    def forward(self, feats: list[torch.Tensor], pooled: torch.Tensor | None) -> list[torch.Tensor]:
        """One resampled map per input layer."""
        out = []
        for i, x in enumerate(feats):
            if pooled is not None:
                x = _broadcast_pooled(x, pooled).permute(0, 2, 3, 1)
                # JAX's GELU (the TIPS reference) is the tanh approximation
                x = F.gelu(self.readout_projects[i](x), approximate='tanh').permute(0, 3, 1, 2)
            out.append(self.resize_layers[i](self.out_projections[i](x)))
        return out


class DPTBody(nn.Module):
    """TIPS's ``DPTHead``: reassemble, 3x3 conv of every level to ``channels``, fusion from the deepest level
    up, a 3x3 projection without activation (TIPS' default ``output_activation=False``)."""

    def __init__(self, in_dims: list[int], pooled_dim: int, channels: int, dims: tuple[int, ...],
                 scales: tuple[float, ...]):
        super().__init__()
        self.reassemble = Reassemble(in_dims, dims, scales, pooled_dim)
        self.convs = nn.ModuleList(nn.Conv2d(r, channels, 3, padding=1, bias=False) for r in dims)
        self.fusion_blocks = nn.ModuleList(FusionBlock(channels, with_skip=i > 0) for i in range(len(dims)))
        self.project = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, feats: list[torch.Tensor], pooled: torch.Tensor | None) -> torch.Tensor:
        """Dense features ``[N, channels, 8h, 8w]`` (with the default scales)."""
        levels = [conv(x) for conv, x in zip(self.convs, self.reassemble(feats, pooled))]
        out = self.fusion_blocks[0](levels[-1])
        for i in range(1, len(levels)):
            out = self.fusion_blocks[i](out, levels[-(i + 1)])
        return self.project(out)


class DPTHead(nn.Module):
    """The DPT decoder of TIPS (``google-deepmind/tips``, ``pytorch/decoders.py: Decoder``), which the SigLIP 2
    paper's dense probes follow: module names and parameter shapes equal TIPS's, so its state dicts load.

    Four layers (shallow to deep) are reassembled at x4, x2, x1, x0.5 the patch grid with widths D/8, D/4, D/2,
    D, projected to ``hidden_dim`` (TIPS: 256), fused from the deepest level up with pre-activation residual
    units, projected (3x3, no activation) and classified per pixel by a linear layer; output at 8x the grid.

    Args:
        in_dims: Channels of each input layer, shallow to deep.
        out_channels: Number of outputs per pixel.
        pooled_dim: Channels of the pooled (MAP) embedding; > 0 enables TIPS's "project" readout (TIPS: the CLS
            token; SigLIP 2: the MAP-head output).
        hidden_dim: Channels of the fusion path (TIPS: 256).
        reassemble_dims: Width of each level; default ``(D0/8, D1/4, D2/2, D3)`` (TIPS's post-process channels).
        scales: Resampling factor of each level relative to the patch grid.
    """

    def __init__(self, in_dims: list[int], out_channels: int, pooled_dim: int = 0, hidden_dim: int = 256,
                 reassemble_dims: tuple[int, ...] | None = None, scales: tuple[float, ...] = (4, 2, 1, 0.5)):
        super().__init__()
        if reassemble_dims is None and len(in_dims) == 4:
            reassemble_dims = tuple(d // k for d, k in zip(in_dims, (8, 4, 2, 1)))
        if reassemble_dims is None or not len(in_dims) == len(reassemble_dims) == len(scales):
            raise ValueError(f'DPTHead needs one reassemble dim and one scale per input layer: in_dims={in_dims}, '
                             f'reassemble_dims={reassemble_dims}, scales={scales}')
        self.in_dims = [int(d) for d in in_dims]
        self.pooled_dim = int(pooled_dim)
        self.dpt = DPTBody(self.in_dims, self.pooled_dim, hidden_dim, tuple(reassemble_dims), tuple(scales))
        self.head = nn.Linear(hidden_dim, out_channels)

    def forward(self, feats: list[torch.Tensor], pooled: torch.Tensor | None = None) -> torch.Tensor:
        """Return logits ``[N, out_channels, 8h, 8w]`` (with the default scales)."""
        _check_inputs(self, feats, pooled)
        x = self.dpt(feats, pooled if self.pooled_dim else None)
        return self.head(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def _up(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Bilinear upsampling with ``align_corners=True``, as every Probe3D head does."""
    return F.interpolate(x, scale_factor=factor, mode='bilinear', align_corners=True)


class Probe3DLinearHead(nn.Module):
    """Probe3D's ``Linear`` probe (``evals/models/probes.py``): concatenated layers upsampled x4 (bilinear,
    ``align_corners=True``), then one convolution of ``kernel_size`` (Probe3D's configs: 3).

    Args:
        in_dims: Channels of each input layer (concatenated).
        out_channels: Outputs per pixel.
        pooled_dim: Pooled embedding concatenated to every position (not in Probe3D; 0 = Probe3D exactly).
        kernel_size: Convolution size (padding ``k // 2``).
    """

    def __init__(self, in_dims: list[int], out_channels: int, pooled_dim: int = 0, kernel_size: int = 3):
        super().__init__()
        self.in_dims, self.pooled_dim = [int(d) for d in in_dims], int(pooled_dim)
        self.conv = nn.Conv2d(sum(self.in_dims) + self.pooled_dim, out_channels, kernel_size,
                              padding=kernel_size // 2)

    def forward(self, feats: list[torch.Tensor], pooled: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``[N, out_channels, 4h, 4w]``."""
        _check_inputs(self, feats, pooled)
        x = _concat_layers(feats)
        if self.pooled_dim:
            x = _broadcast_pooled(x, pooled)
        return self.conv(_up(x, 4))


class Probe3DUnit(nn.Module):
    """Probe3D's ``ResidualConvUnit``: x + relu(conv(relu(conv(x)))) (post-activation, with biases)."""

    def __init__(self, channels: int, kernel_size: int):
        super().__init__()
        pad = kernel_size // 2
        self.conv = nn.Sequential(nn.Conv2d(channels, channels, kernel_size, padding=pad), nn.ReLU(),
                                  nn.Conv2d(channels, channels, kernel_size, padding=pad), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the unit (out of place)."""
        return self.conv(x) + x


class Probe3DFusion(nn.Module):
    """Probe3D's ``FeatureFusionBlock``: ``resConfUnit2(resConfUnit1(x) + skip)`` (no resampling)."""

    def __init__(self, channels: int, kernel_size: int, with_skip: bool = True):
        super().__init__()
        if with_skip:
            self.resConfUnit1 = Probe3DUnit(channels, kernel_size)
        self.resConfUnit2 = Probe3DUnit(channels, kernel_size)

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        """Fuse ``x`` with the path ``skip`` (same grid)."""
        if skip is not None:
            x = self.resConfUnit1(x) + skip
        return self.resConfUnit2(x)


class Probe3DDPTHead(nn.Module):
    """Probe3D's ``DPT`` (``evals/models/probes.py``), with its module names and parameter shapes.

    Each of the 4 layers: 1x1 conv to ``hidden_dim``, upsampled x2; fusion from the deepest layer up with
    kernel-``kernel_size`` residual units and no resampling between blocks; then x4, conv3-ReLU-conv3, x2 (all
    bilinear, ``align_corners=True``): logits at 16x the patch grid (the input resolution for /16 patches).

    Args:
        in_dims: Channels of the 4 input layers, shallow to deep.
        out_channels: Outputs per pixel.
        pooled_dim: Pooled embedding concatenated to every input position (not in Probe3D; 0 = exact).
        hidden_dim: Fusion width (Probe3D: 512).
        kernel_size: Residual-unit kernel (Probe3D's configs: 3).
    """

    def __init__(self, in_dims: list[int], out_channels: int, pooled_dim: int = 0, hidden_dim: int = 512,
                 kernel_size: int = 3):
        super().__init__()
        if len(in_dims) != 4:
            raise ValueError(f'Probe3DDPTHead takes exactly 4 layers, got in_dims={in_dims}')
        self.in_dims, self.pooled_dim = [int(d) for d in in_dims], int(pooled_dim)
        for i, d in enumerate(self.in_dims):
            setattr(self, f'conv_{i}', nn.Conv2d(d + self.pooled_dim, hidden_dim, 1))
            setattr(self, f'ref_{i}', Probe3DFusion(hidden_dim, kernel_size, with_skip=i < 3))
        self.out_conv = nn.Sequential(nn.Conv2d(hidden_dim, hidden_dim, 3, padding=1), nn.ReLU(),
                                      nn.Conv2d(hidden_dim, out_channels, 3, padding=1))

    def forward(self, feats: list[torch.Tensor], pooled: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``[N, out_channels, 16h, 16w]``."""
        _check_inputs(self, feats, pooled)
        if self.pooled_dim:
            feats = [_broadcast_pooled(f, pooled) for f in feats]
        levels = [_up(getattr(self, f'conv_{i}')(f), 2) for i, f in enumerate(feats)]
        out = self.ref_3(levels[3])
        for i in (2, 1, 0):
            out = getattr(self, f'ref_{i}')(levels[i], out)
        return _up(self.out_conv(_up(out, 4)), 2)


HEADS: dict[str, type[nn.Module]] = {
    'linear': LinearHead,
    'bn_linear': BNLinearHead,
    'dpt': DPTHead,
    'probe3d_linear': Probe3DLinearHead,
    'probe3d_dpt': Probe3DDPTHead,
    'owl': OWLHead,
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
