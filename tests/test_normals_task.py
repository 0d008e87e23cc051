"""Normals task: heads, unit predictions, concentration, loss, evaluator, bad batches."""
import math

import pytest
import torch
import torch.nn.functional as F

from probes.tasks.normals import NormalsTask


def _unit(shape, seed=0):
    return F.normalize(torch.randn(shape, generator=torch.Generator().manual_seed(seed)), dim=1)


@pytest.mark.parametrize('kind,uncertainty', [('dpt', True), ('linear', True), ('linear', False)])
def test_heads_predict_and_loss(kind, uncertainty):
    task = NormalsTask(uncertainty=uncertainty)
    head = task.build_head(kind, [16, 16, 16, 16], pooled_dim=0)
    out = head([torch.randn(2, 16, 4, 4) for _ in range(4)])
    assert out.shape[1] == (4 if uncertainty else 3)
    pred = task.predict(out, (20, 24))
    assert pred.shape == (2, 3, 20, 24) and torch.allclose(pred.norm(dim=1), torch.ones(()), atol=1e-5)
    gt = _unit((2, 3, 20, 24))
    gt[0, :, :3] = 0
    loss = task.loss(out, {'normals': gt})
    loss.backward()
    assert torch.isfinite(loss) and all(p.grad is not None for p in head.parameters())
    if uncertainty:
        assert (task.concentration(out, (20, 24)) >= 0.01).all()
    else:
        with pytest.raises(ValueError, match='no concentration'):
            task.concentration(out, (20, 24))


def test_evaluator_known_rotation():
    gt = _unit((2, 3, 6, 6))
    axis = F.normalize(torch.cross(gt, _unit(gt.shape, seed=1), dim=1), dim=1)  # orthogonal to gt
    a = math.radians(25)
    pred = gt * math.cos(a) + axis * math.sin(a)
    ev = NormalsTask().new_evaluator()
    ev.process(pred[:1], {'normals': gt[:1]})
    ev.process(pred[1:], {'normals': gt[1:]})
    m = ev.compute()
    assert m['mean'] == pytest.approx(25, abs=1e-3) and m['median'] == pytest.approx(25, abs=1e-3)
    assert (m['a11.25'], m['a22.5'], m['a30']) == (0.0, 0.0, 100.0)
    pooled = NormalsTask(aggregation='pooled').new_evaluator()
    pooled.process(pred, {'normals': gt})
    assert pooled.compute()['median'] == pytest.approx(25, abs=0.006)


def test_bad_batches_raise():
    task = NormalsTask()
    out = torch.randn(1, 4, 2, 2)
    with pytest.raises(KeyError, match="no 'normals'"):
        task.loss(out, {'depth': torch.ones(1, 4, 4)})
    with pytest.raises(ValueError, match=r'\[N, 3, H, W\]'):
        task.loss(out, {'normals': torch.ones(1, 4, 4)})
    ev = task.new_evaluator()
    with pytest.raises(ValueError, match='unit length'):
        ev.process(_unit((1, 3, 4, 4)), {'normals': 3 * _unit((1, 3, 4, 4))})


def test_probe3d_validity_counts_every_pixel_with_depth():
    """Probe3D (train_snorm.py): mask = depth > 0; a zero ground-truth normal then scores 90 degrees."""
    from probes.tasks.normals import NormalsTask
    target = torch.zeros(1, 3, 2, 2)
    target[:, 2] = -1.0
    target[0, :, 0, 0] = 0.0  # no normal here, but depth: Probe3D counts it
    depth = torch.tensor([[[1.0, 1.0], [1.0, 0.0]]])  # no depth at (1, 1): never counted
    pred = torch.zeros(1, 3, 2, 2)
    pred[:, 2] = -1.0
    batch = {'normals': target, 'depth': depth}
    ours, probe3d = NormalsTask(uncertainty=False), NormalsTask(uncertainty=False, valid_from_depth=True)
    for task, want in ((ours, 0.0), (probe3d, (90.0 ** 2 / 3) ** 0.5)):
        ev = task.new_evaluator()
        ev.process(pred, batch)
        assert ev.compute()['rmse'] == pytest.approx(want, abs=1e-6)
    # loss over the same pixels: the zero normal's angle (pi / 2, clamped cosine) enters the mean
    clamped = math.acos(1 - 1e-4)  # Probe3D clamps the cosine before acos
    assert probe3d.loss(pred, batch).item() == pytest.approx((math.pi / 2 + 2 * clamped) / 3, rel=1e-4)
    assert ours.loss(pred, batch).item() == pytest.approx(clamped, rel=1e-4)
