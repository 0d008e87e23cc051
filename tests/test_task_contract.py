"""The task contract's instance-level pieces: boxes follow every augmentation, list keys collate as lists, and a
non-dense task gets its ``head_inputs`` and one whole-image forward while dense tasks keep test-time views."""
import random

import torch
from torch import nn

from dense.datasets.common import augment, collate
from dense.encoders import build_encoder
from probes.tasks import build_task
from probes.train.model import ProbeModel
from probes.train.spec import ProbeSpec


def _mask_box(seg: torch.Tensor) -> list[float]:
    ys, xs = torch.nonzero(seg == 1, as_tuple=True)
    return [xs.min().item(), ys.min().item(), xs.max().item() + 1, ys.max().item() + 1]


def test_boxes_follow_resize_crop_and_flip_like_the_pixels_they_cover():
    for seed in range(20):
        random.seed(seed)
        seg = torch.zeros(40, 60, dtype=torch.int64)
        seg[10:30, 20:50] = 1
        sample = dict(image=torch.rand(3, 40, 60), seg=seg, boxes=torch.tensor([[20.0, 10.0, 50.0, 30.0]]),
                      box_labels=torch.tensor([3]), target_box=torch.tensor([20.0, 10.0, 50.0, 30.0]))
        out = augment(sample, crop_size=(32, 32), scale_range=(1.0, 2.0), flip=True, resize=(40, 60))
        if not (out['seg'] == 1).any():
            assert len(out['boxes']) == 0 and len(out['box_labels']) == 0  # cropped away: dropped with its label
            continue
        expected = torch.tensor(_mask_box(out['seg']), dtype=torch.float32)
        assert torch.allclose(out['boxes'][0], expected, atol=1.0), (seed, out['boxes'], expected)
        assert torch.allclose(out['target_box'], expected, atol=1.0)
        assert out['box_labels'].tolist() == [3]


def test_collate_keeps_list_keys_as_lists_and_stacks_target_boxes():
    samples = [dict(image=torch.rand(3, 8, 8), boxes=torch.zeros(n, 4), box_labels=torch.zeros(n, dtype=torch.int64),
                    expression=f'thing {n}', target_box=torch.ones(4)) for n in (1, 3)]
    batch = collate(samples)
    assert [b.shape[0] for b in batch['boxes']] == [1, 3] and batch['expression'] == ['thing 1', 'thing 3']
    assert batch['target_box'].shape == (2, 4) and batch['image'].shape == (2, 3, 8, 8)


class _CountHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(1))
        self.calls = []

    def forward(self, feats, pooled=None, offset=None):
        self.calls.append(tuple(feats[0].shape[-2:]))
        return {'score': feats[0].mean((1, 2, 3)) * self.weight + offset}


class _ToyBoxTask:
    """A non-dense task: one score per image, shifted by a per-batch input."""
    name, dense, label_keys = 'toy', False, ('target_box',)
    selection, table_metrics = ('err', 'min'), ('err',)

    def build_head(self, kind, in_dims, pooled_dim=0, **opts):
        return _CountHead()

    def head_inputs(self, batch):
        return {'offset': batch['target_box'][:, 0]}

    def loss(self, out, batch):
        return out['score'].sum()

    def predict(self, out, size):
        return [dict(score=s) for s in out['score']]


def test_non_dense_task_gets_head_inputs_and_skips_test_time_views():
    enc = build_encoder('test')
    tasks = {'seg': build_task('seg', num_classes=3), 'toy': _ToyBoxTask()}
    specs = [ProbeSpec('seg', 'linear', (1,), 1e-3), ProbeSpec('toy', 'any', (1,), 1e-3)]
    model = ProbeModel(enc, tasks, specs, dict(mode='whole', scales=(1.0, 1.5), flip=True))
    batch = dict(image=torch.rand(2, 3, 32, 32), seg=torch.zeros(2, 32, 32, dtype=torch.int64),
                 target_box=torch.tensor([[5.0, 0, 9, 9], [7.0, 0, 9, 9]]), meta=[{}, {}])
    head = model.probes[specs[1].name]
    with torch.no_grad():
        head.weight.zero_()  # the score is then exactly the per-batch input
    [result] = model(batch, mode='predict')
    assert len(head.calls) == 1  # one whole-image forward, no scales or flips
    assert result['preds'][specs[0].name].shape == (2, 32, 32)
    assert [p['score'].item() for p in result['preds'][specs[1].name]] == [5.0, 7.0]
    assert set(result['batch']) >= {'seg', 'target_box', 'meta'}
    losses = model(batch, mode='loss')
    assert set(losses) == {f'loss_{s.name}' for s in specs}
