"""Contract tests of the referring heads (random token features stand in for the text tower's output), the
box-from-map step and Acc@0.5 against an independent pixel-counting computation."""
import numpy as np
import pytest
import torch

from probes.heads import HEADS, build_head
from probes.heads_ref import REF_HEADS, sine_position_2d
from probes.metrics.referring import RefEvaluator, paired_box_iou
from probes.tasks.referring import cell_box_mask, map_to_box
from torchvision.ops import box_convert

TEXT_W, TEXT_D, N = 10, 12, 3
OPTS = {'ref_decoder': dict(depth=2, width=16, heads=2, text_dim=TEXT_W),
        'ref_similarity': dict(text_dim=TEXT_D)}


def _inputs(grid, n=N):
    mask = torch.ones(n, 7, dtype=torch.bool)
    mask[0, 3:] = False  # a short expression: padding masked
    return dict(text_tokens=torch.randn(n, 7, TEXT_W), text_mask=mask, text_embedding=torch.randn(n, TEXT_D),
                object_boxes=[torch.tensor([[0.0, 0, 8, 8], [4.0, 4, 30, 20]])] * n, image_size=(32, 48))


def test_referring_heads_are_registered():
    assert set(REF_HEADS) <= set(HEADS) and all(not getattr(HEADS[k], 'dense', True) for k in REF_HEADS)


@pytest.mark.parametrize('kind', sorted(REF_HEADS))
@pytest.mark.parametrize('grid', [(4, 6), (3, 5)])
@pytest.mark.parametrize('pooled_dim', [0, 6])
def test_ref_head_contract(kind, grid, pooled_dim):
    if kind == 'ref_similarity' and pooled_dim:
        pytest.skip('the similarity baseline takes no pooled embedding')
    dims = [8, 8]
    head = build_head(kind, dims, 4, pooled_dim=pooled_dim, **OPTS.get(kind, {})).train()
    feats = [torch.randn(N, d, *grid) for d in dims]
    pooled = torch.randn(N, pooled_dim) if pooled_dim else None
    inputs = _inputs(grid)
    copies = [f.clone() for f in feats], {k: v.clone() for k, v in inputs.items() if torch.is_tensor(v)}
    out = head(feats, pooled, **inputs)
    value = out['map'] if kind == 'ref_similarity' else out['boxes']
    assert value.shape == ((N, *grid) if kind == 'ref_similarity' else (N, 4)) and torch.isfinite(value).all()
    if 'boxes' in out:
        assert ((value >= 0) & (value <= 1)).all()
    assert all(torch.equal(f, c) for f, c in zip(feats, copies[0]))
    assert all(torch.equal(inputs[k], v) for k, v in copies[1].items())
    params = list(head.parameters())
    if kind == 'ref_largest':
        assert not params  # nothing to learn
        return
    value.square().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in params)
    assert any(p.grad.abs().sum() > 0 for p in params)


def test_decoder_ignores_padded_tokens_and_reads_the_text():
    torch.manual_seed(0)
    head = build_head('ref_decoder', [8], 4, **OPTS['ref_decoder']).eval()
    feats = [torch.randn(2, 8, 4, 4)]
    inputs = _inputs((4, 4), n=2)
    base = head(feats, **inputs)['boxes']
    padded = dict(inputs, text_tokens=inputs['text_tokens'].clone())
    padded['text_tokens'][0, 3:] = 100.0  # padding positions of the first expression changed
    assert torch.allclose(head(feats, **padded)['boxes'][0], base[0], atol=1e-5)
    other = dict(inputs, text_tokens=inputs['text_tokens'].flip(0), text_mask=inputs['text_mask'].flip(0))
    assert not torch.allclose(head(feats, **other)['boxes'], base)


def test_decoder_reference_point_is_the_attention_weighted_patch_centre():
    head = build_head('ref_decoder', [8], 4, depth=1, width=16, heads=2, text_dim=TEXT_W)
    with torch.no_grad():
        head.point_k.weight.zero_()
        head.point_k.bias.zero_()  # equal scores: the reference is the mean patch centre, (0.5, 0.5)
    point, scores = head._reference(torch.randn(2, 16), torch.randn(2, 12, 16), 3, 4)
    assert torch.allclose(point.sigmoid(), torch.full((2, 2), 0.5), atol=1e-6)
    assert scores.shape == (2, 12) and torch.allclose(scores, scores[:, :1].expand(-1, 12))


