"""Text-aligned patch embeddings from a frozen SigLIP 2 image tower, training-free, for zero-shot segmentation.

SigLIP has no CLS token: its joint image-text space is reached through the MAP head (a learned probe attending over
the final-LayerNorm'd tokens, then out-projection, LayerNorm, MLP with a residual). The CLIP recipes are adapted:

- ``maskclip`` (Zhou et al., ECCV 2022, MaskCLIP): each final token through the MAP head's *value path*: value and
  out projection, then ``y + mlp(norm(y))``, i.e. the head with its attention to the probe replaced by identity.
- ``sclip`` (Wang et al., ECCV 2024; wangf3014/SCLIP ``clip/model.py`` ``custom_attn(csa=True)``): the last block's
  attention weights become ``softmax(q qᵀ s) + softmax(k kᵀ s)``; residual and MLP kept; then the value path.
- ``clearclip`` (Lan et al., ECCV 2024; mc-lan/ClearCLIP ``open_clip/transformer.py`` ``custom_attn('ClearCLIP')``
  with ``ignore_residual=True``): ``softmax(q qᵀ s)``, and the block returns the attention output alone (no residual,
  no MLP); then final LayerNorm and the value path.
- ``naclip`` (Hajimiri et al., WACV 2025; sinahmr/NACLIP ``clip/model.py``, ``arch='reduced'``,
  ``attn_strategy='naclip'``): ``softmax(k kᵀ s + ω)`` with ω a Gaussian window (std 5 patches) over the patch
  grid, block reduced to the attention output; then final LayerNorm and the value path.

All four come from ONE encoder forward: the input of the last block (block ``depth - 2``'s output) and the final
tokens are read from it; only the last block is recomputed per method. The encoder's timm modules are used as they
are (``enc.vit.blocks[-1]``, ``enc.vit.norm``, ``enc.vit.attn_pool``); nothing in the encoder is modified.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

METHODS = ('maskclip', 'sclip', 'clearclip', 'naclip')


def value_path(pool, tokens: Tensor) -> Tensor:
    """Tokens ``(N, L, C)`` through a timm ``AttentionPoolLatent`` with attention replaced by identity.

    Each token's value ``v = W_v x + b_v`` (the second half of ``kv``), out-projected, then the head's
    ``y + mlp(norm(y))``: what the pooled embedding would be if the probe attended to that token alone.
    """
    width = tokens.shape[-1]
    value = F.linear(tokens, pool.kv.weight[width:], pool.kv.bias[width:])
    y = pool.proj(value)
    return y + pool.mlp(pool.norm(y)) if pool.mlp is not None else y


def gaussian_window(grid: tuple, std: float) -> Tensor:
    """NACLIP's ω: ``exp(-|p_i - p_j|² / (2 std²))`` between every pair of patch positions, ``(h*w, h*w)``."""
    rows, cols = torch.meshgrid(torch.arange(grid[0]), torch.arange(grid[1]), indexing='ij')
    pos = torch.stack([rows.flatten(), cols.flatten()], 1).float()
    return torch.exp(-torch.cdist(pos, pos).square() / (2 * std ** 2))


def attention_weights(q: Tensor, k: Tensor, method: str, scale: float, grid: tuple, std: float = 5.0) -> Tensor:
    """Per-head attention weights ``(N, heads, L, L)`` of a last-block variant from ``q``, ``k`` (N, heads, L, d)."""
    if method == 'vanilla':  # the block's own attention (to check the decomposition)
        return (q @ k.transpose(-2, -1) * scale).softmax(-1)
    if method == 'sclip':
        return (q @ q.transpose(-2, -1) * scale).softmax(-1) + (k @ k.transpose(-2, -1) * scale).softmax(-1)
    if method == 'clearclip':
        return (q @ q.transpose(-2, -1) * scale).softmax(-1)
    if method == 'naclip':
        omega = gaussian_window(grid, std).to(k)
        return (k @ k.transpose(-2, -1) * scale + omega).softmax(-1)
    raise KeyError(f'no last-block attention variant {method!r}; known: vanilla, sclip, clearclip, naclip')


def last_block(block, x: Tensor, method: str, grid: tuple, std: float = 5.0) -> Tensor:
    """A timm ViT ``Block`` on ``x`` ``(N, L, C)`` with the attention of ``method`` (see the module docstring)."""
    attn = block.attn
    n, length, width = x.shape
    qkv = attn.qkv(block.norm1(x)).reshape(n, length, 3, attn.num_heads, attn.head_dim).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.unbind(0)
    q, k = attn.q_norm(q), attn.k_norm(k)
    out = (attention_weights(q, k, method, attn.scale, grid, std) @ v).transpose(1, 2).reshape(n, length, width)
    out = attn.proj(attn.norm(out))
    if method in ('sclip', 'vanilla'):  # SCLIP keeps the block: residual and MLP
        x = x + block.ls1(out)
        return x + block.ls2(block.mlp(block.norm2(x)))
    return out  # ClearCLIP / NACLIP 'reduced': the attention output alone


def text_aligned_patches(encoder, pixels: Tensor, methods=METHODS, gaussian_std: float = 5.0) -> dict:
    """``{method: (N, D, h, w)}`` patch embeddings in the joint image-text space, from one encoder forward.

    Args:
        encoder: A :class:`dense.encoders.SiglipEncoder` (frozen).
        pixels: Normalised images ``(N, 3, H, W)``.
        methods: Names from :data:`METHODS`.
        gaussian_std: NACLIP's window std in patches.
    """
    if encoder.depth < 2:
        raise ValueError(f'{encoder.variant}: zero-shot last-block variants need at least 2 blocks')
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise KeyError(f'unknown zero-shot method(s) {unknown}; known: {list(METHODS)}')
    vit = encoder.vit
    out = encoder(pixels, layers=(encoder.depth - 2,))
    before_last = out.layers[encoder.depth - 2]
    grid = tuple(before_last.shape[-2:])
    x = before_last.flatten(2).transpose(1, 2)
    result = {}
    for method in methods:
        tokens = out.tokens if method == 'maskclip' else vit.norm(last_block(vit.blocks[-1], x, method, grid,
                                                                               gaussian_std))
        emb = value_path(vit.attn_pool, tokens)
        result[method] = emb.transpose(1, 2).reshape(len(pixels), -1, *grid)
    return result
