"""Write embedded scenes to disk in the layouts of the real data sets, so their real loaders read them.

Layouts (``root`` is the data set root the real loader is pointed at):

- ``ade20k`` (mmseg ADE20KDataset layout): ``images/{training,validation}/<name>.jpg`` and
  ``annotations/{training,validation}/<name>.png``, uint8 with 0 = ignore/other and class + 1 (read with
  ``reduce_zero_label=True`` to get ``CLASS_NAMES`` indices back; the scenes have no ignore pixels).
- ``nyu`` (mmseg NYUDataset layout): ``images/{train,test}/<name>.jpg``, ``annotations/{train,test}/<name>.png``
  uint16 depth in millimetres (``LoadDepthAnnotation(depth_rescale_factor=1e-3)`` gives metres), and
  ``normals/{train,test}/<name>.png``: uint8 RGB = round((n + 1) / 2 * 255) with n the unit normal in the camera
  frame (x right, y down, z forward), (0, 0, 0) = invalid. This is the pixel encoding of the NYUv2 normal PNGs
  of the DSINE evaluation set (Bae & Davison 2024; their loader ``data/datasets/nyuv2/__init__.py`` decodes
  png / 255 * 2 - 1 with mask = any channel > 0); the axis convention is the suite's contract, so check theirs
  before mixing the two. Quantization error: under 0.5 degree.
- ``coco`` (COCO instances): ``images/{train2017,val2017}/<name>.jpg`` and ``annotations/instances_<split>.json``
  with the shape classes as categories 1..5, RLE masks of the visible parts, bbox in xywh pixels.
- ``refcoco`` (REFER api layout): ``refcoco/instances.json`` (COCO instances of every split), ``refcoco/refs(unc).p``
  (pickled list of refs: ref_id, ann_id, image_id, category_id, split, sentences...) and the images in
  ``images/mscoco/images/train2014/COCO_train2014_<image id>.jpg``.

Every file is written under a temporary name in its folder and moved into place with ``os.replace``.
"""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from dense.io import write_bytes
from dense.scenes.layout import CLASS_NAMES
from dense.scenes.render import Scene, SceneSet

SPLIT_DIRS = {'ade20k': {'train': 'training', 'val': 'validation'}, 'nyu': {'train': 'train', 'test': 'test'},
              'coco': {'train': 'train2017', 'val': 'val2017'},
              'refcoco': {'train': 'train', 'val': 'val', 'test': 'test'}}
REFCOCO_IMAGES = 'images/mscoco/images/train2014'


def _encode(array: np.ndarray, ext: str) -> bytes:
    params = [cv2.IMWRITE_JPEG_QUALITY, 95] if ext == '.jpg' else []
    ok, buf = cv2.imencode(ext, array, params)
    if not ok:
        raise RuntimeError(f'dense/scenes/export.py: OpenCV could not encode a {array.dtype} array as {ext}')
    return buf.tobytes()