def test_locate_loss_targets_the_cell_of_the_box_centre():
    """The decoder's localisation loss: cross-entropy against the row-major cell holding the target centre,
    checked against a hand-picked cell; the decoder output carries the logits on its feature grid."""
    from probes.tasks.referring import ReferringTask
    logits = torch.zeros(2, 3, 4)
    logits[0, 2, 1] = 10.0  # centre (0.3, 0.9) -> column int(0.3*4)=1, row int(0.9*3)=2
    logits[1, 0, 3] = 10.0  # centre (0.99, 0.1) -> column 3, row 0
    target = torch.tensor([[0.3, 0.9, 0.1, 0.1], [0.99, 0.1, 0.2, 0.2]])
    expected = -torch.log_softmax(torch.tensor([10.0] + [0.0] * 11), 0)[0]
    assert torch.allclose(ReferringTask.locate_loss(logits, target), expected, rtol=1e-3)
    wrong = torch.tensor([[0.9, 0.3, 0.1, 0.1], [0.1, 0.99, 0.2, 0.2]])
    assert ReferringTask.locate_loss(logits, wrong) > 10
    head = build_head('ref_decoder', [8], 4, depth=1, width=16, heads=2, text_dim=TEXT_W)
    out = head([torch.randn(2, 8, 3, 5)], text_tokens=torch.randn(2, 4, TEXT_W), text_mask=torch.ones(2, 4, dtype=torch.bool))
    assert out['point_logits'].shape == (2, 3, 5)
    plain = ReferringTask(locate_weight=0.0)
    batch = dict(image=torch.zeros(2, 3, 48, 80), target_box=torch.tensor([[0.0, 0, 16, 16], [40.0, 20, 60, 40]]))
    gap = ReferringTask().loss(out, batch) - plain.loss(out, batch)
    centre = box_convert(batch['target_box'] / torch.tensor([80, 48, 80, 48]), 'xyxy', 'cxcywh')
    assert torch.allclose(gap, ReferringTask.locate_loss(out["point_logits"], centre), atol=1e-5)


def test_decoder_pooled_query_plain_regression_and_errors():
    head = build_head('ref_decoder', [8], 4, query='pooled', depth=1, width=16, heads=2, text_dim=TEXT_D,
                      box="direct")
    assert not hasattr(head, 'point_q')
    assert head([torch.randn(2, 8, 3, 3)], text_embedding=torch.randn(2, TEXT_D))['boxes'].shape == (2, 4)
    with pytest.raises(ValueError, match='text_embedding'):
        head([torch.randn(2, 8, 3, 3)])
    with pytest.raises(ValueError, match='channels'):
        head([torch.randn(2, 5, 3, 3)], text_embedding=torch.randn(2, TEXT_D))
    with pytest.raises(ValueError, match='out_channels=4'):
        build_head('ref_decoder', [8], 3, text_dim=4)


def test_largest_object_and_centre_boxes():
    largest = build_head('ref_largest', [8], 4)
    out = largest([torch.zeros(2, 8, 2, 2)], object_boxes=[torch.tensor([[0.0, 0, 8, 8], [4.0, 4, 28, 20]]),
                                                            torch.zeros(0, 4)], image_size=(32, 48))['boxes']
    assert torch.allclose(out[0], torch.tensor([16 / 48, 12 / 32, 24 / 48, 16 / 32]))
    assert torch.allclose(out[1], torch.tensor([0.5, 0.5, 1.0, 1.0]))  # no objects: the whole image
    centre = build_head('ref_centre', [8], 4)
    assert torch.allclose(centre([torch.zeros(3, 8, 2, 2)])['boxes'], torch.full((3, 4), 0.5))


def test_sine_position_is_distinct_per_cell():
    enc = sine_position_2d(3, 5, 16)
    assert enc.shape == (15, 16) and torch.cdist(enc, enc).add(torch.eye(15)).min() > 1e-3


def test_map_to_box_takes_the_largest_component_above_half_the_peak():
    prob = np.zeros((4, 8))
    prob[0, 0] = 0.9           # a single strong cell
    prob[1:3, 4:7] = 0.6       # a larger component above 0.45
    prob[3, 0:8] = 0.4         # a still larger one below half the peak
    assert map_to_box(prob, (40, 80)).tolist() == [40.0, 10.0, 70.0, 30.0]
    weak = np.full((4, 8), 0.005)
    weak[3, 7] = 0.02          # a weak map still gives its peak's component
    assert map_to_box(weak, (4, 8)).tolist() == [7.0, 3.0, 8.0, 4.0]


def test_cell_box_mask_marks_cells_whose_centre_is_inside():
    mask = cell_box_mask(torch.tensor([[10.0, 0, 30, 10]]), (2, 4), (20, 40))
    assert mask[0].tolist() == [[0, 1, 1, 0], [0, 0, 0, 0]]


