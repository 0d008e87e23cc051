"""RefCOCO-style referring expressions in the REFER api layout (Yu et al. 2016; Kazemzadeh et al. 2014; Mao et al.
2016).

Layout under ``root``: ``<dataset>/instances.json`` (COCO instances), ``<dataset>/refs(<split_by>).p`` (a pickled
list of refs) and the images in ``images/mscoco/images/train2014``. The refs pickle is read with a restricted
unpickler that builds only dicts, lists, tuples, strings and numbers: a pickle naming any other global (a class,
a function such as ``os.system``) is refused before anything runs.

Variants and their standard partitions (:data:`VARIANTS`): RefCOCO and RefCOCO+ by UNC (train, val, testA, testB),
RefCOCOg by UMD (train, val, test). The ``combined`` splits follow big_vision's ``refcocox_combined``
(``big_vision/datasets/refcoco/refcoco.py: _get_ids``): the refs of the three variants together, ``test`` =
test + testA + testB, and ``train`` without any image that has a ref in a non-train split of any variant (the
variants share COCO train2014 images, so a RefCOCO train image can be a RefCOCO+ or RefCOCOg evaluation image).
"""
from __future__ import annotations

import json
import pickle
from pathlib import Path

from dense.io import restricted_unpickle

# a REFER refs pickle holds builtin containers and scalars only (python 2 pickles name them __builtin__)
ALLOWED = [(module, name) for module in ('builtins', '__builtin__')
           for name in ('dict', 'list', 'str', 'int', 'float', 'tuple')]
IMAGE_DIR = 'images/mscoco/images/train2014'
VARIANTS = {'refcoco': 'unc', 'refcoco+': 'unc', 'refcocog': 'umd'}  # data set -> standard partition
COMBINED = {'train': ('train',), 'val': ('val',), 'test': ('test', 'testA', 'testB')}


