"""Learning-rate schedules the runner's built-in policies do not cover.

Probe3D (mbanani/probe3d ``evals/utils/optim.py: cosine_decay_linear_warmup``, driven per iteration by
``torch.optim.lr_scheduler.LambdaLR`` in ``train_depth.py`` / ``train_snorm.py``): the factor on the peak lr at
iteration ``s`` (0-based; ``LambdaLR`` applies ``f(0)`` before the first step) is

    s <= W:  (1 - m) * s / W + m                                   (warm-up from m = 0.01 to 1)
    s >  W:  (1 - m) * cos(0.5 * pi * (s - W) / (S - W)) + m        (a quarter cosine down to m at s = S)

with ``S`` = epochs x iterations per epoch and ``W`` = warm-up epochs x iterations per epoch.
"""
from __future__ import annotations

import math

from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import _ParamScheduler
from mmengine.registry import PARAM_SCHEDULERS


def probe3d_lr_factor(step: int, max_iters: int, warmup_iters: int, min_factor: float = 0.01) -> float:
    """Probe3D's ``cosine_decay_linear_warmup(step, max_iters, warmup_iters, min_factor)``."""
    if max_iters <= warmup_iters:
        raise ValueError(f'probe3d schedule needs max_iters > warmup_iters, got {max_iters}, {warmup_iters}')
    span = 1.0 - min_factor
    if step <= warmup_iters:
        return span * (step / warmup_iters if warmup_iters else 1.0) + min_factor
    return span * math.cos(0.5 * math.pi * (step - warmup_iters) / (max_iters - warmup_iters)) + min_factor


@PARAM_SCHEDULERS.register_module(force=True)
class Probe3DCosineLR(LRSchedulerMixin, _ParamScheduler):
    """Per-iteration lr = the group's initial lr x :func:`probe3d_lr_factor` (closed form, so resuming works).

    Args:
        optimizer: The (wrapped) optimizer.
        max_iters, warmup_iters, min_factor: As in :func:`probe3d_lr_factor`.
    """

    def __init__(self, optimizer, max_iters: int, warmup_iters: int, min_factor: float = 0.01, **kwargs):
        self.max_iters, self.warmup_iters, self.min_factor = max_iters, warmup_iters, min_factor
        super().__init__(optimizer, **kwargs)

    def _get_value(self) -> list[float]:
        factor = probe3d_lr_factor(self.last_step, self.max_iters, self.warmup_iters, self.min_factor)
        return [base * factor for base in self.base_values]
