"""Every segmentation data set in its published layout: tiny fixtures, parsing, two training steps, bad input."""

import numpy as np
import pytest
import torch
from PIL import Image

from dense.datasets import SegFolderDataset, build_dataset
from dense.datasets.fixtures import SIZE, write_fixture, write_image
from probes.train import run_training

H, W = SIZE
RNG = np.random.default_rng(0)
NUM_CLASSES = {'ade20k': 150, 'voc': 21, 'pascal_context59': 59, 'coco_stuff': 171, 'cityscapes': 19}



def _config(kind, root, work_dir, num_classes, **train_opts):
    data = dict(type='seg_folder', kind=kind, data_root=str(root))
    return dict(encoder=dict(name='test'), tasks=dict(seg=dict(num_classes=num_classes)),
                probes=[dict(task='seg', heads=['linear', 'bn_linear'], layers=[[-1]], lrs=[1e-3])],
                data=dict(train=dict(data, split='train', augment=dict(crop_size=(32, 32), scale_range=(0.5, 1.5),
                                                                       flip=True), **train_opts),
                          val=dict(data, split='val')),
                train_batch_size=2, schedule=dict(max_iters=2, checkpoint_interval=2), work_dir=str(work_dir))


@pytest.mark.parametrize('kind', sorted(NUM_CLASSES))
def test_layout_parses_and_trains_two_steps(kind, tmp_path):
    num_classes = NUM_CLASSES[kind]
    write_fixture(kind, tmp_path / 'data')
    ds = SegFolderDataset(kind, str(tmp_path / 'data'), 'train')
    assert len(ds) == 2 and ds.num_classes == num_classes
    sample = ds[0]
    assert sample['image'].dtype == torch.float32 and sample['image'].shape == (3, H, W)
    assert 0 <= sample['image'].min() and sample['image'].max() <= 1
    seg = sample['seg']
    assert seg.dtype == torch.int64 and seg.shape == (H, W)
    valid = seg[seg != 255]
    assert valid.numel() and valid.min() >= 0 and valid.max() < num_classes
    raw = np.asarray(Image.open(sample['meta']['seg_map_path']))
    if kind in ('ade20k', 'pascal_context59'):  # reduce_zero_label: 0 -> ignore, c -> c - 1
        assert torch.equal(seg, torch.from_numpy(np.where(raw == 0, 255, raw.astype(np.int64) - 1)))
    else:
        assert torch.equal(seg, torch.from_numpy(raw.astype(np.int64)))
    results = run_training(_config(kind, tmp_path / 'data', tmp_path / 'run', num_classes))
    assert np.isfinite(results['metrics']['val']['seg/linear_l3_lr1e-3/mIoU'])
    assert (tmp_path / 'run' / 'metrics.json').is_file()


def test_voc_with_sbd_adds_augmented_images(tmp_path):
    write_fixture('voc', tmp_path, sbd=True)
    plain = SegFolderDataset('voc', str(tmp_path), 'train')
    augmented = SegFolderDataset('voc', str(tmp_path), 'train', sbd=True)
    assert len(plain) == 2 and len(augmented) == 3
    assert augmented.data_list[-1]['seg_map_path'].endswith('SegmentationClassAug/2008_000001.png')
    assert (augmented[1]['seg'] == 255).any()  # VOC boundary pixels stay ignored


def test_eval_image_resize_keeps_label_size(tmp_path):
    write_fixture('ade20k', tmp_path)
    sample = SegFolderDataset('ade20k', str(tmp_path), 'val', image_resize=32)[0]
    assert sample['image'].shape[-2:] == (32, 43) and sample['seg'].shape == (H, W)


def test_label_out_of_range_names_the_file(tmp_path):
    write_fixture('ade20k', tmp_path)
    bad = tmp_path / 'annotations/training/ADE_train_00000001.png'
    label = np.asarray(Image.open(bad)).copy()
    label[0, 0] = 200
    Image.fromarray(label).save(bad)
    ds = SegFolderDataset('ade20k', str(tmp_path), 'train')
    with pytest.raises(ValueError, match=r'ADE_train_00000001\.png.*\[199\] outside \[0, 150\)'):
        ds[1]


def test_size_mismatch_names_the_file(tmp_path):
    write_fixture('cityscapes', tmp_path)
    write_image(tmp_path / 'leftImg8bit/train/aachen/aachen_000000_000019_leftImg8bit.png', RNG, size=(H, W + 16))
    ds = SegFolderDataset('cityscapes', str(tmp_path), 'train')
    with pytest.raises(ValueError, match=r'aachen_000000_000019_gtFine_labelTrainIds\.png: label size'):
        ds[0]


def test_missing_split_file_names_it(tmp_path):
    write_fixture('voc', tmp_path)
    (tmp_path / 'ImageSets/Segmentation/val.txt').unlink()
    with pytest.raises(FileNotFoundError, match=r'ImageSets/Segmentation/val\.txt: split file not found'):
        SegFolderDataset('voc', str(tmp_path), 'val')


def test_empty_data_set_and_missing_dirs(tmp_path):
    (tmp_path / 'images/training').mkdir(parents=True)
    (tmp_path / 'annotations/training').mkdir(parents=True)
    with pytest.raises(ValueError, match=f'{tmp_path}: the ade20k train split has no images'):
        SegFolderDataset('ade20k', str(tmp_path), 'train')
    with pytest.raises(FileNotFoundError, match='images/validation: directory not found'):
        build_dataset(dict(type='seg_folder', kind='ade20k', data_root=str(tmp_path), split='val'))


def test_bad_label_stops_training_before_any_result_is_written(tmp_path):
    write_fixture('coco_stuff', tmp_path / 'data')
    for path in (tmp_path / 'data/annotations/train2017').glob('*.png'):
        Image.fromarray(np.full((H, W), 200, np.uint8)).save(path)
    with pytest.raises(ValueError, match='labelTrainIds.png: label values'):
        run_training(_config('coco_stuff', tmp_path / 'data', tmp_path / 'run', 171))
    assert not (tmp_path / 'run' / 'metrics.json').exists()
    assert not list((tmp_path / 'run').glob('*.pth'))


@pytest.mark.parametrize('kind', ['ade20k', 'voc'])
def test_relative_data_root_as_in_the_configs(kind, tmp_path, monkeypatch):
    write_fixture(kind, tmp_path / 'data' / kind)
    monkeypatch.chdir(tmp_path)
    relative = SegFolderDataset(kind, f'data/{kind}', split='train')
    absolute = SegFolderDataset(kind, str(tmp_path / 'data' / kind), split='train')
    assert len(relative) == len(absolute) > 0
    assert torch.equal(relative[0]['seg'], absolute[0]['seg'])
