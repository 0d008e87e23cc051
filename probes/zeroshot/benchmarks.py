"""Zero-shot segmentation benchmarks as SCLIP and NACLIP publish them: class queries, labels, test resolution.

From wangf3014/SCLIP and sinahmr/NACLIP ``configs/cfg_*.py`` and ``configs/cls_*.txt`` (identical in both):

- test pipeline ``Resize(scale=(2048, short), keep_ratio=True)``: short side 336, Cityscapes 560, COCO-Stuff 448;
- one line per class, comma-separated synonyms as separate queries, a class scored by its best query;
- VOC-21 / Context-60 / COCO-Object have a background class: VOC-21's is a list of 26 stuff words, Context-60's the
  word 'background'; a pixel whose best class probability is under ``prob_thd`` (0.1) becomes background;
- VOC-20 is VOC without background (label 0 ignored, ``reduce_zero_label``); Context-59 likewise; Context-60 reads
  the raw labels (0 = background);
- COCO-Object (1 background + 80 things) is derived from COCO-Stuff as the references' converter does
  (``datasets/cvt_coco_object.py``, from GroupViT): thing ids kept (+1), stuff and unlabelled -> background 0; here from
  the ``*_labelTrainIds.png`` of the ``coco_stuff`` layout (train ids 0-79 are the things, in the same order);
- ADE20K-150, COCO-Stuff-171 and Cityscapes-19 use mmseg's class names with spaces removed (``trafficlight``), as the
  references' ``cls_*.txt`` do; VOC names follow the references (``ship`` for boat, ``table``, ``pottedplant``).

The embedded scenes use their class names (``dense.scenes.CLASS_NAMES``: 'ground' and the five shapes) as queries.
"""
from __future__ import annotations

from dataclasses import dataclass

VOC_BACKGROUND = ('sky', 'wall', 'tree', 'wood', 'grass', 'road', 'sea', 'river', 'mountain', 'sands', 'desk', 'bed',
                  'building', 'cloud', 'lamp', 'door', 'window', 'wardrobe', 'ceiling', 'shelf', 'curtain', 'stair',
                  'floor', 'hill', 'rail', 'fence')
_PERSON = ('person', 'person in shirt', 'person in jeans', 'person in dress', 'person in sweater', 'person in skirt',
           'person in jacket')
_TV = ('television monitor', 'tv monitor', 'monitor', 'television', 'screen')
VOC20 = (('aeroplane',), ('bicycle',), ('bird',), ('ship',), ('bottle',), ('bus',), ('car',), ('cat',), ('chair',),
         ('cow',), ('table',), ('dog',), ('horse',), ('motorbike',), _PERSON, ('pottedplant',), ('sheep',), ('sofa',),
         ('train',), _TV)


@dataclass(frozen=True)
class Benchmark:
    """One zero-shot segmentation benchmark.

    Attributes:
        name: Metric prefix (``voc21``).
        layout: ``dense.datasets`` segmentation layout (``voc``, ``pascal_context59``, ...) or ``'scenes'``.
        label: ``'dataset'`` (the data set's labels), ``'voc20'`` (VOC without background), ``'raw'`` (the PNG's
            values, e.g. Context-60's 0 = background) or ``'coco_object'`` (COCO-Stuff train ids -> COCO-Object).
        short_side: Test images are resized to this short side (long side at most 2048); None keeps the size.
        background: Class 0 is background, predicted where no class reaches ``prob_thd``.
    """

    name: str
    layout: str
    label: str = 'dataset'
    short_side: int | None = 336
    background: bool = False


BENCHMARKS = {b.name: b for b in (
    Benchmark('voc21', 'voc', background=True),
    Benchmark('voc20', 'voc', label='voc20'),
    Benchmark('context60', 'pascal_context59', label='raw', background=True),
    Benchmark('context59', 'pascal_context59'),
    Benchmark('ade150', 'ade20k'),
    Benchmark('object81', 'coco_stuff', label='coco_object', background=True),
    Benchmark('stuff171', 'coco_stuff', short_side=448),
    Benchmark('city19', 'cityscapes', short_side=560),
    Benchmark('scenes', 'scenes', short_side=None),
)}


def _mmseg_classes(cls_name: str) -> tuple:
    from dense.mmcv_compat import import_mmseg
    import_mmseg()
    import mmseg.datasets as datasets
    return tuple(getattr(datasets, cls_name).METAINFO['classes'])


def class_queries(benchmark: Benchmark) -> tuple:
    """Per class, its queries (synonyms), in label order."""
    if benchmark.name == 'voc21':
        return (VOC_BACKGROUND, *VOC20)
    if benchmark.name == 'voc20':
        return VOC20
    if benchmark.name == 'object81':
        things = _mmseg_classes('COCOStuffDataset')[:80]
        return (VOC_BACKGROUND, (*_PERSON, 'body'), *((n,) for n in things[1:]))
    if benchmark.layout == 'scenes':
        from dense.scenes import CLASS_NAMES   # the scene captions call the ground 'floor'
        return tuple(('ground', 'floor') if n == 'ground' else (n,) for n in CLASS_NAMES)
    if benchmark.name.startswith('context'):
        names = _mmseg_classes('PascalContextDataset59')
        return tuple((n,) for n in (('background',) if benchmark.background else ()) + names)
    cls = {'ade20k': 'ADE20KDataset', 'coco_stuff': 'COCOStuffDataset', 'cityscapes': 'CityscapesDataset'}
    return tuple((n.replace(' ', ''),) for n in _mmseg_classes(cls[benchmark.layout]))


def get_benchmark(name: str) -> Benchmark:
    """A benchmark by name; KeyError listing the known ones."""
    if name not in BENCHMARKS:
        raise KeyError(f'unknown zero-shot benchmark {name!r}; known: {sorted(BENCHMARKS)}')
    return BENCHMARKS[name]
