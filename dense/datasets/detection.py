"""Box detection data: COCO instances, LVIS v1 and the embedded scenes, with open-vocabulary class splits.

Layouts (``root`` is the data set root):
    coco: ``annotations/instances_{train2017,val2017}.json`` and the images in ``{train2017,val2017}/`` (the zips'
        layout; ``images/{split}/``, as ``sprobe scenes --layout coco`` writes it, is found too).
    lvis: ``annotations/lvis_v1_{train,val}.json``; images are COCO 2017 images, found under ``root`` by the last
        two parts of each image's ``coco_url`` (``train2017/000000391895.jpg``), as detectron2's LVIS loader does.

Open-vocabulary splits (``ov_split``): ``'coco_ovr'`` = the 48 base / 17 novel COCO classes of OVR-CNN (Zareian et
al. 2021; lists from alirezazareian/ovr-cnn ``ipynb/003.ipynb`` as reproduced by later work, e.g. OV-DETR and
EZAD's ``cls_proposal_generator_coco_with_base48_name.py``), evaluated over their 65; ``'lvis_no_rare'`` = LVIS v1
with the rare (``frequency == 'r'``) categories removed from training (Gu et al. 2022, ViLD), evaluated over all
1203; ``'scenes_3_2'`` = the scenes' shapes, trained on sphere / box / cylinder, tested on all five.

Every sample is letterboxed: resized so its longer side is ``size``, padded at the bottom / right with ZEROS to a
``size`` x ``size`` square (OWL-ViT ``resize_with_pad``; transformers PR #41938 on a 0.5 pad value), so
``box_original = box_batch / meta['scale']`` exactly. Boxes are ``(x0, y0, x1, y1)`` pixels of the batch image.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from dense.datasets.common import augment as augment_sample
from dense.extract import load_image

COCO_OVR_BASE = ('person', 'bicycle', 'car', 'motorcycle', 'train', 'truck', 'boat', 'bench', 'bird', 'horse',
                 'sheep', 'bear', 'zebra', 'giraffe', 'backpack', 'handbag', 'suitcase', 'frisbee', 'skis', 'kite',
                 'surfboard', 'bottle', 'fork', 'spoon', 'bowl', 'banana', 'apple', 'sandwich', 'orange', 'broccoli',
                 'carrot', 'pizza', 'donut', 'chair', 'bed', 'toilet', 'tv', 'laptop', 'mouse', 'remote',
                 'microwave', 'oven', 'toaster', 'refrigerator', 'book', 'clock', 'vase', 'toothbrush')
COCO_OVR_NOVEL = ('airplane', 'bus', 'cat', 'dog', 'cow', 'elephant', 'umbrella', 'tie', 'snowboard', 'skateboard',
                  'cup', 'knife', 'cake', 'couch', 'keyboard', 'sink', 'scissors')
SCENES_BASE = ('sphere', 'box', 'cylinder')
SCENES_NOVEL = ('cone', 'capsule')
OV_SPLITS = (None, 'coco_ovr', 'lvis_no_rare', 'scenes_3_2')
ANN_FILES = {'coco': 'annotations/instances_{split}.json', 'lvis': 'annotations/lvis_v1_{split}.json'}


def query_name(name: str) -> str:
    """A category name as a text query: LVIS's underscores become spaces (``'hot-air_balloon'``)."""
    return name.replace('_', ' ')


def load_categories(ann_file: str | Path) -> list[dict]:
    """The ``categories`` of a COCO / LVIS annotation file, sorted by id."""
    path = Path(ann_file)
    if not path.is_file():
        raise FileNotFoundError(f'{path}: annotation file not found')
    try:
        data = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f'{path}: not a COCO / LVIS annotation JSON ({err})') from None
    if not isinstance(data, dict) or 'categories' not in data:
        raise ValueError(f'{path}: no "categories" list; expected COCO / LVIS instances JSON')
    return sorted(data['categories'], key=lambda c: c['id'])


def resolve_split(categories: list[dict], ov_split: str | None) -> tuple[list[dict], list[bool]]:
    """The categories a run uses (in id order) and which of them are base (trained on) classes.

    Raises:
        ValueError: Unknown split, or a split's class missing from ``categories``.
    """
    if ov_split not in OV_SPLITS:
        raise ValueError(f'unknown ov_split {ov_split!r}; use one of {list(OV_SPLITS)}')
    if ov_split is None:
        return list(categories), [True] * len(categories)
    if ov_split == 'lvis_no_rare':
        if any('frequency' not in c for c in categories):
            raise ValueError("ov_split 'lvis_no_rare' needs LVIS categories with a 'frequency' field")
        return list(categories), [c['frequency'] != 'r' for c in categories]
    base, novel = (COCO_OVR_BASE, COCO_OVR_NOVEL) if ov_split == 'coco_ovr' else (SCENES_BASE, SCENES_NOVEL)
    names = {c['name'] for c in categories}
    missing = sorted(set(base + novel) - names)
    if missing:
        raise ValueError(f'ov_split {ov_split!r}: classes {missing[:5]} are not among the categories')
    kept = [c for c in categories if c['name'] in base + novel]
    return kept, [c['name'] in base for c in kept]


