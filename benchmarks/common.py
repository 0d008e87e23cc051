"""Shared timing for the throughput benchmarks: A and B interleaved in one process, median ratio and spread.

Timing A then B in two blocks lets machine load drift between them (three runs of the old encoder benchmark gave
ours/HF 1.15, 0.71, 0.92). Here every pair times A and B back to back, alternating which goes first, and the
ratio is taken per pair; the median of >= 5 pairs and its min-max spread are reported.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere in the checkout


def synchronize(device: str | torch.device) -> None:
    """Wait for queued CUDA work (timings must include it)."""
    if torch.device(device).type == 'cuda':
        torch.cuda.synchronize()


def _time(fn: Callable[[], object], device) -> float:
    synchronize(device)
    start = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - start


def interleaved(a: Callable[[], object], b: Callable[[], object], pairs: int = 5, warmup: int = 1,
                device: str | torch.device = 'cpu') -> dict:
    """Time ``a`` and ``b`` in ``pairs`` back-to-back pairs (order alternating); ``ratio`` = time(b) / time(a).

    Returns:
        ``dict(a_ms, b_ms, ratio, ratio_min, ratio_max, pairs)``: medians of the per-call times, the median of
        the per-pair ratios and their spread.
    """
    if pairs < 5:
        raise ValueError(f'at least 5 pairs give a median and a spread; got {pairs}')
    for _ in range(warmup):
        a()
        b()
    times_a, times_b = [], []
    for index in range(pairs):
        if index % 2:
            times_b.append(_time(b, device))
            times_a.append(_time(a, device))
        else:
            times_a.append(_time(a, device))
            times_b.append(_time(b, device))
    ratios = [tb / ta for ta, tb in zip(times_a, times_b)]
    return dict(a_ms=1e3 * statistics.median(times_a), b_ms=1e3 * statistics.median(times_b),
                ratio=statistics.median(ratios), ratio_min=min(ratios), ratio_max=max(ratios), pairs=pairs)


def describe(result: dict, a_name: str, b_name: str, ratio_name: str) -> str:
    """One line: both medians and the ratio with its spread."""
    return (f'{a_name} {result["a_ms"]:.1f} ms, {b_name} {result["b_ms"]:.1f} ms; {ratio_name} '
            f'{result["ratio"]:.2f} (median of {result["pairs"]} interleaved pairs, spread '
            f'{result["ratio_min"]:.2f}-{result["ratio_max"]:.2f})')


def setup(threads: int | None, device: str) -> torch.device:
    """Thread count (CPU) and the device; a clear error when CUDA is asked for and absent."""
    if threads:
        torch.set_num_threads(threads)
    if device.startswith('cuda') and not torch.cuda.is_available():
        raise SystemExit('no CUDA device here: run with --device cpu')
    return torch.device(device)


DTYPES = {'fp32': torch.float32, 'bf16': torch.bfloat16, 'fp16': torch.float16}
