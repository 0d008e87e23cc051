"""Floor check for the embedded scenes: a linear per-patch probe must stay far from perfect on them.

Probe: scikit-learn ``LogisticRegression`` on standardized patch features, trained against each patch's majority
class; its patch predictions are upsampled (nearest, each patch to its p x p pixels) and scored at pixel level on
val with mIoU pooled over the split (per class IoU = TP / (TP + FP + FN), as mmseg's IoUMetric), averaged over
the classes present. Encoders: (a) ``PixelEncoder`` (raw patch pixels), (b) a random-init tiny SigLIP 2 encoder
(``build_encoder('tiny')``, last block).

Usage: ``python benchmarks/scene_floor.py [--train 200 --val 50 --size 224 --work-dir work_dirs/scene_floor]``;
writes ``metrics.json`` (config and numbers) and ``val_scenes.png`` to the work dir.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dense.baselines import PixelEncoder  # noqa: E402
from dense.io import write_json  # noqa: E402
from dense.encoders import build_encoder  # noqa: E402
from dense.scenes import CLASS_NAMES, SceneSet  # noqa: E402


def tiny_encoder():
    """The random-init tiny SigLIP 2 encoder (last block) and its description."""
    enc = build_encoder('tiny')
    last = enc.depth - 1
    return (lambda x: enc(enc.normalize(x), layers=(last,)).layers[last]), f'build_encoder("tiny"), block {last}'


def pixel_encoder():
    enc = PixelEncoder(16)
    return (lambda x: enc(enc.normalize(x)).layers[0]), 'PixelEncoder(p=16)'


def render(split: str, num: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    scenes = SceneSet(split, (size, size), num=num)
    items = [scenes[i] for i in tqdm(range(num), desc=f'render {split}')]
    return np.stack([s.image for s in items]), np.stack([s.semantic for s in items])


@torch.no_grad()
def features(encode, images: np.ndarray, batch: int = 16) -> np.ndarray:
    """Patch features (N * h * w, C) in row-major patch order."""
    out = []
    for start in range(0, len(images), batch):
        x = torch.from_numpy(images[start:start + batch]).permute(0, 3, 1, 2).float() / 255
        f = encode(x)
        out.append(f.permute(0, 2, 3, 1).reshape(-1, f.shape[1]).numpy())
    return np.concatenate(out)


def patch_majority(semantic: np.ndarray, p: int) -> np.ndarray:
    """Majority class of every p x p patch, (N * h * w,)."""
    n, height, width = semantic.shape
    patches = semantic[:, :height // p * p, :width // p * p].reshape(n, height // p, p, width // p, p)
    patches = patches.transpose(0, 1, 3, 2, 4).reshape(-1, p * p)
    counts = np.stack([(patches == k).sum(1) for k in range(len(CLASS_NAMES))], 1)
    return counts.argmax(1)


def upsample(patch_pred: np.ndarray, p: int) -> np.ndarray:
    """Nearest upsampling of patch predictions (N, h, w) to pixels (N, h*p, w*p)."""
    return np.repeat(np.repeat(patch_pred, p, 1), p, 2)


def miou(pred: np.ndarray, label: np.ndarray, num_classes: int) -> tuple[float, list[float]]:
    """Mean IoU over classes present in label or prediction; per-class IoU pooled over all pixels (nan if absent)."""
    ious = []
    for k in range(num_classes):
        union = np.sum((pred == k) | (label == k))
        ious.append(float(np.sum((pred == k) & (label == k)) / union) if union else float('nan'))
    return float(np.nanmean(ious)), ious


def probe(encode, train, val, p: int = 16) -> dict:
    """Fit the linear patch probe on train scenes and score pixel mIoU on val."""
    x_train, y_train = features(encode, train[0]), patch_majority(train[1], p)
    scaler = StandardScaler().fit(x_train)
    clf = LogisticRegression(max_iter=300, C=1.0).fit(scaler.transform(x_train), y_train)
    images, semantic = val
    n, height, width = semantic.shape
    h, w = height // p, width // p
    patch_pred = clf.predict(scaler.transform(features(encode, images))).reshape(n, h, w)
    m, ious = miou(upsample(patch_pred, p), semantic[:, :h * p, :w * p], len(CLASS_NAMES))
    return {'mIoU': m, 'IoU': dict(zip(CLASS_NAMES, ious)),
            'train_patch_acc': float(clf.score(scaler.transform(x_train), y_train))}


def save_figure(split: str, size: int, path: Path, num: int = 4) -> None:
    """Image, semantic classes, depth and normals of the first ``num`` scenes of ``split``."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(num, 4, figsize=(10, 2.5 * num), squeeze=False)
    for row, scene in zip(axes, SceneSet(split, (size, size), num=num)):
        panels = (scene.image, scene.semantic, scene.depth, (scene.normals + 1) / 2)
        for ax, panel, title in zip(row, panels, ('image', 'class', 'depth (m)', 'normals')):
            im = ax.imshow(panel, cmap='tab10' if title == 'class' else 'viridis', interpolation='nearest',
                           **({'vmin': 0, 'vmax': 9} if title == 'class' else {}))
            ax.set_title(f'{title} #{scene.seed}', fontsize=8)
            ax.axis('off')
            if title == 'depth (m)':
                fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--train', type=int, default=200)
    parser.add_argument('--val', type=int, default=50)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--work-dir', default='work_dirs/scene_floor')
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    train, val = render('train', args.train, args.size), render('val', args.val, args.size)
    all_ground = miou(np.zeros_like(val[1]), val[1], len(CLASS_NAMES))[0]
    ceiling = miou(upsample(patch_majority(val[1], 16).reshape(len(val[1]), -1, args.size // 16), 16),
                   val[1], len(CLASS_NAMES))[0]
    results = {'config': vars(args), 'metrics': {'all_ground_mIoU': all_ground, 'patch_oracle_mIoU': ceiling}}
    print(f'predict-ground-everywhere mIoU: {all_ground:.3f}; true patch majority upsampled (ceiling): {ceiling:.3f}')
    for key, (encode, name) in (('pixels', pixel_encoder()), ('tiny_random', tiny_encoder())):
        start = time.time()
        results['metrics'][key] = dict(probe(encode, train, val), encoder=name, seconds=time.time() - start)
        r = results['metrics'][key]
        print(f'{key:12s} mIoU {r["mIoU"]:.3f} (train patch acc {r["train_patch_acc"]:.3f}) [{name}] '
              + ' '.join(f'{c}={v:.2f}' for c, v in r['IoU'].items()))
    os.makedirs(args.work_dir, exist_ok=True)
    save_figure('val', args.size, Path(args.work_dir) / 'val_scenes.png')
    write_json(Path(args.work_dir) / 'metrics.json', results)
    return 0


if __name__ == '__main__':
    sys.exit(main())