def _rgb(image: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(image[..., ::-1])


def _name(scene: Scene) -> str:
    return f'scene_{scene.seed:07d}'


def encode_normals(normals: np.ndarray) -> np.ndarray:
    """Unit normals (H, W, 3) to the uint8 RGB encoding described in the module docstring."""
    return np.clip(np.rint((normals + 1) / 2 * 255), 1, 255).astype(np.uint8)


def decode_normals(png: np.ndarray) -> np.ndarray:
    """uint8 RGB normal PNG (H, W, 3) back to unit normals; invalid (0, 0, 0) pixels give all-zero vectors."""
    n = png.astype(np.float32) / 255 * 2 - 1
    norm = np.linalg.norm(n, axis=-1, keepdims=True)
    return np.where(png.any(-1, keepdims=True), n / np.maximum(norm, 1e-6), 0).astype(np.float32)


def _write_ade20k(root: Path, split: str, scenes: SceneSet) -> None:
    folder = SPLIT_DIRS['ade20k'][split]
    for scene in scenes:
        write_bytes(root / 'images' / folder / f'{_name(scene)}.jpg', _encode(_rgb(scene.image), '.jpg'))
        write_bytes(root / 'annotations' / folder / f'{_name(scene)}.png', _encode(scene.semantic + 1, '.png'))


def _write_nyu(root: Path, split: str, scenes: SceneSet) -> None:
    folder = SPLIT_DIRS['nyu'][split]
    for scene in scenes:
        depth_mm = np.rint(scene.depth.astype(np.float64) * 1000).astype(np.uint16)
        write_bytes(root / 'images' / folder / f'{_name(scene)}.jpg', _encode(_rgb(scene.image), '.jpg'))
        write_bytes(root / 'annotations' / folder / f'{_name(scene)}.png', _encode(depth_mm, '.png'))
        write_bytes(root / 'normals' / folder / f'{_name(scene)}.png',
                    _encode(_rgb(encode_normals(scene.normals)), '.png'))


def _coco_annotations(scene: Scene, image_id: int, first_ann_id: int) -> list[dict]:
    anns = []
    for k, obj in enumerate(scene.objects):
        rle = mask_utils.encode(np.asfortranarray((scene.instances == k).astype(np.uint8)))
        rle['counts'] = rle['counts'].decode('ascii')
        x0, y0, x1, y1 = obj['box']
        anns.append(dict(id=first_ann_id + k, image_id=image_id, category_id=obj['class_id'], segmentation=rle,
                         area=float(obj['area']), bbox=[float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
                         iscrowd=0))
    return anns


def _coco(scenes_by_split: dict, file_name) -> dict:
    """COCO instances dict over the scenes; ``file_name(scene, image_id)`` names each image file."""
    images, annotations = [], []
    for scenes in scenes_by_split.values():
        for scene in scenes:
            image_id = scene.seed + 1
            h, w = scene.semantic.shape
            images.append(dict(id=image_id, file_name=file_name(scene, image_id), height=h, width=w))
            annotations += _coco_annotations(scene, image_id, 100 * image_id)
    categories = [dict(id=i, name=name, supercategory='shape') for i, name in enumerate(CLASS_NAMES) if i > 0]
    return dict(info=dict(description='dense embedded scenes'), licenses=[], images=images,
                annotations=annotations, categories=categories)


def _write_coco(root: Path, split: str, scenes: SceneSet) -> None:
    folder = SPLIT_DIRS['coco'][split]
    for scene in scenes:
        write_bytes(root / 'images' / folder / f'{_name(scene)}.jpg', _encode(_rgb(scene.image), '.jpg'))
    data = _coco({split: scenes}, lambda scene, image_id: f'{_name(scene)}.jpg')
    write_bytes(root / 'annotations' / f'instances_{folder}.json', json.dumps(data).encode())


def _refcoco_file(image_id: int) -> str:
    return f'COCO_train2014_{image_id:012d}.jpg'


def _refs(scenes_by_split: dict) -> list[dict]:
    refs, sent_id = [], 0
    for split, scenes in scenes_by_split.items():
        for scene in scenes:
            image_id = scene.seed + 1
            for k, obj in enumerate(scene.objects):
                texts = [e['text'] for e in scene.expressions if e['object'] == k]
                if not texts:
                    continue
                sentences = [dict(sent_id=sent_id + i, raw=t, sent=t, tokens=t.split()) for i, t in enumerate(texts)]
                ann_id = 100 * image_id + k
                refs.append(dict(ref_id=len(refs), ann_id=ann_id, image_id=image_id, category_id=obj['class_id'],
                                 split=SPLIT_DIRS['refcoco'][split], sentences=sentences,
                                 sent_ids=[s['sent_id'] for s in sentences],
                                 file_name=_refcoco_file(image_id)[:-4] + f'_{ann_id}.jpg'))
                sent_id += len(texts)
    return refs


def _write_refcoco(root: Path, scenes_by_split: dict) -> None:
    for scenes in scenes_by_split.values():
        for scene in scenes:
            write_bytes(root / REFCOCO_IMAGES / _refcoco_file(scene.seed + 1), _encode(_rgb(scene.image), '.jpg'))
    data = _coco(scenes_by_split, lambda scene, image_id: _refcoco_file(image_id))
    write_bytes(root / 'refcoco' / 'instances.json', json.dumps(data).encode())
    write_bytes(root / 'refcoco' / 'refs(unc).p', pickle.dumps(_refs(scenes_by_split), protocol=2))


def write_dataset(root, layout: str, splits=('train', 'val'), n: int = 8, size=(224, 224)) -> Path:
    """Render ``n`` scenes of each split and write them under ``root`` in ``layout`` (see the module docstring).

    Args:
        root: Data set root folder (created).
        layout: One of ``ade20k``, ``nyu``, ``coco``, ``refcoco``.
        splits: Scene splits to write; each must have a folder in the layout (``nyu``: train/test;
            ``ade20k``, ``coco``: train/val; ``refcoco``: train/val/test).
        n: Scenes per split (the first ``n`` of each ``SceneSet`` split).
        size: (H, W) of the images.

    Returns:
        The root folder.
    """
    if layout not in SPLIT_DIRS:
        raise ValueError(f'dense/scenes/export.py: unknown layout {layout!r}; use one of {sorted(SPLIT_DIRS)}')
    splits = (splits,) if isinstance(splits, str) else tuple(splits)
    bad = [s for s in splits if s not in SPLIT_DIRS[layout]]
    if bad or not splits:
        raise ValueError(f'dense/scenes/export.py: layout {layout!r} has splits {sorted(SPLIT_DIRS[layout])}, '
                         f'got {list(splits)}')
    scenes_by_split = {split: SceneSet(split, size, num=n) for split in splits}
    root = Path(root)
    if layout == 'refcoco':
        _write_refcoco(root, scenes_by_split)
    else:
        writer = {'ade20k': _write_ade20k, 'nyu': _write_nyu, 'coco': _write_coco}[layout]
        for split, scenes in scenes_by_split.items():
            writer(root, split, scenes)
    return root
