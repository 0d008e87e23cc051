"""RefCOCO-style referring expressions in the REFER api layout (Yu et al. 2016; Kazemzadeh et al. 2014).

Layout under ``root``: ``<dataset>/instances.json`` (COCO instances), ``<dataset>/refs(<split_by>).p`` (a pickled
list of refs) and the images in ``images/mscoco/images/train2014``. The refs pickle is read with a restricted
unpickler that builds only dicts, lists, tuples, strings and numbers: a pickle naming any other global (a class,
a function such as ``os.system``) is refused before anything runs.
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


def load_refcoco(root, split: str, dataset: str = 'refcoco', split_by: str = 'unc') -> list[dict]:
    """One sample per sentence of ``split``: image path, sentence, target box (x0, y0, x1, y1), ids, category.

    Args:
        root: Folder holding ``<dataset>/`` and ``images/mscoco/images/train2014``.
        split: Ref split, e.g. ``train``, ``val``, ``testA``.
        dataset: ``refcoco``, ``refcoco+`` or ``refcocog``.
        split_by: ``unc``, ``google`` or ``umd``.
    """
    root = Path(root)
    refs = load_refs(root / dataset / f'refs({split_by}).p')
    instances_path = root / dataset / 'instances.json'
    if not instances_path.is_file():
        raise FileNotFoundError(f'{instances_path}: missing; the REFER layout keeps instances.json next to the refs')
    instances = json.loads(instances_path.read_text())
    anns = {a['id']: a for a in instances['annotations']}
    images = {i['id']: i for i in instances['images']}
    categories = {c['id']: c['name'] for c in instances['categories']}
    samples = []
    for ref in refs:
        if ref['split'] != split:
            continue
        x, y, w, h = anns[ref['ann_id']]['bbox']
        for sentence in ref['sentences']:
            samples.append(dict(image_path=str(root / IMAGE_DIR / images[ref['image_id']]['file_name']),
                                sentence=sentence['sent'], box=(x, y, x + w, y + h), ref_id=ref['ref_id'],
                                ann_id=ref['ann_id'], image_id=ref['image_id'],
                                category=categories[ref['category_id']]))
    if not samples:
        raise ValueError(f'{root / dataset}: no refs in split {split!r}; '
                         f'splits present: {sorted({r["split"] for r in refs})}')
    return samples
