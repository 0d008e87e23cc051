"""Peak memory of a kNN label-transfer run at two memory-bank sizes (goal: flat, ratio <= 1.1).

Each size runs in its own process: fill a :class:`probes.evaluations.knn_bank.MemoryBank` with ``rows`` keys
(``--dim``, B/16's 768 by default) and ``--classes`` histograms written block by block as the evaluation writes them,
then search ``--queries`` queries exactly (faiss ``IndexFlatIP`` over 65,536-row chunks) and transfer their labels
(k = 30, temperature 0.02). The encoder is left out: its memory does not depend on the bank. Printed: each child's
peak resident set (``ru_maxrss``), the ratio large / small, and what the bank alone would take in RAM at fp32 (the
reference implementation's layout).

Usage: ``python benchmarks/bench_knn_memory.py [--sizes 102400 1024000 --dim 768 --classes 21 --queries 256]``
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GOAL = 1.1


def child(rows: int, dim: int, classes: int, queries: int, root: str) -> dict:
    """Fill a bank of ``rows`` rows, search and transfer; return timings and the peak RSS in MiB."""
    import torch
    from probes.evaluations.knn_bank import MemoryBank, search_exact, transfer_labels
    torch.manual_seed(0)
    bank = MemoryBank(root, dim, classes, rows)
    start = time.perf_counter()
    for first in range(0, rows, 65536):
        n = min(65536, rows - first)
        bank.add(torch.randn(n, dim), torch.softmax(torch.randn(n, classes), 1))
    filled = time.perf_counter()
    q = torch.nn.functional.normalize(torch.randn(queries, dim), dim=1)
    sims, idx = search_exact(bank, q, 30)
    hats = transfer_labels(bank, sims, idx, 0.02)
    assert torch.isfinite(hats).all()
    done = time.perf_counter()
    bank.remove()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return dict(rows=rows, peak_mib=peak, fill_s=filled - start, search_s=done - filled)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sizes', type=int, nargs=2, default=(102_400, 1_024_000))
    parser.add_argument('--dim', type=int, default=768)
    parser.add_argument('--classes', type=int, default=21)
    parser.add_argument('--queries', type=int, default=256)
    parser.add_argument('--child', type=int, help=argparse.SUPPRESS)
    parser.add_argument('--root', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.dim, args.classes, args.queries, args.root)))
        return 0
    results = []
    for rows in args.sizes:
        with tempfile.TemporaryDirectory() as root:
            out = subprocess.run([sys.executable, __file__, '--child', str(rows), '--root', root, '--dim',
                                  str(args.dim), '--classes', str(args.classes), '--queries', str(args.queries)],
                                 check=True, capture_output=True, text=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        r = results[-1]
        fp32 = rows * (args.dim + args.classes) * 4 / 2 ** 20
        print(f'bank {rows:>10,} x {args.dim}: peak RSS {r["peak_mib"]:7.0f} MiB (fill {r["fill_s"]:.1f} s, '
              f'search + transfer of {args.queries} queries {r["search_s"]:.1f} s); '
              f'an fp32 bank in RAM: {fp32:,.0f} MiB')
    ratio = results[1]['peak_mib'] / results[0]['peak_mib']
    print(f'peak RSS ratio {results[1]["rows"]:,} / {results[0]["rows"]:,} rows: {ratio:.3f} '
          f'(goal <= {GOAL}: {"met" if ratio <= GOAL else "NOT met"})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
