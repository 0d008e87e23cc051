"""Data set table: ``DATASETS[type](**options)``; every data set yields samples of the training batch contract."""
from __future__ import annotations

from dense.datasets.common import collate
from dense.datasets.detection import CocoDetection, ScenesDetection
from dense.datasets.segmentation import LAYOUTS, SegFolderDataset
from dense.datasets.navi import NAVIDataset
from dense.datasets.nyu import NYUDepthMMSeg, NYUProbe3D
from dense.datasets.scenes import ScenesDataset
from dense.datasets.referring import RefCOCODataset, RefScenesDataset

DATASETS: dict[str, type] = {
    'seg_folder': SegFolderDataset,
    'scenes': ScenesDataset,
    'nyu_mmseg': NYUDepthMMSeg,
    'nyu_probe3d': NYUProbe3D,
    'navi': NAVIDataset,
    'coco_detection': CocoDetection,
    'scenes_detection': ScenesDetection,
    'refcoco': RefCOCODataset,
    'ref_scenes': RefScenesDataset,
}


def build_dataset(cfg: dict):
    """Build ``DATASETS[cfg['type']]`` with the remaining keys as options."""
    options = dict(cfg)
    kind = options.pop('type', None)
    if kind not in DATASETS:
        raise KeyError(f'unknown data set type {kind!r}; known: {sorted(DATASETS)}')
    unresolved = [k for k, v in options.items() if isinstance(v, str) and '{data_root}' in v]
    if unresolved:
        raise ValueError(f'{kind}: {unresolved[0]}={options[unresolved[0]]!r} still holds {{data_root}}; build data '
                         'sets of a config through probes.train.config.data_options(cfg, split)')
    return DATASETS[kind](**options)


__all__ = ['DATASETS', 'LAYOUTS', 'NAVIDataset', 'NYUDepthMMSeg', 'NYUProbe3D', 'RefCOCODataset', 'RefScenesDataset',
           'SegFolderDataset', 'ScenesDataset', 'build_dataset', 'collate']