def letterbox(image: torch.Tensor, boxes: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Resize so the longer side is ``size`` and zero-pad bottom / right to a square; boxes scaled alike.

    Returns:
        ``(image [3, size, size], boxes, scale)`` with ``scale`` = new / original pixels.
    """
    height, width = image.shape[-2:]
    scale = size / max(height, width)
    new = (max(1, round(height * scale)), max(1, round(width * scale)))
    if new != (height, width):
        image = F.interpolate(image[None], size=new, mode='bilinear', align_corners=False, antialias=True)[0]
    out = image.new_zeros(3, size, size)
    out[:, :new[0], :new[1]] = image
    return out, boxes * scale, scale


def unletterbox(boxes: torch.Tensor, scale: float, ori_shape: tuple[int, int]) -> torch.Tensor:
    """Boxes in pixels of a :func:`letterbox` image back in the original image's pixels (clipped to it)."""
    height, width = ori_shape
    limit = boxes.new_tensor([width, height, width, height])
    return torch.minimum((boxes / scale).clamp_min(0), limit)


def clean_boxes(boxes: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Clip ``(x0, y0, x1, y1)`` boxes to the image; drop those left without area.

    Returns:
        ``(boxes, keep mask, number clipped, number dropped)``.
    """
    limit = np.array([width, height, width, height], np.float64)
    clipped = np.clip(boxes, 0, limit)
    moved = int((np.abs(clipped - boxes) > 1e-6).any(1).sum())
    keep = (clipped[:, 2] > clipped[:, 0]) & (clipped[:, 3] > clipped[:, 1])
    return clipped, keep, moved, int((~keep).sum())


def _image_path(root: Path, info: dict, image_dir: Path | None) -> Path:
    if 'coco_url' in info and image_dir is None:
        return root.joinpath(*info['coco_url'].split('/')[-2:])
    return image_dir / info['file_name']


def _image_dir(root: Path, split: str) -> Path:
    for folder in (root / split, root / 'images' / split):
        if folder.is_dir():
            return folder
    raise FileNotFoundError(f'{root}: no image folder {split}/ or images/{split}/ (COCO layout)')


class DetectionSamples(Dataset):
    """Shared sample building: letterbox, optional flip, the ``boxes`` / ``box_labels`` / ``meta`` keys.

    Subclasses fill ``self.records``: ``dict(image=path or callable, boxes=float[n, 4] original pixels,
    labels=int64[n] class indices, meta=dict(...))``.
    """

    image_size: int
    augment: dict | None
    class_names: list[str]

    @property
    def metainfo(self) -> dict:
        """Class names, as mmengine reads them."""
        return dict(classes=tuple(self.class_names))

    def __len__(self) -> int:
        return len(self.records)

    def _load(self, record: dict) -> torch.Tensor:
        return load_image(record['image']) if not callable(record['image']) else record['image']()

    def __getitem__(self, index: int) -> dict:
        record = self.records[index]
        image = self._load(record)
        sample = dict(image=image, boxes=torch.as_tensor(record['boxes'], dtype=torch.float32).reshape(-1, 4),
                      box_labels=torch.as_tensor(record['labels'], dtype=torch.int64))
        if self.augment:
            sample = augment_sample(sample, **self.augment)
        image, boxes, scale = letterbox(sample['image'], sample['boxes'], self.image_size)
        meta = dict(record['meta'], ori_shape=tuple(sample['image'].shape[-2:]), scale=scale)
        return dict(image=image, boxes=boxes, box_labels=sample['box_labels'], meta=meta)


class CocoDetection(DetectionSamples):
    """COCO instances or LVIS v1 in their published layouts (module docstring).

    Args:
        root: Data set root.
        split: ``'train2017'`` / ``'val2017'`` (coco) or ``'train'`` / ``'val'`` (lvis).
        format: ``'coco'`` or ``'lvis'`` (also picks the evaluation: COCOeval or LVIS federated).
        image_size: Letterbox size (longer side; the batch image is a zero-padded square of this size).
        ov_split: Open-vocabulary split (module docstring) or None.
        train: Keep only base-class, non-crowd boxes (the training targets); else keep every box of the split's
            classes (evaluation reads the annotation file itself).
        augment: ``dense.datasets.common.augment`` options (e.g. ``dict(flip=True)``), applied before letterboxing.
        ann_file: Annotation file (default: the layout's).
        max_images: Use only the first N images (smoke runs).
    """

    def __init__(self, root: str, split: str = 'val2017', format: str = 'coco', image_size: int = 224,
                 ov_split: str | None = None, train: bool = False, augment: dict | None = None,
                 ann_file: str | None = None, max_images: int | None = None):
        if format not in ANN_FILES:
            raise ValueError(f"format must be 'coco' or 'lvis', got {format!r}")
        self.root = Path(root)
        self.ann_file = Path(ann_file) if ann_file else self.root / ANN_FILES[format].format(split=split)
        categories, is_base = resolve_split(load_categories(self.ann_file), ov_split)
        self.class_names = [query_name(c['name']) for c in categories]
        self.category_ids = [c['id'] for c in categories]
        self.format, self.image_size, self.augment = format, int(image_size), augment
        data = json.loads(self.ann_file.read_text())
        image_dir = _image_dir(self.root, split) if format == 'coco' else None
        self.records = self._records(data, image_dir, is_base if train else None, max_images)
        if not self.records:
            raise ValueError(f'{self.ann_file}: no images in the annotation file')

    def _records(self, data: dict, image_dir: Path | None, is_base: list[bool] | None, max_images) -> list[dict]:
        all_ids = {c['id'] for c in data['categories']}
        label_of = {cid: k for k, cid in enumerate(self.category_ids)}
        by_image: dict[int, list[dict]] = {}
        for ann in data.get('annotations', []):
            if ann['category_id'] not in all_ids:
                raise KeyError(f'{self.ann_file}: annotation {ann.get("id")} has unknown category id '
                               f'{ann["category_id"]}')
            by_image.setdefault(ann['image_id'], []).append(ann)
        images = data['images'][:max_images] if max_images else data['images']
        records, clipped, dropped = [], 0, 0
        for info in images:
            anns = [a for a in by_image.get(info['id'], []) if a['category_id'] in label_of
                    and (is_base is None or (is_base[label_of[a['category_id']]] and not a.get('iscrowd', 0)))]
            xywh = np.array([a['bbox'] for a in anns], np.float64).reshape(-1, 4)
            boxes, keep, n_clip, n_drop = clean_boxes(np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1),
                                                      info['height'], info['width'])
            clipped, dropped = clipped + n_clip, dropped + n_drop
            labels = [label_of[a['category_id']] for a, k in zip(anns, keep) if k]
            records.append(dict(image=_image_path(self.root, info, image_dir), boxes=boxes[keep], labels=labels,
                                meta=dict(img_path=str(_image_path(self.root, info, image_dir)),
                                          image_id=info['id'], ann_file=str(self.ann_file),
                                          category_ids=self.category_ids, eval_format=self.format)))
        if clipped or dropped:
            warnings.warn(f'{self.ann_file}: {clipped} boxes reached outside their image and were clipped, '
                          f'{dropped} had no area and were dropped', stacklevel=2)
        return records


class ScenesDetection(DetectionSamples):
    """The embedded scenes rendered on the fly, as COCO-style detection (shape classes = categories 1..5).

    Args:
        split: Scene split (``'train'``, ``'val'``, ``'test'``).
        image_size: Render size (square), also the letterbox size.
        num: Number of scenes (None = the split's default).
        ov_split: ``'scenes_3_2'`` (train on three shapes, test on five) or None.
        train: Keep only base-class boxes.
        augment: ``dense.datasets.common.augment`` options.
    """

    def __init__(self, split: str = 'train', image_size: int = 128, num: int | None = None, ov_split: str | None = None,
                 train: bool = False, augment: dict | None = None):
        from dense.scenes import CLASS_NAMES, SceneSet
        self.scenes = SceneSet(split=split, size=(image_size, image_size), num=num)
        categories, is_base = resolve_split([dict(id=i, name=n) for i, n in enumerate(CLASS_NAMES) if i], ov_split)
        self.class_names = [c['name'] for c in categories]
        self.category_ids = [c['id'] for c in categories]
        self.image_size, self.augment, self.train = int(image_size), augment, train
        self.is_base = is_base
        self.records = [self._record(i) for i in range(len(self.scenes))]

    def _record(self, index: int) -> dict:
        scene = self.scenes[index]
        label_of = {cid: k for k, cid in enumerate(self.category_ids)}
        objects = [o for o in scene.objects
                   if o['class_id'] in label_of and (not self.train or self.is_base[label_of[o['class_id']]])]
        boxes = np.array([o['box'] for o in objects], np.float64).reshape(-1, 4)
        gt = [dict(bbox=[b[0], b[1], b[2] - b[0], b[3] - b[1]], category_id=o['class_id'], area=float(o['area']),
                   iscrowd=0) for o, b in zip(scene.objects, np.array([o['box'] for o in scene.objects]).reshape(-1, 4))
              if o['class_id'] in label_of]
        image = torch.from_numpy(scene.image.copy()).permute(2, 0, 1)
        return dict(image=lambda: image.float() / 255, boxes=boxes, labels=[label_of[o['class_id']] for o in objects],
                    meta=dict(img_path=f'scenes/{self.scenes.split}/{index}', image_id=scene.seed + 1, gt=gt,
                              height=scene.image.shape[0], width=scene.image.shape[1],
                              category_ids=self.category_ids, eval_format='coco'))
