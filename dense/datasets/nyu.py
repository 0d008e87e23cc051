"""NYUv2 depth (and normals) readers for the two layouts users have.

* ``NYUDepthMMSeg``: mmsegmentation's NYU layout (``mmseg.datasets.NYUDataset`` with
  ``configs/_base_/datasets/nyu.py``): ``<root>/images/{train,test}/*.jpg`` and
  ``<root>/annotations/{train,test}/<same stem>.png``, 16-bit PNGs in millimetres (mmseg's
  ``LoadDepthAnnotation(depth_rescale_factor=1e-3)``). Depth only.
* ``NYUProbe3D``: Probe3D's NYUv2 (``evals/datasets/nyu.py``). Test: the pickle written by Probe3D's
  ``data_processing/create_nyu_pkl.py`` (``depths`` [N, H, W] metres, ``images`` [N, 3, H, W] uint8, ``snorms``
  [N, 3, H, W] Ladicky normals, ``scene_types``, ``test_indices``). Train: the GeoNet directory of ``.mat``
  files with ``img`` (H x W x 3, stored minus twice the mean colour, which Probe3D adds back), ``depth`` and
  ``norm`` (H x W x 3); sorted file list, ``valid`` = every 20th file, ``train`` = the rest, ``trainval`` = all.
  Normals are valid where depth > 0 (Probe3D's mask). Probe3D also drops two corrupt files of the real GeoNet
  set by index; here unreadable files raise with their name instead.

Both crop to the central 480 x 480 window when ``center_crop=True`` (Probe3D's protocol; columns 80:560) and clip
depth beyond ``max_depth`` (10 m) to invalid, as Probe3D does.
"""
from __future__ import annotations

import os

import numpy as np
import scipy.io
from torch.utils.data import Dataset

from dense.datasets.common import augment
from dense.extract import load_image
from dense.io import read_image, restricted_unpickle
from dense.datasets.geo_common import (center_crop, clean_depth, clean_normals, early_color_jitter, finish_geo_sample,
                                       read_depth_png)

GEONET_MEAN_X2 = 2 * np.array([122.175, 116.169, 103.508])  # Probe3D adds this to GeoNet's stored image


def _finish(sample: dict, center: bool, size, augment_cfg: dict | None, image_size) -> dict:
    """Centre crop, resize everything (image bilinear, labels nearest), then training augmentation and / or the
    resize of the image alone (labels, and so the metrics, stay at their resolution)."""
    if center:
        # Probe3D's image_transform jitters the 480 x 640 frame; its 80:-80 crop comes after
        sample, augment_cfg = early_color_jitter(sample, augment_cfg)
        sample = center_crop(sample, 480, 480)
    if size is not None:
        sample = augment(sample, resize=tuple(size))
    return finish_geo_sample(sample, augment_cfg, image_size)


class NYUDepthMMSeg(Dataset):
    """NYUv2 depth in mmseg's layout.

    Args:
        root: data root holding ``images/`` and ``annotations/``.
        split: ``'train'`` or ``'test'`` (sub-folder names).
        center_crop: crop to the central 480 x 480 (Probe3D protocol).
        size: optional ``(H, W)`` to resize to after cropping.
        max_depth: deeper ground truth is invalid.
        depth_scale: PNG value per metre (1000: millimetres).
        augment: options of ``dense.datasets.common.augment`` for training (mmseg's NYU recipe: 480 x 480
            random crop and flip, configs/depth/_base_/nyu_mmseg.py).
        image_size: resize the image alone to this (int: shorter side), after any augmentation.
    """

    def __init__(self, root: str, split: str = 'train', center_crop: bool = True,
                 size: tuple[int, int] | None = None, max_depth: float = 10.0, depth_scale: float = 1000.0,
                 augment: dict | None = None, image_size=None):
        self.img_dir = os.path.join(root, 'images', split)
        self.ann_dir = os.path.join(root, 'annotations', split)
        if not os.path.isdir(self.img_dir):
            raise FileNotFoundError(f'{self.img_dir}: not found; mmseg NYU layout is <root>/images/{{train,test}}/'
                                    f'*.jpg + <root>/annotations/{{train,test}}/*.png')
        self.files = sorted(os.path.relpath(os.path.join(d, f), self.img_dir)
                            for d, _, fs in os.walk(self.img_dir) for f in fs if f.endswith('.jpg'))
        if not self.files:
            raise FileNotFoundError(f'{self.img_dir}: no .jpg images')
        self.center, self.size, self.max_depth, self.scale = center_crop, size, max_depth, depth_scale
        self.augment, self.image_size = augment, image_size

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> dict:
        name = self.files[index]
        img_path = os.path.join(self.img_dir, name)
        depth_path = os.path.join(self.ann_dir, name[:-len('.jpg')] + '.png')
        image = read_image(img_path)
        depth = read_depth_png(depth_path, self.scale)
        if depth.shape != image.shape[:2]:
            raise ValueError(f'{depth_path}: depth {depth.shape} and image {image.shape[:2]} sizes differ')
        sample = {'image': load_image(image), 'depth': clean_depth(depth, self.max_depth),
                  'meta': {'img_path': img_path, 'depth_path': depth_path, 'ori_shape': image.shape[:2]}}
        return _finish(sample, self.center, self.size, self.augment, self.image_size)


