"""Hummingbird kNN segmentation: bank, quota sampler, exact / approximate search, label transfer, Hungarian mIoU,
runs."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from dense.datasets.fixtures import write_fixture
from dense.encoders import build_encoder
from probes.evaluations import run_evaluation
from probes.evaluations.knn import KNNSegmentation
from probes.evaluations.knn_bank import (IVFIndex, MemoryBank, patch_histograms, quota_indices, search_exact,
                                         transfer_labels)
from probes.metrics.hungarian import confusion_matrix, hungarian_metrics
from probes.metrics.segmentation import SegEvaluator


def _bank(tmp_path, rows=57, dim=8, classes=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    keys = torch.randn(rows, dim, generator=g)
    hists = torch.rand(rows, classes, generator=g)
    hists = hists / hists.sum(1, keepdim=True)
    bank = MemoryBank(tmp_path / 'bank', dim, classes, capacity=rows)
    bank.add(keys[:20], hists[:20])
    bank.add(keys[20:], hists[20:])
    return bank, keys, hists


def test_bank_stores_normalised_fp16_rows(tmp_path):
    bank, keys, hists = _bank(tmp_path)
    stored = np.fromfile(bank.keys_path, dtype=np.float16).reshape(-1, 8).astype(np.float64)
    expected = keys.double().numpy() / np.linalg.norm(keys.double().numpy(), axis=1, keepdims=True)
    np.testing.assert_allclose(stored, expected, atol=1e-3)
    assert bank.size == 57 and bank.keys_path.stat().st_size == 57 * 8 * 2
    with pytest.raises(ValueError, match='exceed the budget'):
        bank.add(keys[:1], hists[:1])


@pytest.mark.parametrize('backend', ['exact', 'torch'])
def test_exact_search_equals_brute_force(tmp_path, backend):
    bank, _, _ = _bank(tmp_path)
    stored = np.fromfile(bank.keys_path, dtype=np.float16).reshape(-1, 8).astype(np.float64)
    queries = torch.nn.functional.normalize(torch.randn(13, 8), dim=1)
    sims, idx = search_exact(bank, queries, k=5, chunk_rows=7, backend=backend)  # 9 chunks to merge
    brute = queries.double().numpy() @ stored.T
    order = np.argsort(-brute, axis=1)[:, :5]
    np.testing.assert_array_equal(idx.numpy(), order)
    np.testing.assert_allclose(sims.numpy(), np.take_along_axis(brute, order, 1), atol=1e-5)


def test_ivf_probing_every_list_is_exact(tmp_path):
    bank, _, _ = _bank(tmp_path, rows=400)
    queries = torch.nn.functional.normalize(torch.randn(6, 8), dim=1)
    index = IVFIndex(bank, nlist=4, nprobe=4, chunk_rows=100)
    _, idx = index.search(queries, 5)
    _, exact = search_exact(bank, queries, 5)
    np.testing.assert_array_equal(idx.numpy(), exact.numpy())


def test_label_transfer_equals_independent_computation(tmp_path):
    bank, _, _ = _bank(tmp_path)
    stored = np.fromfile(bank.keys_path, dtype=np.float16).reshape(-1, 8).astype(np.float64)
    labels = np.fromfile(bank.labels_path, dtype=np.float16).reshape(-1, 4).astype(np.float64)
    queries = torch.nn.functional.normalize(torch.randn(11, 8), dim=1)
    sims, idx = search_exact(bank, queries, k=30, chunk_rows=16)
    out = transfer_labels(bank, sims, idx, temperature=0.02, chunk_rows=16).double().numpy()
    for q, query in enumerate(queries.double().numpy()):
        dots = stored @ query
        nearest = np.argsort(-dots)[:30]
        weights = np.exp((dots[nearest] - dots[nearest].max()) / 0.02)
        weights /= weights.sum()
        np.testing.assert_allclose(out[q], weights @ labels[nearest], atol=1e-4)


def test_patch_histograms_and_quota_match_loops():
    seg = torch.tensor([[0, 0, 1, 1], [0, 255, 1, 2], [3, 3, 255, 255], [3, 0, 255, 255]])[None]
    hist = patch_histograms(seg, (2, 2), 4)[0]
    for p, (r, c) in enumerate([(0, 0), (0, 2), (2, 0), (2, 2)]):
        block = seg[0, r:r + 2, c:c + 2].flatten()
        block = block[block != 255]
        want = torch.bincount(block, minlength=4).float() / max(len(block), 1)
        torch.testing.assert_close(hist[p], want)
    # scores by hand: classes per patch {0}, {1,2}, {0,3}, {}; patches containing each class: 0:2, 1:1, 2:1, 3:1
    noise = torch.rand(4, generator=torch.Generator().manual_seed(3))
    scores = torch.tensor([2.0, 2.0, 3.0, float('inf')]) * noise
    keep = quota_indices(hist, 2, torch.Generator().manual_seed(3))
    assert sorted(keep.tolist()) == sorted(torch.topk(scores, 2, largest=False).indices.tolist())
    assert len(quota_indices(hist, 10, torch.Generator())) == 3  # the unlabelled patch is never kept


def test_quota_keeps_the_budget(tmp_path):
    enc = build_encoder('test')
    scenes = dict(type='scenes', size=(64, 64), num=5)
    knn = KNNSegmentation(enc, tmp_path, train=dict(scenes, split='train'), val=dict(scenes, split='val'),
                          input_size=64, memory_size=30, augmentation_epochs=2, k=5, batch_size=5)
    assert knn.quota(5) == 3  # max(1, 30 // (5 * 2))
    from dense.datasets import build_dataset
    from dense.extract import FeatureExtractor
    bank = knn.build_bank(FeatureExtractor(enc, progress=False), build_dataset(knn.train))
    assert bank.size <= 30 and bank.capacity == 30
    bank.remove()


def test_hungarian_recovers_permuted_ids_and_plain_matches_evaluator():
    g = torch.Generator().manual_seed(0)
    label = torch.randint(0, 4, (2, 16, 16), generator=g)
    label[0, 0] = 255
    perm = torch.tensor([2, 0, 3, 1])
    pred = perm[label.clamp(max=3)]
    confusion = sum(confusion_matrix(p, lab, 4) for p, lab in zip(pred, label))
    assert hungarian_metrics(confusion)['mIoU'] == pytest.approx(100.0)
    evaluator = SegEvaluator(4)
    evaluator.process(pred, {'seg': label})
    assert evaluator.compute()['mIoU'] == 0.0  # every id is swapped (a derangement): plain mIoU sees the bug
    areas = evaluator.areas
    assert torch.equal(confusion.diagonal().double(), areas[0])  # same pixels as the mmseg-based evaluator


def test_scenes_run_writes_metrics_and_figures(tmp_path):
    cfg = dict(encoder=dict(name='test', weights=None), work_dir=str(tmp_path),
               evaluation=dict(type='knn', name='scenes', input_size=64, memory_size=512, k=10, batch_size=8,
                               num_figures=1, train=dict(type='scenes', split='train', size=(64, 64), num=8),
                               val=dict(type='scenes', split='val', size=(64, 64), num=3)))
    results = run_evaluation(cfg, kind='knn')
    metrics = json.loads((tmp_path / 'metrics.json').read_text())['metrics']['test']
    assert metrics['scenes/mIoU'] == results['metrics']['test']['scenes/mIoU']
    assert 0 <= metrics['scenes/mIoU'] <= 100 and 0 <= metrics['scenes/mIoU_hungarian'] <= 100
    assert metrics['scenes/memory_rows'] <= 512
    assert (tmp_path / 'figures' / 'knn_scenes_0.png').is_file()
    assert not (tmp_path / 'bank').exists()
    with pytest.raises(ValueError, match="not 'correspond'|is 'knn'"):
        run_evaluation(cfg, kind='correspond')


def _blank_label(path):
    img = Image.new('P', Image.open(path).size, 255)
    img.putpalette(Image.open(path).getpalette())
    img.save(path)


def test_val_image_without_labels_is_skipped_then_refused(tmp_path):
    root = write_fixture('voc', tmp_path / 'voc', num=3)
    voc = dict(type='seg_folder', kind='voc', data_root=str(root))
    _blank_label(root / 'SegmentationClass' / '2007_000002.png')  # the last one: the others still scored
    knn = KNNSegmentation(build_encoder('test'), tmp_path / 'run', train=dict(voc, split='train'),
                          val=dict(voc, split='val'), name='voc', input_size=64, memory_size=None, k=5,
                          num_figures=0)
    metrics = knn.run()
    assert metrics['voc/skipped_val_images'] == 1.0 and metrics['voc/val_images'] == 2.0
    assert np.isfinite(metrics['voc/mIoU'])
    for name in ('2007_000000', '2007_000001'):
        _blank_label(root / 'SegmentationClass' / f'{name}.png')
    knn.train = dict(voc, split='train', sbd=False)
    with pytest.raises(ValueError, match='labelled'):
        knn.run()


def test_ivf_search_block_layer_and_input_size_scoring(tmp_path):
    scenes = dict(type='scenes', size=(64, 64))
    knn = KNNSegmentation(build_encoder('test'), tmp_path, train=dict(scenes, split='train', num=6),
                          val=dict(scenes, split='val', num=2), input_size=64, memory_size=None, k=5,
                          search='ivf', nlist=2, nprobe=2, layer=-2, eval_size='input', num_figures=1)
    metrics = knn.run()
    assert metrics['scenes/memory_rows'] == 6 * 16 and np.isfinite(metrics['scenes/mIoU'])
    with pytest.raises(ValueError, match='search must be one of'):
        KNNSegmentation(build_encoder('test'), tmp_path, train=scenes, val=scenes, search='scann')
