"""The few ``mmcv.ops`` names mmsegmentation imports, without mmcv's compiled extension.

mmcv-lite is pure python, but ``mmcv.ops`` imports ``mmcv._ext`` at package import. mmseg 1.2.2 needs only
``point_sample`` (mmcv ships it as pure python in ``mmcv/ops/point_sample.py``) and ``sigmoid_focal_loss``
(Lin et al. 2017, "Focal Loss for Dense Object Detection", eq. 5, written here in torch). Every optional op
mmseg imports inside ``try`` blocks stays missing, as on a CPU-only mmcv build.

Call :func:`install` before importing ``mmseg.models`` or ``mmseg.datasets``; :func:`import_mmseg` does both.
"""
from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import torch
import torch.nn.functional as F


def sigmoid_focal_loss(pred: torch.Tensor, target: torch.Tensor, gamma: float = 2.0, alpha: float = 0.25,
                       weight: torch.Tensor | None = None, reduction: str = 'mean') -> torch.Tensor:
    """Sigmoid focal loss with mmcv's signature; ``target`` holds class indices (N,), ``pred`` logits (N, C)."""
    num_classes = pred.shape[1]
    one_hot = F.one_hot(target.long().clamp(max=num_classes), num_classes + 1)[:, :num_classes].to(pred.dtype)
    prob = pred.sigmoid()
    pt = (1 - prob) * one_hot + prob * (1 - one_hot)
    focal_weight = (alpha * one_hot + (1 - alpha) * (1 - one_hot)) * pt.pow(gamma)
    loss = F.binary_cross_entropy_with_logits(pred, one_hot, reduction='none') * focal_weight
    if weight is not None:
        loss = loss * weight.view(-1, 1)
    if reduction == 'mean':
        return loss.mean()
    if reduction == 'sum':
        return loss.sum()
    return loss


def _load_point_sample() -> types.ModuleType:
    import mmcv
    path = Path(mmcv.__file__).parent / 'ops' / 'point_sample.py'
    spec = importlib.util.spec_from_file_location('mmcv.ops.point_sample', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _missing_op(name: str):
    if name.startswith('__'):
        raise AttributeError(name)
    # mmseg guards its optional ops with ``except ModuleNotFoundError`` (not ImportError), so say exactly that.
    raise ModuleNotFoundError(f'mmcv.ops.{name} needs the compiled mmcv; the suite runs on mmcv-lite without it')


def install() -> None:
    """Register a pure-python ``mmcv.ops`` unless a working compiled one imports."""
    if 'mmcv.ops' in sys.modules:
        return
    try:
        import mmcv._ext  # noqa: F401  (a full mmcv build: use it as is)
        return
    except ImportError:
        pass
    import mmcv
    ops = types.ModuleType('mmcv.ops')
    ops.__doc__ = 'Pure-python stand-in for mmcv.ops (dense.mmcv_compat).'
    point_sample_module = _load_point_sample()
    ops.point_sample = point_sample_module.point_sample
    ops.bilinear_grid_sample = point_sample_module.bilinear_grid_sample
    ops.sigmoid_focal_loss = sigmoid_focal_loss
    ops.__file__ = __file__
    ops.__getattr__ = _missing_op
    sys.modules['mmcv.ops'] = ops
    sys.modules['mmcv.ops.point_sample'] = point_sample_module
    mmcv.ops = ops


def import_mmseg() -> types.ModuleType:
    """Import mmseg with its models and datasets registered, the stand-in installed first."""
    install()
    import warnings
    with warnings.catch_warnings():
        # mmcv-lite has no compiled deformable attention; mmseg's transformer bricks warn on import (harmless:
        # no model here uses it, and _missing_op names the op if one ever does)
        warnings.filterwarnings('ignore', message='Fail to import ``MultiScaleDeformableAttention``')
        import mmseg
        import mmseg.datasets  # noqa: F401
        import mmseg.models  # noqa: F401
    return mmseg
