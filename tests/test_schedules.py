"""Learning-rate schedules as the runner builds them, checked value by value against the reference formulas."""
import math

import pytest
import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import PARAM_SCHEDULERS

from probes.train.runner import _schedulers
from probes.train.schedules import probe3d_lr_factor


def lrs_over(schedule: dict, peak: float = 5e-4) -> list[float]:
    """The lr each iteration trains with: schedulers built from ``_schedulers`` and stepped after every
    optimiser step, as mmengine's ParamSchedulerHook does."""
    param = torch.nn.Parameter(torch.zeros(1))
    wrapper = OptimWrapper(torch.optim.AdamW([param], lr=peak))
    scheds = [PARAM_SCHEDULERS.build(dict(cfg, optimizer=wrapper)) for cfg in _schedulers(schedule)]
    out = []
    for _ in range(schedule['max_iters']):
        out.append(wrapper.optimizer.param_groups[0]['lr'])
        wrapper.optimizer.step()
        for s in scheds:
            s.step()
    return out


def probe3d_by_hand(step, total, warmup, m=0.01):
    """mbanani/probe3d evals/utils/optim.py cosine_decay_linear_warmup, written out again."""
    if step <= warmup:
        return (1 - m) * (step / warmup) + m
    return (1 - m) * math.cos(0.5 * (step - warmup) / (total - warmup) * math.pi) + m


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_probe3d_schedule_equals_its_lambda_lr():
    total, warmup, peak = 100, 15, 5e-4
    got = lrs_over(dict(max_iters=total, warmup_iters=warmup, policy='probe3d'), peak)
    want = [peak * probe3d_by_hand(s, total, warmup) for s in range(total)]
    assert got == pytest.approx(want, rel=1e-9)
    assert got[0] == pytest.approx(0.01 * peak) and got[warmup] == pytest.approx(peak)
    # a quarter cosine: halfway through the decay the factor is 0.99 cos(pi / 4) + 0.01, not 0.5
    assert probe3d_lr_factor(warmup + (total - warmup) // 2, total, warmup) == pytest.approx(
        0.99 * math.cos(math.pi / 4) + 0.01, rel=1e-2)
    assert probe3d_lr_factor(total, total, warmup) == pytest.approx(0.01)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_default_cosine_unchanged():
    got = lrs_over(dict(max_iters=10, warmup_iters=2, warmup_ratio=1e-3, policy='cosine'), 1.0)
    assert got[0] == pytest.approx(1e-3) and got[2] == pytest.approx(1.0) and got[-1] < 0.05


def mmcv_poly_by_hand(step, total, warmup, ratio=1e-6, power=1.0):
    """mmcv PolyLrUpdaterHook (min_lr 0, progress = iteration from 0) x linear warm-up (get_warmup_lr)."""
    regular = (1 - step / total) ** power
    if step >= warmup:
        return regular
    k = (1 - step / warmup) * (1 - ratio)
    return regular * (1 - k)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_mmcv_poly_counts_from_iteration_zero():
    total, warmup = 200, 30
    got = lrs_over(dict(max_iters=total, warmup_iters=warmup, warmup_ratio=1e-6, policy='mmcv_poly'), 1e-3)
    assert got == pytest.approx([1e-3 * mmcv_poly_by_hand(s, total, warmup) for s in range(total)], rel=1e-9)
    # after the warm-up the lr is already below the peak: the decay started at iteration 0
    assert got[warmup] == pytest.approx(1e-3 * (1 - warmup / total))