def _raster_iou(a, b):
    """IoU by counting integer pixels (boxes with integer corners): independent of the closed form."""
    grid = np.zeros((2, 64, 64), bool)
    for k, (x0, y0, x1, y1) in enumerate((a, b)):
        grid[k, y0:y1, x0:x1] = True
    union = (grid[0] | grid[1]).sum()
    return (grid[0] & grid[1]).sum() / union if union else 0.0


def test_acc_at_half_equals_an_independent_computation():
    rng = np.random.default_rng(0)
    pred, true, splits = [], [], []
    for i in range(60):
        a = sorted(rng.integers(0, 64, 2)), sorted(rng.integers(0, 64, 2))
        b = sorted(rng.integers(0, 64, 2)), sorted(rng.integers(0, 64, 2))
        pred.append([a[0][0], a[1][0], a[0][1], a[1][1]])
        true.append([b[0][0], b[1][0], b[0][1], b[1][1]] if i % 3 else pred[-1])  # every third one exact
        splits.append('refcoco/testA' if i % 2 else 'refcoco/testB')
    ious = np.array([_raster_iou(p, t) for p, t in zip(pred, true)])
    evaluator = RefEvaluator()
    for start in range(0, 60, 7):  # uneven batches
        sl = slice(start, start + 7)
        evaluator.process([dict(box=torch.tensor(p, dtype=torch.float32)) for p in pred[sl]],
                          dict(target_box=torch.tensor(true[sl], dtype=torch.float32),
                               meta=[dict(split=s) for s in splits[sl]]))
    out = evaluator.compute()
    assert out['Acc@0.5'] == pytest.approx(100 * (ious >= 0.5).mean())
    assert out['mIoU'] == pytest.approx(100 * ious.mean())
    odd = np.arange(60) % 2 == 1
    assert out['Acc@0.5.refcoco_testA'] == pytest.approx(100 * (ious[odd] >= 0.5).mean())
    assert out['Acc@0.5.refcoco_testB'] == pytest.approx(100 * (ious[~odd] >= 0.5).mean())
    assert 0 < out['Acc@0.5'] < 100


def test_paired_iou_hand_worked():
    ious = paired_box_iou(torch.tensor([[0.0, 0, 2, 2], [0.0, 0, 1, 1], [0.0, 0, 0, 0]]),
                          torch.tensor([[1.0, 1, 3, 3], [2.0, 2, 3, 3], [0.0, 0, 0, 0]]))
    assert ious.tolist() == pytest.approx([1 / 7, 0.0, 0.0])


def _grounding_batch(gen, n=32, grid=8, colours=4):
    """Three objects of distinct colours per image (a colour = one feature channel over the object's cells); the
    expression names one colour (its token = that colour's fixed random vector, then an EOS vector)."""
    table = torch.randn(colours + 1, 8, generator=torch.Generator().manual_seed(0))
    feats, tokens, boxes = torch.zeros(n, colours, grid, grid), torch.zeros(n, 2, 8), torch.zeros(n, 4)
    for i in range(n):
        picked = torch.randperm(colours, generator=gen)[:3]
        cells = torch.randperm(grid * grid, generator=gen)[:3]
        for k, (colour, cell) in enumerate(zip(picked.tolist(), cells.tolist())):
            y, x = divmod(cell, grid)
            y, x = min(y, grid - 2), min(x, grid - 2)
            feats[i, colour, y:y + 2, x:x + 2] = 1.0
            if k == 0:  # the first is named
                tokens[i] = torch.stack([table[colour], table[-1]])
                boxes[i] = torch.tensor([x, y, x + 2, y + 2]) * 8.0
    return [feats], dict(text_tokens=tokens, text_mask=torch.ones(n, 2, dtype=torch.bool)), boxes


def test_decoder_learns_to_ground_the_named_object_among_distractors():
    """With features that show the objects, the decoder learns which one the text names (two thirds of the
    objects in an image are distractors): Acc@0.5 far above choosing by anything but the text."""
    from probes.tasks.referring import ReferringTask
    torch.manual_seed(0)
    task, gen = ReferringTask(), torch.Generator().manual_seed(1)
    head = build_head('ref_decoder', [4], 4, depth=1, width=32, heads=2, text_dim=8, dropout=0.0)
    opt = torch.optim.AdamW(head.parameters(), lr=3e-3)
    image = torch.zeros(1, 3, 64, 64)
    for _ in range(120):
        feats, inputs, boxes = _grounding_batch(gen)
        loss = task.loss(head(feats, **inputs), dict(image=image, target_box=boxes))
        opt.zero_grad()
        loss.backward()
        opt.step()
    feats, inputs, boxes = _grounding_batch(torch.Generator().manual_seed(2), n=200)
    wrong_text = dict(inputs, text_tokens=inputs['text_tokens'].roll(1, 0))  # another image's expression
    scores = []
    for given in (inputs, wrong_text):
        with torch.no_grad():
            preds = task.predict(head.eval()(feats, **given), (64, 64))
        evaluator = RefEvaluator()
        evaluator.process(preds, dict(target_box=boxes))
        scores.append(evaluator.compute()['Acc@0.5'])
    assert scores[0] > 80 and scores[1] < 50, scores  # measured: 100 and 26


