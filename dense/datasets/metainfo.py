"""Class names and colours of a data set from its config options alone (no files read): metrics keyed by class
name (``IoU.wall``, not ``IoU.0``) and figures and predicted PNGs in the data set's own palette.

The published data sets take mmseg's ``METAINFO`` (``mmseg/datasets/ade.py`` etc.: the classes after
``reduce_zero_label`` and their palette); the embedded scenes their ``CLASS_NAMES`` with the PASCAL VOC colour map;
a custom layout (``seg_custom``) the ``classes`` / ``palette`` of its options.
"""
from __future__ import annotations


def voc_colormap(n: int) -> list[list[int]]:
    """The PASCAL VOC colour map (devkit ``VOClabelcolormap.m``: bits of the class id spread over R, G, B)."""
    out = []
    for i in range(n):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        out.append([r, g, b])
    return out


def class_metainfo(options: dict) -> dict | None:
    """``dict(classes=[...], palette=[[r, g, b], ...])`` of the data set ``options`` (``type`` and its options)
    describe, or None for a data set without classes (depth / normals only)."""
    kind = options.get('type')
    if kind == 'seg_folder':
        from dense.datasets.segmentation import LAYOUTS
        from dense.mmcv_compat import import_mmseg
        import_mmseg()
        from mmseg.registry import DATASETS as MMSEG_DATASETS
        layout = LAYOUTS.get(options.get('kind'))
        if layout is None:
            return None
        meta = MMSEG_DATASETS.get(layout['cls']).METAINFO
        return dict(classes=[str(c).strip() for c in meta['classes']], palette=[list(p) for p in meta['palette']])
    if kind == 'scenes':
        from dense.scenes import CLASS_NAMES
        return dict(classes=list(CLASS_NAMES), palette=voc_colormap(len(CLASS_NAMES)))
    if options.get('classes'):
        classes = [str(c) for c in options['classes']]
        return dict(classes=classes, palette=[list(p) for p in options.get('palette') or voc_colormap(len(classes))])
    return None
