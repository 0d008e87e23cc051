"""torch.distributed for probe runs: launchers, the DDP wrapper config, and evaluation results gathered once.

Launchers are torchrun's (``launcher='pytorch'``, also chosen when ``WORLD_SIZE`` > 1 is in the environment) and
SLURM's (``launcher='slurm'``, ``srun``), as in mmengine (``mmengine/dist/utils.py: init_dist``). On CUDA
mmengine's ``init_dist`` is used as is (NCCL, one GPU per process); without CUDA the same environment is read and
a gloo group started (mmengine's launchers call ``torch.cuda.set_device``, which a CPU machine cannot).

Training is data-parallel over the heads only: ``ProbeModel`` keeps the frozen encoder outside its module tree, so
DDP (``MMDistributedDataParallel``) wraps and all-reduces the heads' gradients while every rank holds its own
replica of the encoder. Evaluation shards the data set without padding (``DefaultSampler(round_up=False)``:
rank ``r`` reads samples ``r, r + world, ...``) and merges the task evaluators' states, so every sample is
counted exactly once, also with an uneven last batch.
"""
from __future__ import annotations

import os
import subprocess

import numpy as np
import torch
import torch.distributed as torch_dist

LAUNCHERS = ('none', 'pytorch', 'slurm')


def rank_world() -> tuple[int, int]:
    """``(rank, world size)`` of the process group, ``(0, 1)`` when not distributed."""
    if torch_dist.is_available() and torch_dist.is_initialized():
        return torch_dist.get_rank(), torch_dist.get_world_size()
    return 0, 1


def barrier() -> None:
    """Wait for every rank (nothing when not distributed)."""
    if rank_world()[1] > 1:
        torch_dist.barrier()


def launcher_of(cfg) -> str:
    """``cfg.launcher``, else ``'pytorch'`` under torchrun (``WORLD_SIZE`` > 1), else ``'none'``."""
    launcher = cfg.get('launcher') or ('pytorch' if int(os.environ.get('WORLD_SIZE', '1')) > 1 else 'none')
    if launcher not in LAUNCHERS:
        raise ValueError(f'launcher must be one of {LAUNCHERS}, got {launcher!r}')
    return launcher


def _slurm_env(port: int = 29500) -> None:
    """The torch.distributed environment from SLURM's (as ``mmengine.dist.utils._init_dist_slurm``)."""
    nodes = os.environ['SLURM_NODELIST']
    os.environ.setdefault('MASTER_ADDR', subprocess.getoutput(f'scontrol show hostname {nodes} | head -n1'))
    os.environ.setdefault('MASTER_PORT', str(port))
    os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
    os.environ['RANK'] = os.environ['SLURM_PROCID']
    os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')


def init_distributed(launcher: str, backend: str | None = None) -> None:
    """Join the process group of ``launcher`` (nothing for ``'none'`` or when already joined)."""
    if launcher == 'none' or torch_dist.is_initialized():
        return
    if torch.cuda.is_available():
        from mmengine.dist import init_dist
        init_dist(launcher, backend=backend or 'nccl')
        return
    if launcher == 'slurm':
        _slurm_env()
    torch_dist.init_process_group(backend=backend or 'gloo')


def wrapper_cfg(find_unused_parameters: bool = False) -> dict:
    """mmengine ``model_wrapper_cfg``: DDP over the heads, on this process's GPU (``device_ids=None`` on CPU)."""
    device_ids = [int(os.environ.get('LOCAL_RANK', 0))] if torch.cuda.is_available() else None
    return dict(type='MMDistributedDataParallel', device_ids=device_ids, broadcast_buffers=False,
                find_unused_parameters=find_unused_parameters)


def _merge_state(a, b, name: str):
    """Two evaluators' accumulated states as one: tensors / arrays summed, lists concatenated, dicts merged per
    key, anything else (options) must agree."""
    if a is None or b is None:
        return b if a is None else a
    if isinstance(a, (torch.Tensor, np.ndarray)):
        return a + b
    if isinstance(a, list):
        return a + b
    if isinstance(a, dict):
        return {k: _merge_state(a.get(k), b.get(k), f'{name}.{k}') for k in {**a, **b}}
    if a != b:
        raise ValueError(f'cannot merge evaluator field {name}: {a!r} on one rank, {b!r} on another')
    return a


def merge_evaluator(a, b):
    """``b``'s results added into ``a`` (the evaluator's own ``merge(other)`` when it defines one)."""
    if hasattr(a, 'merge'):
        a.merge(b)
    else:
        a.__dict__.update(_merge_state(vars(a), vars(b), type(a).__name__))
    return a


def gather_evaluators(evaluators: dict, count: int) -> tuple[dict, int]:
    """Every rank's evaluators merged (on every rank) and the total number of samples they saw."""
    rank, world = rank_world()
    if world == 1:
        return evaluators, count
    parts = [None] * world
    torch_dist.all_gather_object(parts, ({k: _to_cpu(v) for k, v in evaluators.items()}, count))
    merged = parts[0][0]
    for other, _ in parts[1:]:
        for name in merged:
            merge_evaluator(merged[name], other[name])
    return merged, sum(c for _, c in parts)


def _to_cpu(evaluator):
    """An evaluator whose tensors are on the CPU (gathered objects are pickled)."""
    for key, value in vars(evaluator).items():
        if isinstance(value, torch.Tensor):
            setattr(evaluator, key, value.cpu())
    return evaluator
