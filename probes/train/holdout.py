"""Choosing hyper-parameters on a held-out part of the training set, not on the split that is reported.

A config with ``lr_selection = dict(holdout=0.1, seed=0)`` trains every probe of its grid on the rest of the
training set, picks the best probe of each family on the held-out part (read with the evaluation settings of
``data.val``: no augmentation) and reports the picked probes on ``data.val``. The held-out images are a seeded
random ``holdout`` fraction of the training set (``torch.randperm`` with ``seed``), so the choice is reproducible.
Without ``lr_selection`` the best probe is chosen on ``data.val`` itself, which flatters the grid's best (the
results say which: ``metrics.json: selection``).
"""
from __future__ import annotations

import torch
from torch.utils.data import Dataset, Subset

SOURCE_KEYS = ('type', 'root', 'data_root', 'path', 'split', 'layout', 'every', 'order', 'num', 'img_dir', 'ann_dir')
TRAIN_ONLY_KEYS = ('augment',)


def selection(cfg) -> dict | None:
    """The config's ``lr_selection`` checked (``holdout`` in (0, 1), integer ``seed``), or None."""
    sel = cfg.get('lr_selection')
    if not sel:
        return None
    sel = dict(sel)
    if set(sel) - {'holdout', 'seed'} or not 0 < float(sel.get('holdout', 0)) < 1:
        raise ValueError(f"lr_selection must be dict(holdout=<fraction in (0, 1)>, seed=<int>), got {sel}")
    if 'test' in cfg.data or cfg.get('cache'):
        raise ValueError('lr_selection: the held-out part replaces data.test and does not work with the feature '
                         'cache; drop one of them')
    return dict(holdout=float(sel['holdout']), seed=int(sel.get('seed', 0)))


def split_indices(num: int, holdout: float, seed: int) -> tuple[list[int], list[int]]:
    """``(train indices, held-out indices)``: a seeded permutation, the first ``round(holdout * num)`` held out
    (at least one image each side)."""
    if num < 2:
        raise ValueError(f'lr_selection: the training set has {num} image(s); holding out needs at least 2')
    order = torch.randperm(num, generator=torch.Generator().manual_seed(seed)).tolist()
    cut = min(max(1, round(holdout * num)), num - 1)
    return sorted(order[cut:]), sorted(order[:cut])


def heldout_options(train: dict, val: dict) -> dict:
    """Data-set options for the held-out images: the training source with the evaluation settings of val."""
    out = {k: v for k, v in train.items() if k not in TRAIN_ONLY_KEYS}
    out.update({k: v for k, v in val.items() if k not in SOURCE_KEYS})
    return out


def train_part(dataset: Dataset, sel: dict) -> Subset:
    """The training set without its held-out images."""
    return Subset(dataset, split_indices(len(dataset), sel['holdout'], sel['seed'])[0])


def heldout_part(dataset: Dataset, num_train: int, sel: dict) -> Subset:
    """The held-out images of a training set of ``num_train`` images (``dataset`` reads them for evaluation)."""
    if len(dataset) != num_train:
        raise ValueError(f'lr_selection: the held-out reader lists {len(dataset)} images, the training set '
                         f'{num_train}; their options must name the same images')
    return Subset(dataset, split_indices(num_train, sel['holdout'], sel['seed'])[1])


def describe(sel: dict | None) -> str:
    """What chose the best probes, for ``metrics.json``."""
    if sel is None:
        return 'val (the reported split)'
    return f"held-out {sel['holdout']:g} of train (seed {sel['seed']}); reported on val"