# the Probe3D NYU pickle holds numpy arrays in builtin containers, nothing else
PICKLE_ALLOWED = [('numpy', 'ndarray'), ('numpy', 'dtype'), ('numpy.core.multiarray', '_reconstruct'),
                  ('numpy._core.multiarray', '_reconstruct'), ('numpy.core.multiarray', 'scalar'),
                  ('numpy._core.multiarray', 'scalar'), ('builtins', 'list'), ('builtins', 'dict')]


def _load_pickle(path: str) -> dict:
    data = restricted_unpickle(path, PICKLE_ALLOWED)
    missing = {'depths', 'images', 'snorms', 'test_indices'} - set(data)
    if missing:
        raise KeyError(f'{path}: Probe3D NYU pickle lacks {sorted(missing)}; write it with Probe3D\'s '
                       f'data_processing/create_nyu_pkl.py')
    return data


class NYUProbe3D(Dataset):
    """NYUv2 with depth and surface normals in Probe3D's layout.

    Args:
        path: the test pickle (split ``'test'``) or the GeoNet ``.mat`` directory (other splits).
        split: ``'train'``, ``'valid'``, ``'trainval'`` (GeoNet) or ``'test'`` (labelled set, Ladicky normals).
        center_crop: crop to the central 480 x 480 (Probe3D protocol).
        size: optional ``(H, W)`` to resize to after cropping.
        max_depth: deeper ground truth is invalid (Probe3D: 10 m).
        augment: options of ``dense.datasets.common.augment`` for training (Probe3D: ``color_jitter`` and
            ``random_resized_crop``, see configs/*/_base_/nyu_probe3d.py).
        image_size: resize the image alone to this (int: shorter side), after any augmentation.
    """

    def __init__(self, path: str, split: str = 'test', center_crop: bool = True,
                 size: tuple[int, int] | None = None, max_depth: float = 10.0, augment: dict | None = None,
                 image_size=None):
        if split not in ('train', 'valid', 'trainval', 'test'):
            raise ValueError(f"{path}: split must be train / valid / trainval / test, got {split!r}")
        self.path, self.split, self.center, self.size, self.max_depth = path, split, center_crop, size, max_depth
        self.augment, self.image_size = augment, image_size
        if split == 'test':
            self.data = _load_pickle(path)
            self.items = [int(i) for i in np.asarray(self.data['test_indices']).ravel()]
        else:
            if not os.path.isdir(path):
                raise FileNotFoundError(f'{path}: GeoNet NYU directory of .mat files not found')
            files = sorted(f for f in os.listdir(path) if f.endswith('.mat'))
            keep = {'train': lambda i: i % 20 != 0, 'valid': lambda i: i % 20 == 0, 'trainval': lambda i: True}
            self.items = [f for i, f in enumerate(files) if keep[split](i)]
        if not self.items:
            raise FileNotFoundError(f'{path}: no {split} samples')

    def __len__(self) -> int:
        return len(self.items)

    def _read_test(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
        i = self.items[index]
        image = np.transpose(np.asarray(self.data['images'][i]), (1, 2, 0)).astype(np.uint8)
        return image, np.asarray(self.data['depths'][i]), np.asarray(self.data['snorms'][i]), f'{self.path}#{i}'

    def _read_geonet(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
        file = os.path.join(self.path, self.items[index])
        try:
            mat = scipy.io.loadmat(file)
        except Exception as err:  # scipy raises several types for corrupt files
            raise ValueError(f'{file}: unreadable GeoNet .mat ({err})') from err
        missing = {'img', 'depth', 'norm'} - set(mat)
        if missing:
            raise KeyError(f'{file}: GeoNet .mat lacks {sorted(missing)}')
        image = np.clip(mat['img'][:480, :640] + GEONET_MEAN_X2, 0, 255).astype(np.uint8)
        normals = np.transpose(mat['norm'][:480, :640], (2, 0, 1))
        return image, mat['depth'][:480, :640], normals, file

    def __getitem__(self, index: int) -> dict:
        image, depth, normals, source = (self._read_test if self.split == 'test' else self._read_geonet)(index)
        if depth.shape != image.shape[:2] or normals.shape[1:] != depth.shape:
            raise ValueError(f'{source}: image {image.shape[:2]}, depth {depth.shape} and normals '
                             f'{normals.shape[1:]} sizes differ')
        depth_t = clean_depth(depth, self.max_depth)
        sample = {'image': load_image(image), 'depth': depth_t, 'normals': clean_normals(normals, depth_t, source),
                  'meta': {'img_path': source, 'ori_shape': image.shape[:2]}}
        return _finish(sample, self.center, self.size, self.augment, self.image_size)
