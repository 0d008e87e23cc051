"""Memory bank, quota sampling, nearest-neighbour search and label transfer of Hummingbird in-context segmentation.

Balažević et al., "Towards In-context Scene Understanding" (NeurIPS 2023), as open-hummingbird-eval implements it
(``hbird/hbird_eval.py``, class ``HbirdEvaluation``):

- labels are per-patch class histograms (``_create_memory``: one-hot of the patchified label, mean over the patch);
- a bounded memory keeps ``max(1, memory_size // (num_train_images * augmentation_epochs))`` patches per image, the
  ones with the smallest ``score * U(0, 1)``, where a patch's score sums, over the classes present in it, the number of
  patches of the image that contain that class (``_sample_features``): patches of classes rare in the image win;
- keys are L2-normalised; the k = 30 nearest keys by inner product (faiss ``IndexFlatIP`` / ScaNN) are combined with
  ``softmax(q·k / 0.02)`` weights over their histograms (``_cross_attention``, ``beta = 0.02``).

Our differences, for memory and correctness: the bank lives in two raw fp16 files (features, histograms) read back
in chunks, so peak memory does not grow with the bank (the reference keeps fp32 tensors in RAM); ignore pixels
(255) are left out of the histograms and patches with no labelled pixel are not stored (the reference relabels 255
as class 0, i.e. VOC's boundaries become background).
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

SEARCHES = ('exact', 'torch', 'ivf')


def patch_histograms(seg: torch.Tensor, grid: tuple[int, int], num_classes: int,
                     ignore_index: int = 255) -> torch.Tensor:
    """Per-patch class histograms (fraction of the patch's labelled pixels), ``[N, h*w, C]`` float32.

    Args:
        seg: Labels ``[N, H, W]`` (``H``, ``W`` multiples of the grid).
        grid: Patch grid ``(h, w)``.
        num_classes: Number of classes ``C``.
        ignore_index: Label left out; a patch with only ignored pixels gets an all-zero histogram.
    """
    n, height, width = seg.shape
    h, w = grid
    if height % h or width % w:
        raise ValueError(f'label size {(height, width)} is not a multiple of the patch grid {grid}')
    patch_row = torch.arange(height) // (height // h)
    patch_col = torch.arange(width) // (width // w)
    patch = (patch_row[:, None] * w + patch_col[None, :]).expand(n, -1, -1)
    image = torch.arange(n)[:, None, None].expand(-1, height, width)
    valid = seg != ignore_index
    flat = (image[valid] * (h * w) + patch[valid]) * num_classes + seg[valid].long()
    counts = torch.bincount(flat, minlength=n * h * w * num_classes).view(n, h * w, num_classes).float()
    return counts / counts.sum(-1, keepdim=True).clamp_min(1)


def quota_indices(hist: torch.Tensor, quota: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """The ``quota`` patches of one image that open-hummingbird-eval's ``_sample_features`` keeps.

    Score of a patch = sum over the classes present in it of the number of the image's patches containing that
    class, times ``U(0, 1)`` noise; the smallest scores are kept. Patches without a labelled pixel are never kept, so
    an image yields ``min(quota, labelled patches)`` rows.

    Args:
        hist: Histograms of one image's patches ``[P, C]``.
        quota: Patches to keep.
        generator: RNG of the noise.
    """
    present = hist > 0
    frequency = present.sum(0).float()
    score = present.float() @ frequency
    labelled = present.any(1)
    score = score * torch.rand(score.shape, generator=generator)
    score[~labelled] = math.inf
    keep = min(int(quota), int(labelled.sum()))
    return torch.topk(score, keep, largest=False).indices


class MemoryBank:
    """Append-only fp16 bank of L2-normalised keys ``[rows, D]`` and their histograms ``[rows, C]`` in two files.

    Rows are written with plain file writes and read back chunk by chunk (``np.fromfile``), never memory-mapped, so
    what the process holds is one chunk whatever the bank's size.

    Args:
        root: Directory for ``keys.f16`` and ``labels.f16`` (created; old files replaced).
        dim: Key dimension ``D``.
        num_classes: Histogram length ``C``.
        capacity: Most rows the bank may hold (the memory budget).
    """

    def __init__(self, root: str | Path, dim: int, num_classes: int, capacity: int):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.dim, self.num_classes, self.capacity = int(dim), int(num_classes), int(capacity)
        self.keys_path, self.labels_path = self.root / 'keys.f16', self.root / 'labels.f16'
        for path in (self.keys_path, self.labels_path):
            path.write_bytes(b'')
        self.size = 0

    def add(self, keys: torch.Tensor, hists: torch.Tensor) -> None:
        """Append rows: ``keys`` ``[n, D]`` (L2-normalised here), ``hists`` ``[n, C]``."""
        if keys.shape[0] != hists.shape[0] or keys.shape[1] != self.dim or hists.shape[1] != self.num_classes:
            raise ValueError(f'memory bank: keys {tuple(keys.shape)} / histograms {tuple(hists.shape)} do not fit '
                             f'a bank of dim {self.dim} with {self.num_classes} classes')
        if self.size + len(keys) > self.capacity:
            raise ValueError(f'memory bank: {self.size} + {len(keys)} rows exceed the budget {self.capacity}')
        keys = F.normalize(keys.float(), dim=1)
        for path, rows in ((self.keys_path, keys), (self.labels_path, hists.float())):
            with open(path, 'ab') as f:
                rows.to(torch.float16).cpu().numpy().tofile(f)
        self.size += len(keys)

    def _read(self, path: Path, width: int, start: int, stop: int) -> torch.Tensor:
        rows = np.fromfile(path, dtype=np.float16, count=(stop - start) * width, offset=start * width * 2)
        return torch.from_numpy(rows.astype(np.float32)).view(stop - start, width)

    def chunks(self, rows: int, labels: bool = False):
        """Yield ``(start, float32 rows)`` of the keys (or the histograms), ``rows`` at a time."""
        path, width = (self.labels_path, self.num_classes) if labels else (self.keys_path, self.dim)
        for start in range(0, self.size, rows):
            yield start, self._read(path, width, start, min(start + rows, self.size))

    def remove(self) -> None:
        """Delete the bank's files (and its directory when that is left empty)."""
        for path in (self.keys_path, self.labels_path):
            if path.exists():
                os.remove(path)
        if not any(self.root.iterdir()):
            self.root.rmdir()


def _merge_topk(best: tuple[torch.Tensor, torch.Tensor] | None, sims: torch.Tensor, idx: torch.Tensor, k: int):
    if best is not None:
        sims, idx = torch.cat([best[0], sims], 1), torch.cat([best[1], idx], 1)
    top = torch.topk(sims, min(k, sims.shape[1]), dim=1)
    return top.values, torch.gather(idx, 1, top.indices)


def _faiss_flat(dim: int):
    """``IndexFlatIP``, on the GPU when faiss was built with it and one is visible (never required)."""
    import faiss
    if hasattr(faiss, 'StandardGpuResources') and faiss.get_num_gpus() > 0:
        return faiss.GpuIndexFlatIP(faiss.StandardGpuResources(), dim)
    return faiss.IndexFlatIP(dim)


def search_exact(bank: MemoryBank, queries: torch.Tensor, k: int, chunk_rows: int = 65536,
                 backend: str = 'exact', device: str = 'cpu') -> tuple[torch.Tensor, torch.Tensor]:
    """Exact k nearest keys by inner product, one bank chunk at a time: ``(sims [Q, k], indices [Q, k])``.

    ``backend='exact'`` searches each chunk with faiss ``IndexFlatIP`` and merges with faiss's ``ResultHeap``;
    ``'torch'`` multiplies on ``device`` (CUDA when given) and merges with ``topk``. Both are exhaustive.
    """
    if bank.size < k:
        raise ValueError(f'memory bank holds {bank.size} rows, fewer than k = {k} neighbours')
    q = queries.float().contiguous()
    if backend == 'exact':
        import faiss
        heap = faiss.ResultHeap(len(q), k, keep_max=True)
        for start, keys in bank.chunks(chunk_rows):
            index = _faiss_flat(bank.dim)
            index.add(keys.numpy())
            sims, idx = index.search(q.numpy(), min(k, len(keys)))
            del index, keys  # free the chunk and the index's copy before the next chunk is read
            heap.add_result(np.ascontiguousarray(sims), np.ascontiguousarray(idx + start))
        heap.finalize()
        return torch.from_numpy(heap.D.copy()), torch.from_numpy(heap.I.copy())
    best, q_dev = None, q.to(device)
    for start, keys in bank.chunks(chunk_rows):
        sims = q_dev @ keys.to(device).T
        del keys
        top = torch.topk(sims, min(k, sims.shape[1]), dim=1)
        best = _merge_topk(best, top.values.cpu(), top.indices.cpu() + start, k)
    return best


class IVFIndex:
    """Approximate search option: faiss ``IndexIVFScalarQuantizer`` (fp16 codes, inner product).

    Trained on the bank's first chunk, filled chunk by chunk; unlike :func:`search_exact` it holds every key in RAM
    (2 bytes a dimension), so its memory grows with the bank.
    """

    def __init__(self, bank: MemoryBank, nlist: int = 1024, nprobe: int = 32, chunk_rows: int = 65536):
        import faiss
        nlist = max(1, min(int(nlist), bank.size // 39))  # faiss wants >= 39 training points a list
        self.quantizer = faiss.IndexFlatIP(bank.dim)
        self.index = faiss.IndexIVFScalarQuantizer(self.quantizer, bank.dim, nlist, faiss.ScalarQuantizer.QT_fp16,
                                                   faiss.METRIC_INNER_PRODUCT)
        for start, keys in bank.chunks(chunk_rows):
            if start == 0:
                self.index.train(keys.numpy())
            self.index.add(keys.numpy())
        self.index.nprobe = int(nprobe)

    def search(self, queries: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        sims, idx = self.index.search(queries.float().contiguous().numpy(), k)
        return torch.from_numpy(sims), torch.from_numpy(idx)


def transfer_labels(bank: MemoryBank, sims: torch.Tensor, idx: torch.Tensor, temperature: float = 0.02,
                    chunk_rows: int = 65536) -> torch.Tensor:
    """``softmax(sims / temperature) @ histograms of idx`` per query (``[Q, C]``), reading the histograms in chunks.

    Neighbours the approximate index could not fill (index -1) get no weight.
    """
    sims = sims.masked_fill(idx < 0, -math.inf)
    weights = torch.softmax(sims / temperature, dim=1)
    flat_idx, order = idx.flatten().sort()
    query_of = (torch.arange(idx.numel()) // idx.shape[1])[order]
    flat_w = weights.flatten()[order]
    out = torch.zeros(idx.shape[0], bank.num_classes)
    for start, hists in bank.chunks(chunk_rows, labels=True):
        lo, hi = torch.searchsorted(flat_idx, torch.tensor([start, start + len(hists)]))
        rows = flat_idx[lo:hi] - start
        out.index_add_(0, query_of[lo:hi], flat_w[lo:hi, None] * hists[rows])
    return out
