"""Tiny random data sets in the published on-disk layouts (for tests and the smoke configs).

    python -m dense.datasets.fixtures ade20k work_dirs/fixtures/ade20k [--num 2] [--sbd]

Images are random RGB, labels random class ids in each data set's raw encoding (ADE20K / Pascal Context: 0 =
unlabelled, classes from 1; VOC: palette PNG with 255 boundaries; COCO-Stuff / Cityscapes: train ids, 255 ignore).
NAVI depth PNGs hold NAVI's scaled disparity (``value = 65535 * 10 / depth_mm``, 0 = no depth; Probe3D
``evals/datasets/utils.py: read_depth``), written here as an exact plane in that encoding (:func:`navi_plane`).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from dense.datasets.fixtures_ref import write_refcocox

SIZE = (48, 64)


def write_image(path: Path, rng: np.random.Generator, size=SIZE) -> None:
    """A random RGB image (JPEG or PNG by suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(path)


def _palette_image(label: np.ndarray) -> Image.Image:
    """A palette PNG as VOC ships (pixel values are palette indices = class ids)."""
    img = Image.new('P', label.shape[::-1])
    img.putpalette([c for i in range(256) for c in (i, 255 - i, (7 * i) % 256)])
    img.putdata(label.ravel().tolist())
    return img


def write_label(path: Path, rng: np.random.Generator, high: int, ignore_row: bool = False, palette: bool = False,
                size=SIZE) -> np.ndarray:
    """Random class ids in ``[0, high)``; ``ignore_row`` sets a run of 255 (VOC boundaries / void)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    label = rng.integers(0, high, size, dtype=np.uint8)
    if ignore_row:
        label[0, :4] = 255
    (_palette_image(label) if palette else Image.fromarray(label)).save(path)
    return label


def _split_file(path: Path, names) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(''.join(n + '\n' for n in names))


def write_ade20k(root: Path, rng: np.random.Generator, num: int = 2) -> None:
    for split in ('training', 'validation'):
        for i in range(num):
            name = f'ADE_{split[:5]}_{i:08d}'
            write_image(root / 'images' / split / f'{name}.jpg', rng)
            write_label(root / 'annotations' / split / f'{name}.png', rng, 151)


def write_voc(root: Path, rng: np.random.Generator, num: int = 2, sbd: bool = False) -> None:
    names = [f'2007_{i:06d}' for i in range(num)]
    for name in names:
        write_image(root / 'JPEGImages' / f'{name}.jpg', rng)
        write_label(root / 'SegmentationClass' / f'{name}.png', rng, 21, ignore_row=True, palette=True)
    _split_file(root / 'ImageSets/Segmentation/train.txt', names)
    _split_file(root / 'ImageSets/Segmentation/val.txt', names)
    if sbd:
        write_image(root / 'JPEGImages' / '2008_000001.jpg', rng)
        aug = names + ['2008_000001']
        for name in aug:
            write_label(root / 'SegmentationClassAug' / f'{name}.png', rng, 21)
        _split_file(root / 'ImageSets/Segmentation/aug.txt', aug)


def write_pascal_context(root: Path, rng: np.random.Generator, num: int = 2) -> None:
    names = [f'2008_{i:06d}' for i in range(num)]
    for name in names:
        write_image(root / 'JPEGImages' / f'{name}.jpg', rng)
        write_label(root / 'SegmentationClassContext' / f'{name}.png', rng, 60)
    for split in ('train', 'val'):
        _split_file(root / f'ImageSets/SegmentationContext/{split}.txt', names)


def write_coco_stuff(root: Path, rng: np.random.Generator, num: int = 2) -> None:
    for split in ('train', 'val'):
        for i in range(num):
            write_image(root / f'images/{split}2017/{i:012d}.jpg', rng)
            write_label(root / f'annotations/{split}2017/{i:012d}_labelTrainIds.png', rng, 171, ignore_row=True)


def write_cityscapes(root: Path, rng: np.random.Generator, num: int = 2) -> None:
    for split in ('train', 'val'):
        for i in range(num):
            stem = f'aachen_{i:06d}_000019'
            write_image(root / f'leftImg8bit/{split}/aachen/{stem}_leftImg8bit.png', rng)
            write_label(root / f'gtFine/{split}/aachen/{stem}_gtFine_labelTrainIds.png', rng, 19, ignore_row=True)


NAVI_SIZE = (96, 128)


def navi_plane(size=NAVI_SIZE, slope=(2, 1), offset=1000) -> np.ndarray:
    """NAVI depth PNG values of a slanted plane: ``value = offset + sx * column + sy * row`` inside a box, 0 outside.

    NAVI's value is proportional to inverse depth, and inverse depth is affine in pixel coordinates exactly for a
    plane, so integer values encode a plane without rounding.
    """
    h, w = size
    rows, cols = np.mgrid[0:h, 0:w]
    value = (offset + slope[0] * cols + slope[1] * rows).astype(np.uint16)
    value[:h // 8] = 0
    value[:, :w // 8] = 0
    value[:, w - w // 4:] = 0
    return value


def _exif_rotated_jpeg(path: Path, image: np.ndarray) -> None:
    """Store ``image`` rotated a quarter turn counter-clockwise with EXIF orientation 6 ("rotate 90 CW to
    display"), as phone pictures in NAVI's wild set are: an EXIF-aware reader gets ``image`` back."""
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(np.ascontiguousarray(np.rot90(image))).save(path, exif=exif, quality=95)


def write_navi(root: Path, rng: np.random.Generator, num: int = 2, size=NAVI_SIZE, focal: float = 100.0) -> None:
    """Objects ``mug`` and ``shoe`` with two multiview scenes and a wild set of ``num`` views each (the first wild
    view of ``mug`` stored EXIF-rotated), plus ``chair`` without a wild set (skipped, as in Probe3D)."""
    for obj in ('mug', 'shoe'):
        for scene in ('multiview_00_pixel', 'multiview_01_pixel', 'wild_set'):
            d = root / obj / scene
            (d / 'images').mkdir(parents=True)
            (d / 'depth').mkdir(parents=True)
            anns = []
            for v in range(num):
                image = rng.integers(0, 255, (*size, 3), dtype=np.uint8)
                if (obj, scene, v) == ('mug', 'wild_set', 0):
                    _exif_rotated_jpeg(d / f'images/{v:03d}.jpg', image)
                else:
                    Image.fromarray(image).save(d / f'images/{v:03d}.jpg')
                Image.fromarray(navi_plane(size, slope=(2 + v, 1))).save(d / f'depth/{v:03d}.png')
                anns.append({'filename': f'{v:03d}.jpg', 'image_size': list(size), 'object_id': obj,
                             'camera': {'focal_length': focal, 'q': [1, 0, 0, 0], 't': [0, 0, 0]}})
            (d / 'annotations.json').write_text(json.dumps(anns))
    chair = root / 'chair' / 'multiview_00_pixel'
    (chair / 'images').mkdir(parents=True)
    (chair / 'annotations.json').write_text('[]')


def write_custom(root: Path, rng: np.random.Generator, num: int = 2) -> None:
    """The generic ``seg_custom`` layout: ``{train,val}/images/*.jpg`` and ``{train,val}/masks/*.png`` with
    values 0-2 (3 classes) and a few 255 (ignore)."""
    for split in ('train', 'val'):
        for i in range(num):
            write_image(root / split / 'images' / f'photo_{i:03d}.jpg', rng)
            write_label(root / split / 'masks' / f'photo_{i:03d}.png', rng, 3, ignore_row=True)


WRITERS = {'ade20k': write_ade20k, 'custom': write_custom, 'voc': write_voc, 'pascal_context59': write_pascal_context,
           'coco_stuff': write_coco_stuff, 'cityscapes': write_cityscapes, 'navi': write_navi,
           'refcocox': write_refcocox}  # RefCOCO / RefCOCO+ / RefCOCOg (fixtures_ref.py)


def write_fixture(kind: str, root: str | Path, num: int = 2, seed: int = 0, **options) -> Path:
    """Write a tiny ``kind`` data set under ``root``; returns ``root``."""
    if kind not in WRITERS:
        raise KeyError(f'unknown fixture {kind!r}; known: {sorted(WRITERS)}')
    root = Path(root)
    WRITERS[kind](root, np.random.default_rng(seed), num, **options)
    return root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('kind', choices=sorted(WRITERS))
    parser.add_argument('root')
    parser.add_argument('--num', type=int, default=2)
    parser.add_argument('--sbd', action='store_true', help='voc: also write the SBD augmented set')
    args = parser.parse_args(argv)
    write_fixture(args.kind, args.root, args.num, **({'sbd': True} if args.sbd else {}))
    print(args.root)
    return 0


if __name__ == '__main__':
    sys.exit(main())
