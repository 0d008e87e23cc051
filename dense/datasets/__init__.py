"""Data set table: ``DATASETS[type](**options)``; every data set yields samples of the training batch contract."""
from __future__ import annotations

from dense.datasets.common import collate
from dense.datasets.custom import CustomSegDataset
from dense.datasets.detection import CocoDetection, ScenesDetection
from dense.datasets.segmentation import LAYOUTS, SegFolderDataset
from dense.datasets.navi import NAVIDataset
from dense.datasets.nyu import NYUDepthMMSeg, NYUProbe3D
from dense.datasets.scenes import ScenesDataset
from dense.datasets.referring import RefCOCODataset, RefScenesDataset

DATASETS: dict[str, type] = {
    'seg_folder': SegFolderDataset,
    'seg_custom': CustomSegDataset,
    'scenes': ScenesDataset,
    'nyu_mmseg': NYUDepthMMSeg,
    'nyu_probe3d': NYUProbe3D,
    'navi': NAVIDataset,
    'coco_detection': CocoDetection,
    'scenes_detection': ScenesDetection,
    'refcoco': RefCOCODataset,
    'ref_scenes': RefScenesDataset,
}


def dataset_class(kind: str) -> type:
    """``DATASETS[kind]``, or ``'module.path:ClassName'``: a data set class in your own file (on the python path),
    so a new data set needs one file and no edit here (docs/usage.md)."""
    if isinstance(kind, str) and ':' in kind:
        import importlib
        module_name, _, class_name = kind.partition(':')
        try:
            return getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError) as err:
            raise KeyError(f'data set type {kind!r}: cannot import it ({err}); is its folder on PYTHONPATH?') from None
    if kind not in DATASETS:
        raise KeyError(f'unknown data set type {kind!r}; known: {sorted(DATASETS)}, or \'module:Class\'')
    return DATASETS[kind]


def build_dataset(cfg: dict):
    """Build ``DATASETS[cfg['type']]`` (or a ``'module:Class'`` type) with the remaining keys as options."""
    options = dict(cfg)
    kind = options.pop('type', None)
    cls = dataset_class(kind)
    unresolved = [k for k, v in options.items() if isinstance(v, str) and '{data_root}' in v]
    if unresolved:
        raise ValueError(f'{kind}: {unresolved[0]}={options[unresolved[0]]!r} still holds {{data_root}}; build data '
                         'sets of a config through probes.train.config.data_options(cfg, split)')
    return cls(**options)


__all__ = ['CustomSegDataset', 'DATASETS', 'LAYOUTS', 'NAVIDataset', 'NYUDepthMMSeg', 'NYUProbe3D', 'RefCOCODataset', 'RefScenesDataset',
           'SegFolderDataset', 'ScenesDataset', 'build_dataset', 'collate', 'dataset_class']
