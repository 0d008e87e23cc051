"""Detection: the OWL head's contract, matching + loss against an independent computation, letterbox round trip,
COCO / LVIS data in their real layouts with the open-vocabulary splits and bad input, and AP equal to pycocotools /
lvis called directly on the same detections."""
import contextlib
import io
import itertools
import json
import math

import numpy as np
import pytest
import torch

from dense.datasets.detection import (COCO_OVR_NOVEL, CocoDetection, ScenesDetection, letterbox,
                                      unletterbox)
from dense.datasets.detection_fixtures import write_fixture
from probes.heads import build_head
from probes.heads_owl import box_bias
from probes.losses.detection import hungarian_match, image_loss, match_cost
from probes.metrics.detection import DetectionEvaluator, numpy_float_alias
from probes.tasks.detection import DetectionTask


def _head_inputs(grid=(4, 5), dims=(12, 12), pooled_dim=0, queries=3, width=8):
    feats = [torch.randn(2, d, *grid) for d in dims]
    pooled = torch.randn(2, pooled_dim) if pooled_dim else None
    return feats, pooled, torch.randn(queries, width)


@pytest.mark.parametrize('pooled_dim', [0, 12])
@pytest.mark.parametrize('objectness', [False, True])
def test_owl_head_contract(pooled_dim, objectness):
    head = build_head('owl', [12, 12], 8, pooled_dim=pooled_dim, objectness=objectness)
    feats, pooled, queries = _head_inputs(pooled_dim=pooled_dim)
    copies = [f.clone() for f in feats] + [queries.clone()]
    out = head(feats, pooled, queries=queries)
    assert out['logits'].shape == (2, 20, 3) and out['boxes'].shape == (2, 20, 4) and out['grid'] == (4, 5)
    assert ((out['boxes'] > 0) & (out['boxes'] < 1)).all() and torch.isfinite(out['logits']).all()
    assert all(torch.equal(a, b) for a, b in zip(feats + [queries], copies)), 'head modified its inputs'
    assert ('objectness' in out) == objectness
    loss = out['logits'].square().mean() + out['boxes'].sum() + (out['objectness'].sum() if objectness else 0)
    loss.backward()
    grads = {n: p.grad for n, p in head.named_parameters()}
    assert all(g is not None and torch.isfinite(g).all() for g in grads.values())
    if objectness:  # OWLv2: the objectness head's input is stop-gradient, so it trains only itself
        head.zero_grad()
        head(feats, pooled, queries=queries)['objectness'].sum().backward()
        assert head.norm.weight.grad is None or not head.norm.weight.grad.any()


def test_owl_head_box_bias_at_init_and_query_mask():
    head = build_head('owl', [6], 4)
    feats = [torch.randn(1, 6, 3, 4)]
    out = head(feats, queries=torch.randn(2, 4), query_mask=torch.tensor([True, False]))
    # zero-initialised box MLP: boxes sit on the grid bias, centre = cell corner (j+1)/w, (i+1)/h, size 1/w, 1/h
    expected = torch.tensor([[(j + 1) / 4, (i + 1) / 3, 1 / 4, 1 / 3] for i in range(3) for j in range(4)])
    assert torch.allclose(out['boxes'][0], expected.clamp(max=1 - 1e-4), atol=2e-4)
    assert torch.allclose(torch.sigmoid(box_bias(3, 4)), out['boxes'][0])
    assert (out['logits'][..., 1] == -1e6).all()  # padded query masked out
    assert math.isclose(torch.sigmoid(head.logit_shift.bias).item(), 0.01, rel_tol=1e-5)  # focal prior


def test_owl_head_pooled_merge_and_errors():
    head = build_head('owl', [12], 8, pooled_dim=12)
    feats, pooled, queries = _head_inputs(dims=(12,), pooled_dim=12)
    torch.nn.init.normal_(head.class_proj.weight)
    assert not torch.allclose(head(feats, pooled, queries=queries)['logits'],
                              head(feats, pooled * 2 + 1, queries=queries)['logits'])
    with pytest.raises(ValueError, match='no queries'):
        head(feats, pooled, queries=torch.zeros(0, 8))
    with pytest.raises(ValueError, match='pooled'):
        head(feats, None, queries=queries)
    with pytest.raises(ValueError, match='pooled_dim'):
        build_head('owl', [12, 6], 8, pooled_dim=12)


