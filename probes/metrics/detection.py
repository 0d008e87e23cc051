"""Box detection metrics through the reference packages: pycocotools' COCOeval and the ``lvis`` package.

COCO (Lin et al. 2014): ``COCOeval(iouType='bbox')`` with its default ``maxDets = [1, 10, 100]``; AP, AP50, AP75,
APs, APm, APl are ``stats[0:6]`` (x100). LVIS v1 (Gupta et al. 2019): federated ``LVISEval`` over
``LVISResults(max_dets=300)``; AP, AP50, AP75, APs/m/l, APr, APc, APf. Per-class AP (IoU 0.5:0.95, all areas,
100 detections) gives the base / novel averages of open-vocabulary splits (novel AP50 is OVR-CNN's headline).
Detections arrive in original image pixels; ground truth is the data set's own annotation file (so areas and
``iscrowd`` are the official ones), or, for data rendered on the fly, the per-image annotations in ``meta['gt']``.
"""
from __future__ import annotations

import contextlib
import io

import numpy as np

COCO_STATS = ('AP', 'AP50', 'AP75', 'APs', 'APm', 'APl')
LVIS_STATS = ('AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'APr', 'APc', 'APf')


def coco_ground_truth(source):
    """A pycocotools ``COCO`` from an annotation file path or an instances dict."""
    from pycocotools.coco import COCO
    with contextlib.redirect_stdout(io.StringIO()):
        if isinstance(source, dict):
            gt = COCO()
            gt.dataset = source
            gt.createIndex()
            return gt
        return COCO(str(source))


def coco_metrics(gt, detections: list[dict], image_ids: list[int], category_ids: list[int],
                 novel_ids: tuple[int, ...] = ()) -> dict[str, float]:
    """COCOeval bbox metrics (x100) of ``detections`` (COCO results format) on ``image_ids`` / ``category_ids``.

    With ``novel_ids``, also ``AP_novel`` / ``AP50_novel`` / ``AP_base`` / ``AP50_base``: the mean per-class AP
    over the classes of each group that have ground truth.
    """
    from pycocotools.cocoeval import COCOeval
    names = COCO_STATS + (('AP_novel', 'AP50_novel', 'AP_base', 'AP50_base') if novel_ids else ())
    if not detections:
        return {name: 0.0 for name in names}
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator = COCOeval(gt, gt.loadRes(detections), 'bbox')
        evaluator.params.imgIds = sorted(image_ids)
        evaluator.params.catIds = sorted(category_ids)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    out = {name: float(max(v, 0.0)) * 100 for name, v in zip(COCO_STATS, evaluator.stats[:6])}
    if novel_ids:
        precision = evaluator.eval['precision'][:, :, :, 0, -1]  # [T, R, K] at area 'all', maxDets 100
        cats = list(evaluator.params.catIds)
        for group, ids in (('novel', set(novel_ids)), ('base', set(cats) - set(novel_ids))):
            columns = [k for k, c in enumerate(cats) if c in ids]
            out[f'AP_{group}'] = _mean_valid(precision[:, :, columns])
            out[f'AP50_{group}'] = _mean_valid(precision[:1, :, columns])
    return out


def _mean_valid(precision: np.ndarray) -> float:
    """Mean of the per-class APs (precision averaged over thresholds and recalls; -1 = no ground truth)."""
    per_class = [p[p > -1].mean() for p in np.moveaxis(precision, -1, 0) if (p > -1).any()]
    return float(np.mean(per_class)) * 100 if per_class else 0.0


@contextlib.contextmanager
def numpy_float_alias():
    """``np.float`` for the duration of an LVIS evaluation: lvis 0.5.3 (the PyPI release) still calls it in
    ``LVISEval.accumulate``; fixed upstream after the release (lvis-dataset/lvis-api#37), removed in NumPy 1.24."""
    added = 'float' not in vars(np)
    if added:
        np.float = float
    try:
        yield
    finally:
        if added:
            del np.float


def lvis_metrics(ann_file: str, detections: list[dict], image_ids: list[int]) -> dict[str, float]:
    """LVIS federated bbox metrics (x100) with at most 300 detections per image."""
    from lvis import LVIS, LVISEval, LVISResults
    if not detections:
        return {name: 0.0 for name in LVIS_STATS}
    with contextlib.redirect_stdout(io.StringIO()), numpy_float_alias():
        gt = LVIS(ann_file)
        evaluator = LVISEval(gt, LVISResults(gt, detections, max_dets=300), 'bbox')
        evaluator.params.img_ids = sorted(image_ids)
        evaluator.run()
    return {name: float(max(evaluator.results[name], 0.0)) * 100 for name in LVIS_STATS}


class DetectionEvaluator:
    """Collects per-image detections (original pixels) and scores them with COCOeval or LVIS at ``compute``.

    Args:
        novel_classes: Class indices (into the task's classes) reported separately as novel.
    """

    def __init__(self, novel_classes: tuple[int, ...] = ()):
        self.novel_classes = tuple(novel_classes)
        self.detections: list[dict] = []
        self.image_ids: list[int] = []
        self.gt_images: list[dict] = []
        self.gt_annotations: list[dict] = []
        self.source: dict = {}

    def process(self, preds: list[dict], batch: dict) -> None:
        """Add a batch: ``preds[i]`` = ``dict(boxes=[k, 4], scores=[k], labels=[k])`` in pixels of the batch
        image, mapped back to the original image with ``meta['scale']`` / ``meta['ori_shape']`` (letterbox)."""
        from dense.datasets.detection import unletterbox
        for pred, meta in zip(preds, batch['meta']):
            image_id, category_ids = int(meta['image_id']), meta['category_ids']
            self.image_ids.append(image_id)
            self.source = dict(ann_file=meta.get('ann_file'), format=meta.get('eval_format', 'coco'),
                               category_ids=list(category_ids))
            if 'gt' in meta:
                self._add_ground_truth(image_id, meta)
            boxes = unletterbox(pred['boxes'], meta['scale'], meta['ori_shape']).double().numpy()
            for box, score, label in zip(boxes, pred['scores'].tolist(), pred['labels'].tolist()):
                self.detections.append(dict(image_id=image_id, category_id=int(category_ids[label]), score=score,
                                            bbox=[box[0], box[1], box[2] - box[0], box[3] - box[1]]))

    def _add_ground_truth(self, image_id: int, meta: dict) -> None:
        self.gt_images.append(dict(id=image_id, height=meta['height'], width=meta['width']))
        first = len(self.gt_annotations) + 1
        self.gt_annotations += [dict(ann, id=first + k, image_id=image_id) for k, ann in enumerate(meta['gt'])]

    def compute(self) -> dict[str, float]:
        """The metrics of everything processed (zeros when nothing was)."""
        if not self.image_ids:
            return {name: 0.0 for name in COCO_STATS}
        category_ids = self.source['category_ids']
        novel_ids = tuple(category_ids[k] for k in self.novel_classes)
        if self.source['format'] == 'lvis':
            return lvis_metrics(self.source['ann_file'], self.detections, self.image_ids)
        if self.gt_images:
            gt = coco_ground_truth(dict(images=self.gt_images, annotations=self.gt_annotations,
                                        categories=[dict(id=c, name=str(c)) for c in category_ids]))
        else:
            gt = coco_ground_truth(self.source['ann_file'])
        return coco_metrics(gt, self.detections, self.image_ids, category_ids, novel_ids)

