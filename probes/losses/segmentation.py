"""Cross-entropy of low-resolution logits bilinearly resized to the label size, fused and chunked.

The segmentation probes' loss is mmseg's (``mmseg/models/decode_heads/decode_head.py: BaseDecodeHead.loss_by_feat``
-> ``resize(seg_logits, size=label.shape[2:], mode='bilinear', align_corners=False)`` then
``CrossEntropyLoss(ignore_index=255)``), which DINOv2's linear segmentation probes use. Written as
``F.interpolate`` + ``F.cross_entropy`` it materialises the label-size logits, their log-softmax and both gradients
(``P x N x C x H x W`` floats each; 48 probes x 2 x 150 x 224^2 = 720 M) and streams them through memory five times.

:func:`upsampled_cross_entropy` computes the same sum in row blocks that stay in cache: the width resize is a small
matmul once per call, each block of output rows is one matmul with the few source rows it reads, then the
log-sum-exp, the label logit and — when a gradient is wanted — the gradient of the loss with respect to the block
(``softmax - onehot``, scaled), pushed straight back through the (linear) resize. Only the low-resolution gradient is
kept for ``backward``. The resize weights are ``F.interpolate``'s own (an identity matrix resized), so the result is
the unfused computation's up to float32 rounding (``tests/test_seg_loss_fused.py``).
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import Tensor

BLOCK_FLOATS = 1 << 18  # floats per block of label-size logits (1 MiB): an L2-sized working set


def resize_matrix(src: int, dst: int) -> Tensor:
    """``[dst, src]`` float64 weights of 1-D linear resizing (``align_corners=False``), exactly as
    ``F.interpolate`` computes them (it resizes the identity); bilinear resizing is this along rows times this
    along columns."""
    eye = torch.eye(src, dtype=torch.float64)[None]  # src channels of length src
    return F.interpolate(eye, size=dst, mode='linear', align_corners=False)[0].T.contiguous()


@functools.lru_cache(maxsize=64)
def _resize_plan(size: tuple[int, int, int, int], step: int, dtype: torch.dtype, device: torch.device):
    """The column resize ``[W, w]`` and the row blocks ``(y0, y1, s0, s1, weights[y1 - y0, s1 - s0])`` of
    ``step`` output rows, each reading source rows ``s0:s1`` only (at most two non-zero weights per row); built
    once per shape on the host, so a training step reads nothing back from the device."""
    h, w, height, width = size
    rows = resize_matrix(h, height)
    blocks = []
    for y0 in range(0, height, step):
        part = rows[y0:y0 + step]
        used = [i for i, total in enumerate(part.abs().sum(0).tolist()) if total]
        s0, s1 = used[0], used[-1] + 1
        blocks.append((y0, y0 + part.shape[0], s0, s1, part[:, s0:s1].to(device, dtype).contiguous()))
    return resize_matrix(w, width).to(device, dtype), blocks


def _block_nll(block: Tensor, index: Tensor, keep: Tensor, scale: Tensor | None) -> tuple[Tensor, Tensor | None]:
    """The sum of ``logsumexp - logit[label]`` over the labelled pixels of ``block`` ``[r, C, W]`` (labels
    ``index``, mask ``keep`` ``[r, 1, W]``) and, given ``scale`` (``keep`` as floats), its gradient
    ``softmax - onehot`` (zero on unlabelled pixels), written over ``block``."""
    picked = block.gather(1, index)
    top = block.amax(1, keepdim=True)
    soft = block.sub_(top).exp_()  # the block is a temporary: overwritten in place
    norm = soft.sum(1, keepdim=True)
    nll = (top + norm.log() - picked).masked_fill_(~keep, 0).sum()
    if scale is None:
        return nll, None
    return nll, soft.mul_(scale / norm).scatter_add_(1, index, -scale)


class _UpsampledCrossEntropy(torch.autograd.Function):
    """Per-image sums of pixel cross-entropies ``[P, N]``; their gradient is computed in ``forward``, block by
    block, while the label-size logits are in cache (nothing downstream needs more than the per-image sums)."""

    @staticmethod
    def forward(ctx, logits: Tensor, labels: Tensor, ignore_index: int) -> Tensor:
        probes, n, c, h, w = logits.shape
        height, width = labels.shape[-2:]
        want_grad = ctx.needs_input_grad[0]
        step = max(1, min(height, BLOCK_FLOATS // (c * width)))  # output rows per block
        cols, blocks = _resize_plan((h, w, height, width), step, logits.dtype, logits.device)
        # the width resize once, for every (probe, image) pair, probe-major: [P*N, h, C*W]
        wide = torch.matmul(logits.reshape(probes * n, c, h, w).transpose(1, 2), cols.T).flatten(2)
        grad_wide = torch.zeros_like(wide) if want_grad else None
        keep = (labels != ignore_index)[:, :, None]  # [N, H, 1, W]
        target = torch.where(keep, labels[:, :, None], 0).long()
        scale = keep.to(logits.dtype)
        totals = []
        for pair in range(probes * n):
            image = pair % n
            for y0, y1, s0, s1, weights in blocks:
                block = torch.mm(weights, wide[pair, s0:s1]).view(y1 - y0, c, width)
                nll, grad = _block_nll(block, target[image, y0:y1], keep[image, y0:y1],
                                       scale[image, y0:y1] if want_grad else None)
                totals.append(nll)
                if want_grad:  # back through the row resize (linear): its transpose
                    grad_wide[pair, s0:s1].addmm_(weights.T, grad.view(y1 - y0, c * width))
        if want_grad:
            grad_wide = grad_wide.view(probes * n, h, c, width)
            ctx.save_for_backward(torch.matmul(grad_wide, cols).transpose(1, 2).reshape(logits.shape))
        return torch.stack(totals).view(probes, n, len(blocks)).sum(2)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_totals: Tensor):
        (grad_logits,) = ctx.saved_tensors
        return grad_logits * grad_totals[:, :, None, None, None], None, None


def upsampled_cross_entropy(logits: Tensor, labels: Tensor, ignore_index: int = 255,
                            avg_non_ignore: bool = False) -> Tensor:
    """Per-probe mmseg cross-entropy of ``logits`` bilinearly resized (``align_corners=False``) to the labels.

    Equal (up to float32 rounding) to ``F.cross_entropy(F.interpolate(logits[p], labels.shape[-2:], mode=
    'bilinear'), labels, ignore_index=ignore_index, reduction='sum') / count`` for every probe ``p``, where
    ``count`` is every pixel of the batch (mmseg's default) or, with ``avg_non_ignore``, the labelled ones
    (clamped to 1: an all-ignored batch gives 0 with its graph kept, without a host-device sync).

    Args:
        logits: ``[P, N, C, h, w]`` float logits of ``P`` probes (or ``[N, C, h, w]`` for one).
        labels: ``[N, H, W]`` class indices shared by the probes; ``ignore_index`` pixels are unlabelled.
        ignore_index: Label value excluded from the loss.
        avg_non_ignore: Divide by the number of labelled pixels instead of every pixel.

    Returns:
        ``[P]`` losses (a scalar for ``[N, C, h, w]`` logits).
    """
    single = logits.ndim == 4
    stacked = logits[None] if single else logits
    if stacked.ndim != 5 or labels.ndim != 3 or stacked.shape[1] != labels.shape[0]:
        raise ValueError(f'upsampled_cross_entropy: logits {tuple(logits.shape)} and labels '
                         f'{tuple(labels.shape)} do not match ([P,] N, C, h, w and N, H, W)')
    if not stacked.is_floating_point():
        raise TypeError(f'upsampled_cross_entropy: logits must be float, got {stacked.dtype}')
    count = ((labels != ignore_index).sum().clamp_min(1) if avg_non_ignore
             else torch.tensor(labels.numel(), device=labels.device))
    with torch.autocast(stacked.device.type, enabled=False):  # float32 loss also under autocast
        totals = _UpsampledCrossEntropy.apply(stacked, labels, int(ignore_index))
    losses = totals.sum(1) / count
    return losses[0] if single else losses
