"""A tiny RefCOCO / RefCOCO+ / RefCOCOg fixture in the REFER layout, with a planted train / evaluation overlap.

    python -m dense.datasets.fixtures refcocox work_dirs/fixtures/refcocox

Eight random images share one COCO instances file per variant (two objects each); refs are pickled lists of dicts
as the REFER release ships them. Image 2 is a RefCOCO train image and a RefCOCO+ testA image, image 3 a RefCOCO
train image and a RefCOCOg val image: big_vision's combined training split must drop both.
"""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
from PIL import Image

from dense.datasets.refcoco import IMAGE_DIR

# (variant, partition, image id, split) of each ref
REFS = (('refcoco', 'unc', 1, 'train'), ('refcoco', 'unc', 2, 'train'), ('refcoco', 'unc', 3, 'train'),
        ('refcoco', 'unc', 4, 'val'), ('refcoco', 'unc', 4, 'testB'), ('refcoco', 'unc', 8, 'testA'),
        ('refcoco+', 'unc', 1, 'train'), ('refcoco+', 'unc', 5, 'train'), ('refcoco+', 'unc', 2, 'testA'),
        ('refcoco+', 'unc', 6, 'val'), ('refcoco+', 'unc', 6, 'testB'),
        ('refcocog', 'umd', 6, 'train'), ('refcocog', 'umd', 3, 'val'), ('refcocog', 'umd', 7, 'test'))
SIZES = {i: (20 + 2 * i, 30 + i) for i in range(1, 9)}  # image id -> (H, W)
CATEGORIES = [dict(id=1, name='person'), dict(id=2, name='dog')]


def coco_file(image_id: int) -> str:
    """REFER's image file name of a COCO train2014 image."""
    return f'COCO_train2014_{image_id:012d}.jpg'


def write_refcocox(root: Path, rng: np.random.Generator, num: int = 2, drop_ann: int | None = None,
                   category_id: int = 2) -> None:
    """The fixture; ``num`` sentences per ref. ``drop_ann`` leaves that annotation out of instances.json and
    ``category_id`` is the refs' category (both for bad-input tests). The ref of image ``i`` is annotation
    ``10 * i + 1``, box ``[1, 2, 8, 5]`` (xywh), category 2 ('dog'); annotation ``10 * i`` is a 'person'."""
    root = Path(root)
    for image_id, (h, w) in SIZES.items():
        path = root / IMAGE_DIR / coco_file(image_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(path)
    images = [dict(id=i, file_name=coco_file(i), height=h, width=w) for i, (h, w) in SIZES.items()]
    anns = [dict(id=10 * i + k, image_id=i, category_id=1 + k, bbox=[k, 2 * k, 5 + 3 * k, 4 + k], area=1.0,
                 iscrowd=0) for i in SIZES for k in range(2) if 10 * i + k != drop_ann]
    instances = json.dumps(dict(images=images, annotations=anns, categories=CATEGORIES))
    for variant, partition in dict((r[0], r[1]) for r in REFS).items():
        refs = [dict(ref_id=n, ann_id=10 * image_id + 1, image_id=image_id, category_id=category_id, split=split,
                     file_name=coco_file(image_id), sent_ids=[100 * n + s for s in range(num)],
                     sentences=[dict(sent=f'{variant} {split} {image_id} {s}', raw='', tokens=[], sent_id=100 * n + s)
                                for s in range(num)])
                for n, (v, _, image_id, split) in enumerate(REFS) if v == variant]
        (root / variant).mkdir(parents=True, exist_ok=True)
        (root / variant / 'instances.json').write_text(instances)
        (root / variant / f'refs({partition}).p').write_bytes(pickle.dumps(refs, protocol=2))
