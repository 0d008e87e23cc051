"""One prepared GPU check: the CUDA-marked tests and the throughput benchmarks P1-P6 at real sizes (B/16 and
So400m/14 at 224 and 384, bf16), written as one JSON and one markdown report. Sized for < 8 minutes on one GPU.

Without CUDA it says so and exits 0; ``--cpu-tiny`` runs the same steps with tiny models on the CPU (a dry run of
the script itself). Usage:
    python benchmarks/gpu_check.py [--out work_dirs/gpu_check] [--cpu-tiny] [--skip-tests]
"""
from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

import common  # noqa: F401 - puts the checkout on sys.path
import bench_cache_memory
import bench_cache_step
import bench_encoders
import bench_pretrain
import bench_probe_grid
import bench_suite_estimate
from dense.io import write_bytes, write_json

REAL = dict(
    p1=[dict(variant=v, batch=32, dtype='bf16', compile=c) for v, c in (  # two compiles: about a minute each
        ('siglip2-b16-224', False), ('siglip2-b16-224', True), ('siglip2-b16-384', False),
        ('siglip2-so400m14-224', False), ('siglip2-so400m14-384', False), ('siglip2-so400m14-384', True))],
    p2=dict(variant='siglip2-b16-512', batch=16), p3=dict(variant='siglip2-b16-224', batch=32),
    p4=dict(items=400, scale=4, size=448), p5=dict(variant='siglip2-so400m14-384', batch_cap=16),
    p6=dict(recipe='sigmoid+dense+locca', steps=5))
TINY = dict(
    p1=[dict(variant='test', batch=2, dtype='fp32', compile=False)], p2=dict(variant='test', batch=2, size=128),
    p3=dict(variant='test', batch=2), p4=dict(items=20, scale=4, size=128),
    p5=dict(variant='test', batch_cap=1, only=['nyu_depth']),
    p6=dict(config='configs/pretrain/scenes_sigmoid-dense_test-64_smoke.py', num_scenes=16, steps=1))


def _tests() -> dict:
    done = subprocess.run([sys.executable, '-m', 'pytest', '-m', 'cuda', 'tests', '-q', '-p', 'no:cacheprovider'],
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    return dict(returncode=done.returncode, tail=done.stdout[-2000:])


def _try(fn) -> dict:
    """``fn()``, or a dict naming the error (one failing size does not lose the others)."""
    try:
        return fn()
    except Exception as err:  # noqa: BLE001 - the report says what failed
        return dict(error=f'{type(err).__name__}: {err}')


def _step(report: dict, name: str, fn) -> None:
    """Run one part, recording its result or its error and its duration; one failure does not stop the rest."""
    start = time.perf_counter()
    report[name] = _try(fn)
    report.setdefault('seconds', {})[name] = round(time.perf_counter() - start, 1)
    print(f'{name}: {report["seconds"][name]} s', flush=True)


def markdown(report: dict) -> str:
    """The report as markdown tables."""
    lines = [f'# GPU check: {report["device"]}', '', f'torch {report["torch"]}, {report["when"]}', '']
    if 'tests' in report:
        lines += [f'CUDA-marked tests: exit {report["tests"].get("returncode")}', '']
    lines += ['| P1 encoder | batch | px | dtype | compile | ours ms | HF ms | HF/ours (spread) |', '|---' * 8 + '|']
    p1 = report.get('p1', [])
    for r in [p1] if isinstance(p1, dict) else p1:
        if 'error' in r:
            lines.append(f'| {r["error"]} |')
            continue
        lines.append(f'| {r["variant"]} | {r["batch"]} | {r["size"]} | {r["dtype"]} | {r["compile"]} | '
                     f'{r["a_ms"]:.1f} | {r["b_ms"]:.1f} | {r["ratio"]:.2f} ({r["ratio_min"]:.2f}-{r["ratio_max"]:.2f}) |')
    for key, label in (('p2', 'P2 on the fly / cached step'), ('p3', 'P3 48-probe grid / one probe')):
        r = report.get(key, {})
        lines += ['', f'{label}: ' + (r['error'] if 'error' in r else
                                     f'{r["ratio"]:.2f} (spread {r["ratio_min"]:.2f}-{r["ratio_max"]:.2f}; '
                                     f'{r["a_ms"]:.1f} vs {r["b_ms"]:.1f} ms)')]
    r = report.get('p4', {})
    lines += ['', 'P4 peak RSS large / small cache: ' + (r['error'] if 'error' in r else
                                                        f'{r["ratio"]:.3f} ({r["rss_small_mib"]:.0f} vs '
                                                        f'{r["rss_large_mib"]:.0f} MiB)')]
    r = report.get('p5', {})
    if 'rows' in r:
        lines += ['', '| P5 benchmark | steps | views | cached step ms | fly step ms | cached h | fly h |',
                  '|---' * 7 + '|']
        lines += [f'| {x["benchmark"]} | {x["steps"]} | {x["views"]} | {x["cached_step_s"] * 1e3:.0f} | '
                  f'{x["fly_step_s"] * 1e3:.0f} | {x["cached_h"]:.2f} | {x["fly_h"]:.2f} |' for x in r['rows']]
        lines += ['', f'Suite: {r["cached_h"]:.2f} GPU-h with the cache, {r["fly_h"]:.2f} GPU-h on the fly (training).']
    elif r:
        lines += ['', f'P5: {r.get("error")}']
    r = report.get('p6', {})
    if r:
        lines += ['', 'P6 scene pretraining step, CPU / device: ' + (
            r['error'] if 'error' in r else f'{r["ratio"]:.2f} (spread {r["ratio_min"]:.2f}-{r["ratio_max"]:.2f}; '
            f'{r["recipe"]}: {r["step_ms"]:.1f} ms a step, {r["projected_min"]:.1f} min for its max_iters)')]
    return '\n'.join(lines) + '\n'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='work_dirs/gpu_check')
    parser.add_argument('--cpu-tiny', action='store_true', help='tiny models on the CPU (checks the script only)')
    parser.add_argument('--skip-tests', action='store_true')
    args = parser.parse_args()
    if not torch.cuda.is_available() and not args.cpu_tiny:
        print('no CUDA device here: nothing to check (--cpu-tiny runs a tiny CPU variant of the script)')
        return 0
    device, sizes = ('cpu', TINY) if args.cpu_tiny else ('cuda', REAL)
    report = dict(device=torch.cuda.get_device_name() if device == 'cuda' else platform.processor() or 'cpu',
                  torch=torch.__version__, when=time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()))
    if not args.skip_tests and device == 'cuda':
        _step(report, 'tests', _tests)
    _step(report, 'p1', lambda: [_try(lambda o=o: bench_encoders.run(device=device, **o))
                                        for o in sizes['p1']])
    _step(report, 'p2', lambda: bench_cache_step.run(device=device, **sizes['p2']))
    _step(report, 'p3', lambda: bench_probe_grid.run(device=device, **sizes['p3']))
    _step(report, 'p4', lambda: bench_cache_memory.run(**sizes['p4']))
    _step(report, 'p5', lambda: bench_suite_estimate.run(device=device, **sizes['p5']))
    _step(report, 'p6', lambda: bench_pretrain.run(device=device, **sizes['p6']))
    out = Path(args.out)
    write_json(out / 'gpu_check.json', report)
    write_bytes(out / 'gpu_check.md', markdown(report).encode())
    print(markdown(report))
    return 0


if __name__ == '__main__':
    sys.exit(main())