def load_refs(path) -> list:
    """Load a REFER ``refs(*).p`` pickle with the restricted unpickler; raises ValueError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'{path}: no such refs pickle; point root at the folder holding <dataset>/refs(...).p')
    try:
        refs = restricted_unpickle(path, ALLOWED, encoding='latin1')  # python 2 refs hold byte strings
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as err:
        raise ValueError(f'{path}: not a readable refs pickle: {err}') from None
    if not isinstance(refs, list) or not all(isinstance(r, dict) for r in refs):
        raise ValueError(f'{path}: expected a list of ref dicts, got {type(refs).__name__}')
    return refs


class Instances:
    """The parts of a COCO instances file a ref needs: boxes by annotation, images, category indices.

    Category index = position of the id among the file's sorted category ids (COCO's 80 ids -> 0..79).
    """

    def __init__(self, path: Path):
        if not path.is_file():
            raise FileNotFoundError(f'{path}: missing; the REFER layout keeps instances.json next to the refs')
        try:
            data = json.loads(path.read_text())
            self.anns = {a['id']: a for a in data['annotations']}
            self.images = {i['id']: i for i in data['images']}
            ids = sorted(c['id'] for c in data['categories'])
            self.names = {c['id']: c['name'] for c in data['categories']}
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f'{path}: not a COCO instances file ({type(err).__name__}: {err})') from None
        self.path, self.index = path, {cid: i for i, cid in enumerate(ids)}
        self.by_image: dict[int, list[dict]] = {}
        for ann in self.anns.values():
            self.by_image.setdefault(ann['image_id'], []).append(ann)

    def category(self, category_id: int, what: str) -> int:
        """Index of a category id; ValueError naming the file and the id when the file does not define it."""
        if category_id not in self.index:
            raise ValueError(f'{self.path}: {what} has category id {category_id}, which the file\'s categories do '
                             f'not define (known ids: {sorted(self.index)[:10]}...)')
        return self.index[category_id]

    def object_boxes(self, image_id: int) -> tuple[list, list]:
        """Every annotated object of an image: pixel boxes ``(x0, y0, x1, y1)`` and category indices."""
        anns = self.by_image.get(image_id, [])
        return ([xyxy(a['bbox']) for a in anns],
                [self.category(a['category_id'], f'annotation {a["id"]}') for a in anns])


def xyxy(bbox) -> tuple[float, float, float, float]:
    """COCO ``[x, y, w, h]`` to ``(x0, y0, x1, y1)``."""
    x, y, w, h = (float(v) for v in bbox)
    return x, y, x + w, y + h


def _ref_samples(ref: dict, root: Path, instances: Instances, refs_path: Path, tag: str) -> list[dict]:
    """One sample per sentence of a ref; clear errors for ids the instances file does not hold."""
    ann = instances.anns.get(ref['ann_id'])
    if ann is None:
        raise ValueError(f'{refs_path}: ref {ref.get("ref_id")} names annotation id {ref["ann_id"]}, which '
                         f'{instances.path} does not hold; the refs and instances.json come from different releases?')
    image = instances.images.get(ref['image_id'])
    if image is None:
        raise ValueError(f'{refs_path}: ref {ref.get("ref_id")} names image id {ref["image_id"]}, which '
                         f'{instances.path} does not hold')
    instances.category(ref['category_id'], f'ref {ref.get("ref_id")} (in {refs_path.name})')
    category = instances.names[ref['category_id']]
    boxes, labels = instances.object_boxes(ref['image_id'])
    common = dict(image_path=str(root / IMAGE_DIR / image['file_name']), box=xyxy(ann['bbox']),
                  ref_id=ref['ref_id'], ann_id=ref['ann_id'], image_id=ref['image_id'], category=category,
                  image_size=(image['height'], image['width']), split=tag, image_boxes=boxes, image_labels=labels)
    return [dict(common, sentence=sentence['sent']) for sentence in ref['sentences']]


def _variant(root: Path, dataset: str, split_by: str | None) -> tuple[list, Path, Instances]:
    if dataset not in VARIANTS:
        raise ValueError(f'{root}: unknown RefCOCO variant {dataset!r}; known: {sorted(VARIANTS)}')
    refs_path = root / dataset / f'refs({split_by or VARIANTS[dataset]}).p'
    return load_refs(refs_path), refs_path, Instances(root / dataset / 'instances.json')


def load_refcoco(root, split: str, dataset: str = 'refcoco', split_by: str | None = None,
                 exclude_images=frozenset()) -> list[dict]:
    """One sample per sentence of ``split``: image path, sentence, target box (x0, y0, x1, y1), ids, category,
    the image's every object box and category index (``image_boxes``, ``image_labels``) and a ``split`` tag.

    Args:
        root: Folder holding ``<dataset>/`` and ``images/mscoco/images/train2014``.
        split: Ref split, e.g. ``train``, ``val``, ``testA``.
        dataset: ``refcoco``, ``refcoco+`` or ``refcocog``.
        split_by: ``unc``, ``google`` or ``umd`` (default: the variant's standard one, :data:`VARIANTS`).
        exclude_images: Image ids whose refs are skipped.
    """
    root = Path(root)
    refs, refs_path, instances = _variant(root, dataset, split_by)
    samples = [s for ref in refs if ref['split'] == split and ref['image_id'] not in exclude_images
               for s in _ref_samples(ref, root, instances, refs_path, f'{dataset}/{split}')]
    if not samples:
        raise ValueError(f'{root / dataset}: no refs in split {split!r}; '
                         f'splits present: {sorted({r["split"] for r in refs})}')
    return samples


def load_combined(root, split: str) -> list[dict]:
    """big_vision's ``refcocox_combined``: RefCOCOg (umd), RefCOCO and RefCOCO+ (unc) together; ``test`` joins
    test / testA / testB; ``train`` drops every image that has a ref in any other split of any variant."""
    if split not in COMBINED:
        raise ValueError(f'combined RefCOCO split must be one of {sorted(COMBINED)}, got {split!r}')
    root = Path(root)
    variants = {name: _variant(root, name, None) for name in ('refcocog', 'refcoco', 'refcoco+')}
    excluded = {r['image_id'] for refs, _, _ in variants.values() for r in refs if r['split'] != 'train'} \
        if split == 'train' else set()
    samples = [s for name, (refs, refs_path, instances) in variants.items() for ref in refs
               if ref['split'] in COMBINED[split] and ref['image_id'] not in excluded
               for s in _ref_samples(ref, root, instances, refs_path, f'{name}/{ref["split"]}')]
    if not samples:
        raise ValueError(f'{root}: no refs in the combined {split!r} split')
    return samples
