"""The frozen SigLIP 2 vision encoder, built on timm's VisionTransformer and its ``forward_intermediates``.

SigLIP 2: Tschannen et al., 2025 (arXiv:2502.14786). The state-dict layout is timm's (``vit_*_siglip_*``); every
checkpoint format is converted into it by :mod:`dense.encoders.convert`.
"""
from dataclasses import dataclass

import torch.nn.functional as F
from timm.models.vision_transformer import VisionTransformer
from torch import Tensor, nn

from .naflex import naflex_size
from .variants import POS_RESIZE_MODES, Variant


@dataclass
class EncoderOutput:
    """What one encoder forward returns.

    Attributes:
        layers: Raw block outputs keyed by non-negative block index, each ``(N, C, h, w)``.
        tokens: Final LayerNorm'd patch tokens ``(N, h*w, C)``.
        pooled: MAP-head output ``(N, C)``.
    """

    layers: dict
    tokens: Tensor
    pooled: Tensor


def resize_pos_embed(grid: Tensor, size: tuple, mode: str) -> Tensor:
    """Resize a position-embedding grid ``(1, C, H, W)`` to ``size`` (h, w) the way a reference does.

    Args:
        grid: Position embeddings laid out as an image.
        size: Target grid (h, w).
        mode: 'bicubic' = HF ``SiglipVisionEmbeddings.interpolate_pos_encoding`` (bicubic, no antialias,
            half-pixel centres); 'bilinear' = big_vision fixed-resolution ``resample_posemb``
            (``scipy.ndimage.zoom(order=1)``, corners aligned); 'bilinear_antialias' = HF Siglip2 / big_vision NaFlex
            (bilinear with antialias, half-pixel centres); 'bicubic_antialias' = timm ``resample_abs_pos_embed``.

    Returns:
        The resized grid ``(1, C, h, w)`` in the input dtype (computed in float32).
    """
    if mode not in POS_RESIZE_MODES:
        raise ValueError(f'unknown pos_resize {mode!r}; use one of {POS_RESIZE_MODES}')
    if tuple(grid.shape[-2:]) == tuple(size):
        return grid
    kind, _, antialias = mode.partition('_')
    # big_vision's scipy zoom (grid_mode=False) maps corner sample to corner sample: align_corners=True.
    align = True if mode == 'bilinear' else False
    out = F.interpolate(grid.float(), size=tuple(size), mode=kind, align_corners=align, antialias=bool(antialias))
    return out.to(grid.dtype)


class _SiglipViT(VisionTransformer):
    """timm ViT whose position embedding is resized per input grid with a chosen mode (cached per grid)."""

    def __init__(self, grid: int, pos_resize: str, **kwargs):
        super().__init__(dynamic_img_size=True, **kwargs)
        self.grid = grid
        self.pos_resize = pos_resize
        self._pos_cache: dict = {}
        self._pos_cache_weights = None

    def _resize(self, size: tuple) -> Tensor:
        grid = self.pos_embed.reshape(1, self.grid, self.grid, -1).permute(0, 3, 1, 2)
        return resize_pos_embed(grid, size, self.pos_resize).flatten(2).transpose(1, 2)

    def resized_pos_embed(self, size: tuple) -> Tensor:
        """Position embeddings ``(1, h*w, C)`` for a grid of ``size``; cached per (grid, mode) while the weights are
        frozen and unchanged (any in-place update, load or move empties the cache)."""
        pe = self.pos_embed
        if pe.requires_grad:
            return self._resize(size)
        weights = (pe.device, pe.dtype, pe._version, pe.data_ptr())
        if weights != self._pos_cache_weights:
            self._pos_cache, self._pos_cache_weights = {}, weights
        key = (tuple(size), self.pos_resize)
        if key not in self._pos_cache:
            self._pos_cache[key] = self._resize(size).detach()
        return self._pos_cache[key]

    def _pos_embed(self, x: Tensor) -> Tensor:
        n, h, w, c = x.shape
        return x.reshape(n, h * w, c) + self.resized_pos_embed((h, w))


def _build_vit(variant: Variant, pos_resize: str, device) -> VisionTransformer:
    """The timm ViT of a variant: SigLIP-family towers as :class:`_SiglipViT`; a ``timm:`` comparator as timm's own
    model (random init; its position embedding resized as timm does)."""
    skip = 'skip' if str(device) == 'meta' else ''
    if variant.family == 'timm':
        import timm
        return timm.create_model(variant.timm_name, pretrained=False, num_classes=0, dynamic_img_size=True,
                                 device=device, weight_init=skip)
    return _SiglipViT(
        grid=variant.grid, pos_resize=pos_resize, img_size=variant.grid * variant.patch,
        patch_size=variant.patch, embed_dim=variant.width, depth=variant.depth, num_heads=variant.heads,
        mlp_ratio=variant.mlp / variant.width, class_token=False, global_pool=variant.pool, fc_norm=False,
        num_classes=0, act_layer='gelu_tanh', device=device, weight_init=skip)