def _giou(a, b):
    area = lambda x: (x[2] - x[0]) * (x[3] - x[1])
    iw, ih = max(0, min(a[2], b[2]) - max(a[0], b[0])), max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = area(a) + area(b) - inter
    hull = (max(a[2], b[2]) - min(a[0], b[0])) * (max(a[3], b[3]) - min(a[1], b[1]))
    return inter / union - (hull - union) / hull


def _xyxy(b):
    return [b[0] - b[2] / 2, b[1] - b[3] / 2, b[0] + b[2] / 2, b[1] + b[3] / 2]


def _focal(x, t, alpha=0.3, gamma=2.0):
    p = 1 / (1 + math.exp(-x))
    return -(alpha * (1 - p) ** gamma * math.log(p) if t else (1 - alpha) * p ** gamma * math.log(1 - p))


def test_matching_and_loss_match_a_hand_computation():
    logits = torch.tensor([[2.0, -1.0], [-2.0, 1.5], [0.3, 0.2]])
    boxes = torch.tensor([[0.3, 0.3, 0.2, 0.2], [0.7, 0.6, 0.3, 0.4], [0.5, 0.5, 0.5, 0.5]])
    onehot = torch.tensor([[0, 1], [1, 0]])
    targets = torch.tensor([[0.68, 0.62, 0.3, 0.35], [0.32, 0.28, 0.25, 0.2]])
    # independent cost: focal pos - neg cost of the target class + L1 (cxcywh) - GIoU, brute-force assignment
    cost = [[_focal(logits[p, q], 1) - _focal(logits[p, q], 0) for q in (1, 0)] for p in range(3)]
    cost = [[cost[p][m] + sum(abs(boxes[p] - targets[m]).tolist()) - _giou(_xyxy(boxes[p].tolist()),
             _xyxy(targets[m].tolist())) for m in range(2)] for p in range(3)]
    best = min(itertools.permutations(range(3), 2), key=lambda ps: sum(cost[p][m] for m, p in enumerate(ps)))
    assert torch.allclose(match_cost(logits, boxes, onehot, targets), torch.tensor(cost), atol=1e-5)
    rows, cols = hungarian_match(match_cost(logits, boxes, onehot, targets))
    assert dict(zip(cols.tolist(), rows.tolist())) == dict(enumerate(best))
    parts = image_loss(logits, boxes, onehot, targets)
    target = np.zeros((3, 2))
    for m, p in enumerate(best):
        target[p] = onehot[m].numpy()
    cls = sum(_focal(logits[p, q].item(), target[p, q]) for p in range(3) for q in range(2)) / 2
    l1 = sum(abs(np.array(_xyxy(boxes[p].tolist())) - _xyxy(targets[m].tolist())).sum() for m, p in enumerate(best)) / 2
    giou = sum(1 - _giou(_xyxy(boxes[p].tolist()), _xyxy(targets[m].tolist())) for m, p in enumerate(best)) / 2
    assert math.isclose(parts['class'].item(), cls, rel_tol=1e-5)
    assert math.isclose(parts['l1'].item(), l1, rel_tol=1e-5)
    assert math.isclose(parts['giou'].item(), giou, rel_tol=1e-5)
    empty = image_loss(logits, boxes, torch.zeros(0, 2, dtype=torch.bool), torch.zeros(0, 4))  # no boxes: all negative
    assert math.isclose(empty['class'].item(), sum(_focal(x, 0) for x in logits.flatten().tolist()), rel_tol=1e-5)
    assert empty['l1'].item() == 0 and empty['giou'].item() == 0


