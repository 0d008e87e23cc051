"""Learning-rate schedules the runner's built-in policies do not cover.

Probe3D (mbanani/probe3d ``evals/utils/optim.py: cosine_decay_linear_warmup``, driven per iteration by
``torch.optim.lr_scheduler.LambdaLR`` in ``train_depth.py`` / ``train_snorm.py``): the factor on the peak lr at
iteration ``s`` (0-based; ``LambdaLR`` applies ``f(0)`` before the first step) is

    s <= W:  (1 - m) * s / W + m                                   (warm-up from m = 0.01 to 1)
    s >  W:  (1 - m) * cos(0.5 * pi * (s - W) / (S - W)) + m        (a quarter cosine down to m at s = S)

with ``S`` = epochs x iterations per epoch and ``W`` = warm-up epochs x iterations per epoch.

mmcv's ``PolyLrUpdaterHook`` with linear warm-up (the mmseg 0.x ``lr_config`` of DINOv2's released segmentation
configs: ``policy='poly', power=1, min_lr=0, warmup='linear', warmup_iters=1500, warmup_ratio=1e-6``): the poly
decay counts from iteration 0 over all ``S`` iterations and the warm-up multiplies it while ``s < W``:

    poly(s) = (1 - s / S) ** power;   s < W:  poly(s) * (1 - (1 - s / W) * (1 - ratio))
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


def mmcv_poly_lr_factor(step: int, max_iters: int, warmup_iters: int = 0, warmup_ratio: float = 1e-6,
                        power: float = 1.0) -> float:
    """mmcv ``PolyLrUpdaterHook.get_lr`` (min_lr 0) times ``LrUpdaterHook.get_warmup_lr('linear')``."""
    factor = (1 - step / max_iters) ** power
    if step < warmup_iters:
        factor *= 1 - (1 - step / warmup_iters) * (1 - warmup_ratio)
    return factor


FACTORS = {'probe3d': probe3d_lr_factor, 'mmcv_poly': mmcv_poly_lr_factor}


@PARAM_SCHEDULERS.register_module(force=True)
class ClosedFormLR(LRSchedulerMixin, _ParamScheduler):
    """Per-iteration lr = the group's initial lr x a closed-form factor of the iteration (so resuming works).

    Args:
        optimizer: The (wrapped) optimizer.
        policy: ``'probe3d'`` (:func:`probe3d_lr_factor`) or ``'mmcv_poly'`` (:func:`mmcv_poly_lr_factor`).
        options: The factor function's arguments after ``step``.
    """

    def __init__(self, optimizer, policy: str, options: dict, **kwargs):
        if policy not in FACTORS:
            raise ValueError(f'ClosedFormLR: policy must be one of {sorted(FACTORS)}, got {policy!r}')
        self.factor, self.options = FACTORS[policy], dict(options)
        super().__init__(optimizer, **kwargs)

    def _get_value(self) -> list[float]:
        factor = self.factor(self.last_step, **self.options)
        return [base * factor for base in self.base_values]
