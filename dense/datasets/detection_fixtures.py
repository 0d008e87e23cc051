"""Tiny COCO-instances and LVIS-v1 data sets in their published layouts (tests and the detection smoke configs).

    python -m dense.datasets.detection_fixtures coco work_dirs/fixtures/coco_det [--num 3]
    python -m dense.datasets.detection_fixtures lvis work_dirs/fixtures/lvis [--num 3]

Images are random non-square RGB JPEGs; each has a few boxes of random categories. COCO: ``{train,val}2017/``
and ``annotations/instances_{train,val}2017.json`` with the 65 classes of the OVR-CNN split under sparse ids (like
COCO's 1..90); LVIS: ``annotations/lvis_v1_{train,val}.json`` (categories with ``frequency`` r / c / f, images
with ``coco_url``, ``neg_category_ids`` and ``not_exhaustive_category_ids``) and the images under
``{train,val}2017/``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from dense.datasets.detection import COCO_OVR_BASE, COCO_OVR_NOVEL
from dense.io import write_bytes

LVIS_NAMES = (('person', 'f'), ('hot-air_balloon', 'r'), ('gondola_(boat)', 'r'), ('bottle', 'f'), ('kite', 'c'),
              ('koala', 'r'), ('mallet', 'c'), ('cup', 'f'))


def _categories(kind: str) -> list[dict]:
    if kind == 'coco':
        return [dict(id=2 * k + 1, name=n, supercategory='thing') for k, n in enumerate(COCO_OVR_BASE + COCO_OVR_NOVEL)]
    return [dict(id=k + 1, name=n, synonyms=[n], frequency=f, image_count=1, instance_count=1)
            for k, (n, f) in enumerate(LVIS_NAMES)]


def _write_image(path: Path, rng: np.random.Generator, height: int, width: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(path, format='JPEG')


def _annotations(rng: np.random.Generator, image_id: int, height: int, width: int, cat_ids: list[int],
                 first_id: int) -> list[dict]:
    anns = []
    for k in range(int(rng.integers(1, 4))):
        w, h = float(rng.integers(4, width // 2)), float(rng.integers(4, height // 2))
        x, y = float(rng.integers(0, width - w)), float(rng.integers(0, height - h))
        anns.append(dict(id=first_id + k, image_id=image_id, category_id=int(rng.choice(cat_ids)),
                         bbox=[x, y, w, h], area=w * h, iscrowd=0,
                         segmentation=[[x, y, x + w, y, x + w, y + h, x, y + h]]))
    return anns


def write_fixture(root, kind: str = 'coco', num: int = 3, seed: int = 0) -> Path:
    """Write ``num`` images per split of a ``kind`` (``'coco'`` / ``'lvis'``) fixture under ``root``."""
    if kind not in ('coco', 'lvis'):
        raise ValueError(f"fixture kind must be 'coco' or 'lvis', got {kind!r}")
    root, rng = Path(root), np.random.default_rng(seed)
    categories = _categories(kind)
    cat_ids = [c['id'] for c in categories]
    for split in ('train', 'val'):
        folder = f'{split}2017'
        images, annotations = [], []
        for k in range(num):
            image_id = (1 if split == 'train' else 1000) + k
            height, width = int(rng.integers(40, 72)), int(rng.integers(40, 72))
            name = f'{image_id:012d}.jpg'
            _write_image(root / folder / name, rng, height, width)
            anns = _annotations(rng, image_id, height, width, cat_ids, 10 * image_id)
            info = dict(id=image_id, height=height, width=width, file_name=name)
            if kind == 'lvis':
                present = {a['category_id'] for a in anns}
                info = dict(id=image_id, height=height, width=width,
                            coco_url=f'http://images.cocodataset.org/{folder}/{name}',
                            neg_category_ids=[c for c in cat_ids if c not in present][:2],
                            not_exhaustive_category_ids=[])
            images.append(info)
            annotations += anns
        data = dict(info={}, licenses=[], images=images, annotations=annotations, categories=categories)
        name = f'instances_{folder}.json' if kind == 'coco' else f'lvis_v1_{split}.json'
        write_bytes(root / 'annotations' / name, json.dumps(data).encode())
    return root


def main(argv=None) -> int:
    """Command line: ``KIND ROOT [--num N]``."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('kind', choices=['coco', 'lvis'])
    parser.add_argument('root')
    parser.add_argument('--num', type=int, default=3)
    args = parser.parse_args(argv)
    print(write_fixture(args.root, args.kind, args.num))
    return 0


if __name__ == '__main__':
    sys.exit(main())
