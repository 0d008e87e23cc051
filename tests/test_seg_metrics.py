"""mIoU / aAcc / mAcc / per-class IoU through mmseg's IoUMetric vs an independent scikit-learn confusion matrix."""
import math

import numpy as np
import pytest
import torch
from sklearn.metrics import confusion_matrix

from probes.metrics.segmentation import SegEvaluator, area_stats, iou_metrics


def _reference(preds, labels, num_classes, ignore_index):
    """Per-class IoU / Acc from sklearn's confusion matrix over all valid pixels of all images."""
    pred = np.concatenate([p.numpy().ravel() for p in preds])
    gt = np.concatenate([g.numpy().ravel() for g in labels])
    keep = gt != ignore_index
    cm = confusion_matrix(gt[keep], pred[keep], labels=list(range(num_classes))).astype(float)
    tp = np.diag(cm)
    with np.errstate(divide='ignore', invalid='ignore'):
        iou = tp / (cm.sum(0) + cm.sum(1) - tp)
        acc = tp / cm.sum(1)
    return dict(aAcc=tp.sum() / cm.sum() * 100, mIoU=np.nanmean(iou) * 100, mAcc=np.nanmean(acc) * 100,
                iou=iou * 100, acc=acc * 100)


def test_matches_sklearn_confusion_matrix():
    g = torch.Generator().manual_seed(3)
    num_classes, ignore = 6, 255
    labels = [torch.randint(0, num_classes - 1, (17, 23), generator=g) for _ in range(4)]  # class 5 never labelled
    for lab in labels:
        lab[torch.rand(lab.shape, generator=g) < 0.1] = ignore
    preds = [torch.where(torch.rand(l.shape, generator=g) < 0.6, l.clamp(max=num_classes - 1),
                         torch.randint(0, num_classes, l.shape, generator=g)) for l in labels]
    evaluator = SegEvaluator(num_classes, ignore)
    for p, l in zip(preds, labels):
        evaluator.process(p[None], {'seg': l[None]})
    ours = evaluator.compute()
    ref = _reference(preds, labels, num_classes, ignore)
    for key in ('aAcc', 'mIoU', 'mAcc'):
        assert ours[key] == pytest.approx(ref[key], abs=1e-9)
    for c in range(num_classes):
        assert ours[f'IoU.{c}'] == pytest.approx(ref['iou'][c], abs=1e-9)
        assert (math.isnan(ours[f'Acc.{c}']) and math.isnan(ref['acc'][c])) or \
            ours[f'Acc.{c}'] == pytest.approx(ref['acc'][c], abs=1e-9)
    assert math.isnan(ours['Acc.5']) and ours['IoU.5'] == 0.0  # predicted but never labelled: IoU 0 counts


def test_hand_worked_example():
    # label [[0, 0], [1, 255]], pred [[0, 1], [1, 1]]: class 0 IoU 1/2, class 1 IoU 1/2 (ignored pixel dropped)
    pred, label = torch.tensor([[0, 1], [1, 1]]), torch.tensor([[0, 0], [1, 255]])
    out = iou_metrics(area_stats(pred, label, 2), ['a', 'b'])
    assert out['IoU.a'] == pytest.approx(50) and out['IoU.b'] == pytest.approx(50)
    assert out['aAcc'] == pytest.approx(200 / 3) and out['mAcc'] == pytest.approx(75)


def test_class_absent_everywhere_is_left_out():
    out = iou_metrics(area_stats(torch.zeros(3, 3, dtype=torch.long), torch.zeros(3, 3, dtype=torch.long), 3))
    assert out['mIoU'] == pytest.approx(100) and math.isnan(out['IoU.2'])


def test_size_mismatch_is_an_error():
    with pytest.raises(ValueError, match='resize predictions'):
        area_stats(torch.zeros(2, 3, dtype=torch.long), torch.zeros(3, 2, dtype=torch.long), 2)
