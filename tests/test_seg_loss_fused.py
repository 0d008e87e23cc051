"""The fused resize + cross-entropy of the segmentation probes against the unfused mmseg computation
(``F.interpolate(bilinear, align_corners=False)`` then ``F.cross_entropy(ignore_index, reduction='sum') / count``),
and a grid step that scores every probe in one fused pass against the probes trained one by one."""
import copy

import pytest
import torch
import torch.nn.functional as F

from dense.encoders import build_encoder
from probes.losses.segmentation import resize_matrix, upsampled_cross_entropy
from probes.tasks import build_task
from probes.train import ProbeModel, as_config, expand_grid
from probes.train.runner import _optimizer

IGNORE = 255


def _reference(logits, labels, avg_non_ignore=False):
    """One unfused mmseg loss per probe (BaseDecodeHead.loss_by_feat: resize, then CrossEntropyLoss)."""
    out = []
    for probe in logits:
        resized = F.interpolate(probe, size=labels.shape[-2:], mode='bilinear', align_corners=False)
        total = F.cross_entropy(resized, labels, ignore_index=IGNORE, reduction='sum')
        count = (labels != IGNORE).sum().clamp_min(1) if avg_non_ignore else labels.numel()
        out.append(total / count)
    return torch.stack(out)


def _labels(n, classes, size, gen):
    labels = torch.randint(0, classes, (n, *size), generator=gen)
    labels[0, :2] = IGNORE  # unlabelled rows
    labels[-1, :, -3:] = IGNORE
    return labels


@pytest.mark.parametrize('low,size', [((4, 5), (33, 41)), ((6, 6), (6, 6)), ((8, 7), (5, 3)), ((3, 3), (48, 48))])
@pytest.mark.parametrize('avg_non_ignore', [False, True])
@pytest.mark.parametrize('block', [64, 27100])
def test_fused_loss_and_gradient_equal_the_unfused_computation(low, size, avg_non_ignore, block, monkeypatch):
    """Up- (integer and fractional factors), identity and down-resizing; float64: exact up to 1e-12. Blocks of 64
    floats: several row blocks per image (the CPU path); of 27,100: several (probe, image) pairs per block, the
    last group smaller (33 x 41 labels: 4 + 2 pairs; the accelerator path)."""
    monkeypatch.setattr('probes.losses.segmentation.BLOCK_FLOATS', block)
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 2, 5, *low, generator=gen, dtype=torch.float64, requires_grad=True)
    labels = _labels(2, 5, size, gen)
    weights = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)  # distinct upstream gradients per probe
    ref = _reference(logits, labels, avg_non_ignore)
    (ref_grad,) = torch.autograd.grad((ref * weights).sum(), logits)
    out = upsampled_cross_entropy(logits, labels, IGNORE, avg_non_ignore)
    (grad,) = torch.autograd.grad((out * weights).sum(), logits)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-12)
    torch.testing.assert_close(grad, ref_grad, rtol=0, atol=1e-12)


def test_fused_loss_float32_at_probe_size_and_edge_cases():
    """float32 at a linear probe's size (14 -> 224, 150 classes): within 1e-5; one probe ``[N, C, h, w]`` gives a
    scalar; an all-ignored batch gives 0 with its graph kept (no data-dependent branch)."""
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(2, 150, 14, 14, generator=gen, requires_grad=True)
    labels = _labels(2, 150, (224, 224), gen)
    out = upsampled_cross_entropy(logits, labels, IGNORE)
    ref = _reference(logits[None], labels)[0]
    assert out.ndim == 0
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    (grad,) = torch.autograd.grad(out, logits)
    (ref_grad,) = torch.autograd.grad(ref, logits)
    assert ((grad - ref_grad).abs().max() / ref_grad.abs().max()) < 1e-5
    ignored = upsampled_cross_entropy(logits, torch.full_like(labels, IGNORE), IGNORE, avg_non_ignore=True)
    assert float(ignored.detach()) == 0 and ignored.requires_grad
    with pytest.raises(ValueError, match='do not match'):
        upsampled_cross_entropy(logits, labels[:1], IGNORE)


def test_resize_matrix_is_interpolates():
    """Resizing along rows then columns with the matrices is F.interpolate's bilinear resize."""
    x = torch.randn(2, 3, 5, 7, dtype=torch.float64)
    rows, cols = resize_matrix(5, 16), resize_matrix(7, 9)
    torch.testing.assert_close(rows @ x @ cols.T, F.interpolate(x, size=(16, 9), mode='bilinear',
                                                                 align_corners=False), rtol=0, atol=1e-12)


def test_grid_step_scored_together_equals_probes_trained_one_by_one():
    """16 probes (linear / BN-linear x 2 layer sets x 2 lrs x pooled or not) on one forward: the grid's losses
    (one fused pass) and its weights after one step of the runner's optimizer (fused AdamW, one group per probe)
    equal each probe's own unfused loss, backward and plain AdamW step: losses within 1e-5, gradients within 1e-4
    relative, weights within 1e-6 (AdamW's first update is ~lr = 1e-3 per weight)."""
    torch.manual_seed(0)
    encoder = build_encoder('test')
    task = build_task('seg', num_classes=6)
    specs = expand_grid(dict(task='seg', heads=['linear', 'bn_linear'], layers=[[-1], 'default'], lrs=[1e-3, 3e-4],
                             pooled=[False, True]), encoder.depth, encoder.default_layers)
    model = ProbeModel(encoder, {'seg': task}, specs)
    single = copy.deepcopy(model.probes)
    size = encoder.image_size
    gen = torch.Generator().manual_seed(2)
    batch = {'image': torch.rand(2, 3, *size, generator=gen), 'seg': _labels(2, 6, size, gen)}
    losses = model(batch, mode='loss')
    optim = _optimizer(as_config({}), model).optimizer
    optim.zero_grad()
    sum(losses.values()).backward()
    optim.step()
    feats, pooled = model.features(batch['image'])
    for spec in specs:
        head = single[spec.name]
        logits = head([feats[i] for i in spec.layers], pooled if spec.pooled else None)
        ref = _reference(logits[None], batch['seg'])[0]
        torch.testing.assert_close(losses[f'loss_{spec.name}'], ref, rtol=1e-5, atol=1e-6)
        ref_optim = torch.optim.AdamW(head.parameters(), lr=spec.lr, weight_decay=1e-4, foreach=False)
        ref.backward()
        ref_optim.step()
        for (name, ref_param), param in zip(head.named_parameters(), model.probes[spec.name].parameters()):
            # AdamW's first step does not see a gradient's scale: compare the gradients too
            torch.testing.assert_close(param.grad, ref_param.grad, rtol=1e-4, atol=1e-7, msg=f'{spec.name} {name}')
            torch.testing.assert_close(param, ref_param, rtol=0, atol=1e-6, msg=f'{spec.name} {name}')
        for ref_buffer, buffer in zip(head.buffers(), model.probes[spec.name].buffers()):
            torch.testing.assert_close(buffer, ref_buffer)