def test_letterbox_pads_with_zeros_and_maps_a_box_back_to_the_pixel():
    image = torch.full((3, 30, 50), 0.5)
    image[:, 12:22, 5:17] = 1.0  # a known box (x0, y0, x1, y1) = (5, 12, 17, 22)
    out, boxes, scale = letterbox(image, torch.tensor([[5.0, 12.0, 17.0, 22.0]]), 100)
    assert out.shape == (3, 100, 100) and scale == 2.0
    assert (out[:, 60:] == 0).all()  # bottom padding is zero, not 0.5
    ys, xs = torch.nonzero(out[0] > 0.75, as_tuple=True)
    found = torch.tensor([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], dtype=torch.float32)
    assert torch.equal(found, boxes)
    assert torch.equal(unletterbox(found, scale, (30, 50)), torch.tensor([[5.0, 12.0, 17.0, 22.0]]))


def test_coco_layout_ov_split_and_bad_input(tmp_path):
    write_fixture(tmp_path, 'coco', num=4)
    train = CocoDetection(tmp_path, 'train2017', image_size=64, ov_split='coco_ovr', train=True)
    evaluation = CocoDetection(tmp_path, 'train2017', image_size=64, ov_split='coco_ovr')
    assert len(train.class_names) == 65 and set(COCO_OVR_NOVEL) <= set(train.class_names)
    novel = {train.class_names.index(n) for n in COCO_OVR_NOVEL}
    train_labels = {int(x) for i in range(len(train)) for x in train[i]['box_labels']}
    eval_labels = {int(x) for i in range(len(evaluation)) for x in evaluation[i]['box_labels']}
    assert not train_labels & novel and train_labels <= eval_labels
    path = tmp_path / 'annotations/instances_train2017.json'
    data = json.loads(path.read_text())
    sample, info = evaluation[0], data['images'][0]
    assert sample['image'].shape == (3, 64, 64) and sample['meta']['ori_shape'] == (info['height'], info['width'])
    data['annotations'][0]['bbox'] = [-5.0, -5.0, 20.0, 20.0]  # reaches outside: clipped
    data['annotations'][1]['bbox'] = [3.0, 3.0, 0.0, 5.0]  # no area: dropped
    path.write_text(json.dumps(data))
    with pytest.warns(UserWarning, match='1 boxes reached outside.*1 had no area'):
        CocoDetection(tmp_path, 'train2017', image_size=64)
    data['annotations'][0]['category_id'] = 999
    path.write_text(json.dumps(data))
    with pytest.raises(KeyError, match='instances_train2017.json.*unknown category id 999'):
        CocoDetection(tmp_path, 'train2017')
    with pytest.raises(ValueError, match='query list is empty'):
        DetectionTask(classes='scenes').set_queries([])


def _detections(dataset, rng):
    """Per image: the ground-truth boxes jittered, plus random boxes, with random scores and labels."""
    preds = []
    for i in range(len(dataset)):
        sample = dataset[i]
        boxes = sample['boxes'] + torch.from_numpy(rng.normal(0, 2, sample['boxes'].shape)).float()
        extra = torch.from_numpy(rng.uniform(0, 30, (3, 2))).float()
        boxes = torch.cat([boxes, torch.cat([extra, extra + 15], 1)])
        labels = torch.cat([sample['box_labels'], torch.from_numpy(rng.integers(0, len(dataset.class_names), 3))])
        preds.append((dict(boxes=boxes, scores=torch.from_numpy(rng.uniform(0, 1, len(boxes))).float(),
                           labels=labels), sample['meta']))
    return preds


def _direct(preds):
    """The same detections in original pixels, COCO results format (computed here, not by the evaluator)."""
    out = []
    for pred, meta in preds:
        h, w = meta['ori_shape']
        for box, score, label in zip(pred['boxes'].tolist(), pred['scores'].tolist(), pred['labels'].tolist()):
            x0, y0, x1, y1 = [min(max(v / meta['scale'], 0), lim) for v, lim in zip(box, (w, h, w, h))]
            out.append(dict(image_id=meta['image_id'], category_id=meta['category_ids'][label], score=score,
                            bbox=[x0, y0, x1 - x0, y1 - y0]))
    return out


