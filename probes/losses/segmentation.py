"""Cross-entropy of low-resolution logits bilinearly resized to the label size, fused and chunked.

The segmentation probes' loss is mmseg's (``mmseg/models/decode_heads/decode_head.py: BaseDecodeHead.loss_by_feat``
-> ``resize(seg_logits, size=label.shape[2:], mode='bilinear', align_corners=False)`` then
``CrossEntropyLoss(ignore_index=255)``), which DINOv2's linear segmentation probes use. Written as
``F.interpolate`` + ``F.cross_entropy`` it materialises the label-size logits, their log-softmax and both gradients
(``P x N x C x H x W`` floats each; 48 probes x 2 x 150 x 224^2 = 720 M) and streams them through memory five times.

:func:`upsampled_cross_entropy` computes the same sums without materialising them. The cross-entropy of a pixel is
``logsumexp(z) - z[label]`` with ``z`` the resized logits. The label half is linear in the logits, so its sum is
``<logits, U^T onehot>`` (``U`` the resize): computed once per batch at the logits' size and shared by every probe
of a grid, and ``-U^T onehot`` is its gradient. The log-sum-exp half runs in blocks of output rows that stay in
cache: the width resize is one small matmul per call, each block is one matmul with the few source rows it reads,
then its log-sum-exp and — when a gradient is wanted — its gradient (the softmax) pushed straight back through the
resize's transpose. Only the low-resolution gradient is kept for ``backward``. The resize weights are
``F.interpolate``'s own (the identity resized), so the result is the unfused computation's up to float rounding
(``tests/test_seg_loss_fused.py``). Resizing the logits (C channels) rather than the features (>= 768) first is also
the cheaper order for every probe here.
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import Tensor

BLOCK_FLOATS = 1 << 18  # floats per block of label-size logits on a CPU (1 MiB): an L2-sized working set
DEVICE_BLOCK_FLOATS = 1 << 28  # on an accelerator (1 GiB): few, large kernels


def resize_matrix(src: int, dst: int) -> Tensor:
    """``[dst, src]`` float64 weights of 1-D linear resizing (``align_corners=False``), exactly as
    ``F.interpolate`` computes them (it resizes the identity); bilinear resizing is this along rows times this
    along columns."""
    eye = torch.eye(src, dtype=torch.float64)[None]  # src channels of length src
    return F.interpolate(eye, size=dst, mode='linear', align_corners=False)[0].T.contiguous()


def _taps(matrix: Tensor) -> tuple[Tensor, Tensor]:
    """The two source indices ``[2, dst]`` and weights ``[2, dst]`` of each row of a resize matrix (the second
    weight 0 where a row has one non-zero)."""
    used = matrix != 0
    first = used.int().argmax(1)
    last = matrix.shape[1] - 1 - used.flip(1).int().argmax(1)
    second = torch.where(last != first, matrix.gather(1, last[:, None])[:, 0], 0)
    return torch.stack([first, last]), torch.stack([matrix.gather(1, first[:, None])[:, 0], second])


@functools.lru_cache(maxsize=64)
def _resize_plan(size: tuple[int, int, int, int], step: int, dtype: torch.dtype, device: torch.device):
    """Everything the loss needs of the resize from ``(h, w)`` to ``(H, W)``, built once per shape on the host (a
    training step reads nothing back from the device): the column resize ``[W, w]``, the row blocks
    ``(y0, y1, s0, s1, weights[y1 - y0, s1 - s0])`` of ``step`` output rows, each reading source rows ``s0:s1``
    only (at most two non-zero weights per row), and the row and column taps (:func:`_taps`)."""
    h, w, height, width = size
    rows, cols = resize_matrix(h, height), resize_matrix(w, width)
    blocks = []
    for y0 in range(0, height, step):
        part = rows[y0:y0 + step]
        used = [i for i, total in enumerate(part.abs().sum(0).tolist()) if total]
        s0, s1 = used[0], used[-1] + 1
        blocks.append((y0, y0 + part.shape[0], s0, s1, part[:, s0:s1].to(device, dtype).contiguous()))
    taps = [(index.to(device), weight.to(device, dtype)) for index, weight in (_taps(rows), _taps(cols))]
    return cols.to(device, dtype), blocks, taps


def _label_term(target: Tensor, scale: Tensor, taps, shape: tuple[int, int, int]) -> Tensor:
    """``U^T(onehot(target) * scale)`` ``[N, C, h, w]``: the labelled pixels' one-hot maps taken back through the
    (linear) resize ``U``. ``sum(logits * this)`` is the sum of the label logits of the resized logits, and
    ``-this`` their gradient: the label half of the cross-entropy, at the logits' size and shared by the probes."""
    (row_index, row_weight), (col_index, col_weight) = taps
    c, h, w = shape
    out = scale.new_zeros(target.shape[0], c * h * w)
    for a in range(2):
        for b in range(2):
            cell = (target * h + row_index[a][:, None]) * w + col_index[b][None, :]
            out.scatter_add_(1, cell.flatten(1), (scale * row_weight[a][:, None] * col_weight[b][None, :]).flatten(1))
    return out.view(-1, c, h, w)