def test_map_to_box_peak_component_is_the_one_holding_the_maximum():
    prob = np.zeros((4, 8))
    prob[0:2, 0:4] = 0.6   # the largest component
    prob[3, 6] = 1.0       # the peak, alone
    assert map_to_box(prob, (4, 8)).tolist() == [0.0, 0.0, 4.0, 2.0]
    assert map_to_box(prob, (4, 8), component='peak').tolist() == [6.0, 3.0, 7.0, 4.0]
    with pytest.raises(ValueError, match='component'):
        map_to_box(prob, (4, 8), component='first')


@pytest.mark.parametrize('refine', [False, True])
def test_decoder_mask_box_starts_from_the_similarity_map(refine):
    """``box='mask'``: at initialisation the mask is the text-patch similarity map (the decoder's term is zero)
    and the box is its peak component's box; the residual and the refinement then train from there."""
    torch.manual_seed(0)
    head = build_head('ref_decoder', [8], 4, depth=1, width=16, heads=2, text_dim=TEXT_W, box='mask',
                      embed_dim=TEXT_D, refine=refine)
    feats, inputs = [torch.randn(N, 8, 4, 6)], _inputs((4, 6))
    out = head(feats, **inputs)
    similarity = head.similarity(feats, text_embedding=inputs['text_embedding'])['map']
    assert torch.allclose(out['mask_logits'], similarity, atol=1e-6) and out['point_logits'] is out['mask_logits']
    expected = torch.stack([map_to_box(p, (1, 1), 0.5, 'peak') for p in similarity.sigmoid().detach().numpy()])
    expected = box_convert(expected, 'xyxy', 'cxcywh')
    assert torch.allclose(out['boxes'], expected, atol=1e-3)
    assert out['boxes'].requires_grad == refine
    out['mask_logits'].square().mean().backward()
    assert head.mask_embed[-1].weight.grad.abs().sum() > 0 and head.similarity.proj.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='text_embedding'):
        head(feats, text_tokens=inputs['text_tokens'], text_mask=inputs['text_mask'])
    with pytest.raises(ValueError, match='embed_dim'):
        build_head('ref_decoder', [8], 4, text_dim=TEXT_W, box='mask')


def test_mask_decoder_loss_is_bce_plus_locate_plus_box_terms():
    """The task's loss for a mask decoder, against an independent computation: per-patch BCE of the mask against
    the cells inside the target box + cross-entropy of the same logits against the centre's cell (+ L1 / GIoU of
    the refined box)."""
    import torch.nn.functional as F
    from probes.tasks.referring import ReferringTask
    logits = torch.randn(2, 3, 4)
    boxes = torch.tensor([[0.2, 0.3, 0.2, 0.4], [0.7, 0.6, 0.3, 0.2]])
    batch = dict(image=torch.zeros(2, 3, 30, 40), target_box=torch.tensor([[0.0, 0, 20, 15], [20.0, 10, 40, 30]]))
    inside = torch.zeros(2, 3, 4)
    inside[0, 0, 0:2] = 1  # cell centres x 5, 15, 25, 35 and y 5, 15, 25: x < 20 and y < 15
    inside[1, 1:3, 2:4] = 1
    centre_cells = torch.tensor([0 * 4 + 1, 2 * 4 + 3])  # centres (10, 7.5) -> row 0, col 1; (30, 20) -> row 2, col 3
    expected = (F.binary_cross_entropy_with_logits(logits, inside)
                + F.cross_entropy(logits.flatten(1), centre_cells))
    out = dict(boxes=boxes, mask_logits=logits, point_logits=logits)
    assert torch.allclose(ReferringTask().loss(out, batch), expected, atol=1e-5)
    trained = dict(out, boxes=boxes.clone().requires_grad_())
    assert ReferringTask().loss(trained, batch) > expected + 1.0  # the box terms of wrong boxes add on