def test_coco_ap_equals_pycocotools(tmp_path):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    write_fixture(tmp_path, 'coco', num=6)
    dataset = CocoDetection(tmp_path, 'val2017', image_size=48, ov_split='coco_ovr')
    preds = _detections(dataset, np.random.default_rng(0))
    novel = tuple(dataset.class_names.index(n) for n in COCO_OVR_NOVEL)
    evaluator = DetectionEvaluator(novel)
    for pred, meta in preds:
        evaluator.process([pred], {'meta': [meta]})
    ours = evaluator.compute()
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(tmp_path / 'annotations/instances_val2017.json'))
        ref = COCOeval(gt, gt.loadRes(_direct(preds)), 'bbox')
        ref.params.catIds = sorted(dataset.category_ids)
        ref.evaluate(), ref.accumulate(), ref.summarize()
    for k, name in enumerate(('AP', 'AP50', 'AP75', 'APs', 'APm', 'APl')):
        assert math.isclose(ours[name], max(ref.stats[k], 0) * 100, abs_tol=1e-9), name
    assert ours['AP'] > 0 and 'AP_novel' in ours and 'AP50_base' in ours


def test_lvis_ap_equals_lvis_package(tmp_path):
    from lvis import LVIS, LVISEval, LVISResults
    write_fixture(tmp_path, 'lvis', num=6)
    dataset = CocoDetection(tmp_path, 'val', format='lvis', image_size=48, ov_split='lvis_no_rare')
    preds = _detections(dataset, np.random.default_rng(1))
    evaluator = DetectionEvaluator()
    for pred, meta in preds:
        evaluator.process([pred], {'meta': [meta]})
    ours = evaluator.compute()
    with contextlib.redirect_stdout(io.StringIO()), numpy_float_alias():  # lvis 0.5.3 calls np.float
        gt = LVIS(str(tmp_path / 'annotations/lvis_v1_val.json'))
        ref = LVISEval(gt, LVISResults(gt, _direct(preds), max_dets=300), 'bbox')
        ref.run()
    for name in ('AP', 'AP50', 'APr', 'APc', 'APf'):
        assert math.isclose(ours[name], max(ref.results[name], 0) * 100, abs_tol=1e-9), name
    assert ours['AP'] > 0
    train = CocoDetection(tmp_path, 'train', format='lvis', ov_split='lvis_no_rare', train=True)
    rare = {dataset.class_names.index(n) for n in ('hot-air balloon', 'gondola (boat)', 'koala')}
    assert not {int(x) for r in train.records for x in r['labels']} & rare


def test_scenes_detection_matches_the_exported_coco_layout(tmp_path):
    from dense.scenes.export import write_dataset
    write_dataset(tmp_path, 'coco', splits=('val',), n=2, size=(48, 48))
    exported = CocoDetection(tmp_path, 'val2017', image_size=48)
    live = ScenesDetection('val', image_size=48, num=2)
    assert exported.class_names == live.class_names == ['sphere', 'box', 'cylinder', 'cone', 'capsule']
    for i in range(2):
        a, b = exported[i], live[i]
        assert torch.equal(a['boxes'], b['boxes']) and torch.equal(a['box_labels'], b['box_labels'])
        assert a['meta']['image_id'] == b['meta']['image_id']


def test_predict_keeps_top_k_and_nms_removes_duplicates():
    task = DetectionTask(classes=['a', 'b'], top_k=3, nms_iou=0.5)
    logits = torch.tensor([[[4.0, -9], [3.9, -9], [-9, 2.0], [-9, -9]]])
    boxes = torch.tensor([[[0.5, 0.5, 0.2, 0.2], [0.5, 0.5, 0.2, 0.21], [0.2, 0.2, 0.1, 0.1], [0.8, 0.8, 0.1, 0.1]]])
    out = dict(logits=logits, boxes=boxes, query_classes=torch.tensor([0, 1]))
    [pred] = task.predict(out, (100, 200))
    assert pred['labels'].tolist() == [0, 1] and torch.allclose(pred['boxes'][0], torch.tensor([80.0, 40, 120, 60]))
    task.nms_iou = None
    assert len(task.predict(out, (100, 200))[0]['scores']) == 3