def _block_logsumexp(block: Tensor, scale: Tensor, want_grad: bool) -> Tensor:
    """Per pair, the sum of the log-sum-exp of the logits of ``block`` ``[B, r, C, W]`` over its labelled pixels
    (``scale`` ``[B, r, 1, W]``: 1 labelled, 0 not) and, if wanted, its gradient (the softmax, zero on unlabelled
    pixels) written over ``block``."""
    top = block.amax(2, keepdim=True)
    soft = block.sub_(top).exp_()  # the block is a temporary: overwritten in place
    norm = soft.sum(2, keepdim=True)
    total = ((top + norm.log()) * scale).sum((1, 2, 3))
    if want_grad:
        soft.mul_(scale / norm)
    return total


class _UpsampledCrossEntropy(torch.autograd.Function):
    """Per-image sums of pixel cross-entropies ``[P, N]``. The log-sum-exp half runs block by block, its gradient
    computed while the block is in cache; the label half is linear and shared: :func:`_label_term`."""

    @staticmethod
    def forward(ctx, logits: Tensor, labels: Tensor, ignore_index: int) -> Tensor:
        probes, n, c, h, w = logits.shape
        height, width = labels.shape[-2:]
        want_grad = ctx.needs_input_grad[0]
        budget = BLOCK_FLOATS if logits.device.type == 'cpu' else DEVICE_BLOCK_FLOATS
        step = max(1, min(height, budget // (c * width)))  # output rows per block
        group = max(1, budget // (step * c * width))  # (probe, image) pairs per block
        cols, blocks, taps = _resize_plan((h, w, height, width), step, logits.dtype, logits.device)
        keep = labels != ignore_index
        scale = keep.to(logits.dtype)
        label_term = _label_term(torch.where(keep, labels, 0).long(), scale, taps, (c, h, w))
        # the width resize once, for every (probe, image) pair, probe-major: [P*N, h, C*W]
        wide = torch.matmul(logits.reshape(probes * n, c, h, w).transpose(1, 2), cols.T).flatten(2)
        grad_wide = torch.zeros_like(wide) if want_grad else None
        scale = scale[:, :, None]  # [N, H, 1, W]
        totals = []
        for p0 in range(0, probes * n, group):
            p1 = min(p0 + group, probes * n)
            pairs = p0 if group == 1 else slice(p0, p1)  # one pair (CPU): 2-D matmuls (mm, addmm_)
            pixels = scale[p0 % n][None] if group == 1 else scale[torch.arange(p0, p1, device=scale.device) % n]
            parts = []
            for y0, y1, s0, s1, weights in blocks:
                block = torch.matmul(weights, wide[pairs, s0:s1])
                parts.append(_block_logsumexp(block.view(p1 - p0, y1 - y0, c, width), pixels[:, y0:y1], want_grad))
                if want_grad and group == 1:  # back through the row resize (linear): its transpose
                    grad_wide[pairs, s0:s1].addmm_(weights.T, block)
                elif want_grad:
                    grad_wide[pairs, s0:s1] += torch.matmul(weights.T, block)
            totals.append(torch.stack(parts).sum(0))
        if want_grad:
            grad_wide = grad_wide.view(probes * n, h, c, width)
            grad = torch.matmul(grad_wide, cols).transpose(1, 2).reshape(logits.shape) - label_term
            ctx.save_for_backward(grad)
        return torch.cat(totals).view(probes, n) - (logits * label_term).sum((2, 3, 4))

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
    count = (labels != ignore_index).sum().clamp_min(1) if avg_non_ignore else labels.numel()  # no device read
    with torch.autocast(stacked.device.type, enabled=False):  # float32 loss also under autocast
        totals = _UpsampledCrossEntropy.apply(stacked, labels, int(ignore_index))
    losses = totals.sum(1) / count
    return losses[0] if single else losses