class SiglipEncoder(nn.Module):
    """A frozen SigLIP 2 vision tower with the suite's encoder interface (docs/CONTRACTS.md).

    Attributes:
        vit: The timm VisionTransformer (timm state-dict layout).
        spec: The :class:`Variant` it was built from.
        variant: Our variant key, e.g. ``'siglip2-b16-224'``.
        weights_sha256: Hash of the loaded weight file(s), or ``'random-init-seed<N>'``.
        embed_dim, patch_size, depth, image_size, naflex, default_layers, mean, std: See CONTRACTS.md.
    """

    mean = (0.5, 0.5, 0.5)
    std = (0.5, 0.5, 0.5)

    def __init__(self, variant: Variant, pos_resize: str | None = None, device=None):
        super().__init__()
        pos_resize = pos_resize or variant.pos_resize
        if pos_resize not in POS_RESIZE_MODES:
            raise ValueError(f'unknown pos_resize {pos_resize!r}; use one of {POS_RESIZE_MODES}')
        self.vit = _build_vit(variant, pos_resize, device)
        self.mean, self.std = variant.mean, variant.std
        if self.vit.blocks[0].mlp.fc1.out_features != variant.mlp:
            raise RuntimeError(f'{variant.key}: MLP width {variant.mlp} not reproduced by timm mlp_ratio')
        self.spec = variant
        self.variant = variant.key
        self.embed_dim = variant.width
        self.patch_size = variant.patch
        self.depth = variant.depth
        self.image_size = (variant.grid * variant.patch,) * 2
        self.naflex = variant.naflex
        self.weights_sha256 = ''
        n = variant.depth
        # Probe3D's exact arithmetic (evals/models/*.py): n//4*3-1, which differs from 3n//4-1 when 4 does not
        # divide n (So400m, 27 blocks: 5, 12, 17, 26)
        self.default_layers = tuple(sorted({max(n // 4 - 1, 0), n // 2 - 1, n // 4 * 3 - 1, n - 1}))
        self.freeze()

    @property
    def pos_resize(self) -> str:
        """Position-embedding resize mode used for inputs off the native grid."""
        return getattr(self.vit, 'pos_resize', self.spec.pos_resize)

    @pos_resize.setter
    def pos_resize(self, mode: str) -> None:
        if mode not in POS_RESIZE_MODES:
            raise ValueError(f'unknown pos_resize {mode!r}; use one of {POS_RESIZE_MODES}')
        if not isinstance(self.vit, _SiglipViT) and mode != self.spec.pos_resize:
            raise ValueError(f'{self.variant}: a timm comparator resizes position embeddings as timm does '
                             f'({self.spec.pos_resize}); other modes are for SigLIP-family towers')
        self.vit.pos_resize = mode

    def naflex_size(self, height: int, width: int, max_num_patches: int = 256) -> tuple:
        """Pixel size (H, W) that keeps the aspect ratio of a ``height`` x ``width`` image within a patch budget."""
        return naflex_size(height, width, self.patch_size, max_num_patches)

    def freeze(self) -> 'SiglipEncoder':
        """Stop gradients into the weights and switch to eval mode."""
        for p in self.parameters():
            p.requires_grad_(False)
        return super().train(False)

    def train(self, mode: bool = True) -> 'SiglipEncoder':
        """The encoder is frozen: it stays in eval mode whatever a parent module asks."""
        return super().train(False)

    def normalize(self, x01: Tensor) -> Tensor:
        """Map pixels in [0, 1] to the encoder's input range [-1, 1]."""
        mean = x01.new_tensor(self.mean).view(1, 3, 1, 1)
        std = x01.new_tensor(self.std).view(1, 3, 1, 1)
        return (x01 - mean) / std

    def resolve_layers(self, layers) -> list:
        """Turn block indices (negative counting from the end) into sorted unique non-negative ones."""
        out = set()
        for i in layers:
            j = int(i) + self.depth if int(i) < 0 else int(i)
            if not 0 <= j < self.depth:
                raise ValueError(f'layer {i} out of range for a {self.depth}-block encoder ({self.variant})')
            out.add(j)
        return sorted(out)

    def forward(self, pixels: Tensor, layers=None, norm: bool = False) -> EncoderOutput:
        """Encode normalized pixels ``(N, 3, H, W)``; H and W are cropped down to multiples of the patch size.

        Args:
            pixels: Normalized images (see :meth:`normalize`).
            layers: Block indices to return (default :attr:`default_layers`); negative ones count from the end.
            norm: Pass the returned block outputs through the final LayerNorm (DINOv2 / TIPS
                ``get_intermediate_layers(norm=True)``); default raw block outputs (Probe3D).

        Returns:
            The requested block outputs, the final normed patch tokens (prefix / register tokens dropped) and
            the pooled embedding (MAP head; token mean for towers without one; a timm comparator's own pooling).
        """
        if pixels.ndim != 4 or pixels.shape[1] != 3:
            raise ValueError(f'expected pixels of shape (N, 3, H, W), got {tuple(pixels.shape)}')
        if min(pixels.shape[-2:]) < self.patch_size:
            raise ValueError(f'input {tuple(pixels.shape[-2:])} smaller than one {self.patch_size}px patch')
        idx = self.resolve_layers(self.default_layers if layers is None else layers)
        p = self.patch_size
        # Like the reference valid-padding patch conv: trailing rows / columns short of a patch are dropped.
        pixels = pixels[..., :pixels.shape[-2] // p * p, :pixels.shape[-1] // p * p]
        if idx:
            tokens, feats = self.vit.forward_intermediates(pixels, indices=idx, norm=norm, output_fmt='NCHW')
        else:
            tokens, feats = self.vit.forward_features(pixels), []
        pooled = self.vit.forward_head(tokens, pre_logits=True)
        tokens = tokens[:, getattr(self.vit, 'num_prefix_tokens', 0):]
        return EncoderOutput(layers=dict(zip(idx, feats)), tokens=tokens, pooled=pooled)
