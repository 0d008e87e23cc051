"""Dense correspondence as a training-free evaluation (Probe3D, El Banani et al., CVPR 2024): ``type='correspond'``.

Two kinds of data, one evaluation (``sprobe correspond CONFIG``):

- geometric pairs (``scene_pairs``, ``navi_pairs``, ``scannet_pairs``): samples ``{'image_0', 'image_1'
  (float [3, H, W] in [0, 1]), 'xyz_0', 'xyz_1' ([3, H, W] camera-frame points, z = 0 invalid), 'K' ([3, 3] at
  H x W), 'Rt_01' ([3, 4], camera 0 -> camera 1), 'angle' (degrees), 'meta'}``, scored with
  :mod:`probes.metrics.correspondence` under a protocol of :data:`PROTOCOLS`;
- keypoint pairs (``spair``): ``{'image_0', 'image_1', 'kps_0', 'kps_1' ([n, 2] pixels), 'scale' (box side over
  image side), 'category', 'vp' (viewpoint-variation 0/1/2), 'meta'}``, scored by PCK@``alpha`` per category and
  overall (the mean over categories, as Probe3D's ``evaluate_spair_correspondence.py``).

Features are the encoder's final tokens (``layer=`` picks a block) of each image at its own size, through the
encoder's own preprocessing; an image shared by several pairs is encoded once (``meta['key_0'/'key_1']``).
"""
from __future__ import annotations

import importlib
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from probes.metrics import correspondence as corr

PAIR_DATA = {'scene_pairs': 'dense.scenes.pairs:ScenePairs', 'navi_pairs': 'dense.datasets.pairs:NAVIPairs',
             'scannet_pairs': 'dense.datasets.pairs:ScanNetPairs', 'spair': 'dense.datasets.pairs:SPairPairs'}
# Probe3D settings: configs/{navi,scannet}_correspondence.yaml and evaluate_{navi,scannet}_correspondence.py
PROTOCOLS = {
    'navi': dict(scale_factor=0.25, num_corr=1000, upsample='bicubic', error_scale=1.0,
                 thresholds_3d=(0.01, 0.02, 0.05), thresholds_px=(5, 25, 50), bins=(0, 30, 60, 90, 120),
                 bin_metric='3d', bin_threshold=0.02),
    'scannet': dict(scale_factor=0.25, num_corr=1000, upsample='bilinear', error_scale=0.25, thresholds_3d=(),
                    thresholds_px=(5, 10, 20), bins=(0, 15, 30, 60, 180), bin_metric='px', bin_threshold=10),
    # ours: the scenes are metres-scale, so pixel thresholds at full resolution; bins up to the orbit's 60 degrees;
    # `wide_from`: also the mean recall of the pairs at or beyond that angle (Probe3D's NAVI bins start at 0-30: the
    # first bin is the narrow one), and `blind`: the same scores for a matcher that sees no image (position code
    # only), the floor a feature must beat (on 64 px scenes it beats every encoder below 30 degrees)
    'scenes': dict(scale_factor=0.25, num_corr=1000, upsample='bicubic', error_scale=1.0, thresholds_3d=(),
                   thresholds_px=(5, 10, 20), bins=(0, 15, 30, 45, 60), bin_metric='px', bin_threshold=10,
                   wide_from=30, blind=True),
    'spair': dict(alpha=0.1),
}


def build_pairs(cfg: dict):
    """The pair data set ``PAIR_DATA[cfg['type']](**rest)``."""
    options = dict(cfg)
    kind = options.pop('type', None)
    if kind not in PAIR_DATA:
        raise KeyError(f'unknown pair data set {kind!r}; known: {sorted(PAIR_DATA)}')
    module, name = PAIR_DATA[kind].split(':')
    return getattr(importlib.import_module(module), name)(**options)


def _label(threshold: float, metric: str) -> str:
    return f'{threshold * 100:g}cm' if metric == '3d' else f'{threshold:g}px'


class Correspondence:
    """Geometric or keypoint correspondence of one data set.

    Args:
        encoder: Frozen image encoder.
        work_dir: Run directory (figures under ``figures/``).
        cfg: The run's config (unused beyond the registry contract).
        data: Pair data set config (``type`` in :data:`PAIR_DATA`).
        protocol: Key of :data:`PROTOCOLS` (settings); any setting can be overridden by keyword.
        name: Metric prefix.
        layer: Block whose output is the feature (None: the final tokens).
        device: Where the encoder runs and the matching similarities are computed.
        num_figures: Pairs drawn.
        cache_size: Images whose features are kept for reuse by later pairs.
    """

    def __init__(self, encoder, work_dir, cfg=None, data: dict | None = None, protocol: str = 'scenes',
                 name: str | None = None, layer: int | None = None, device: str = 'cpu', num_figures: int = 3,
                 cache_size: int = 256, **overrides):
        if data is None:
            raise ValueError("correspond evaluation: give `data=dict(type=...)`, e.g. type='scene_pairs'")
        if protocol not in PROTOCOLS:
            raise ValueError(f'correspond evaluation: unknown protocol {protocol!r}; known: {sorted(PROTOCOLS)}')
        unknown = set(overrides) - set(PROTOCOLS[protocol])
        if unknown:
            raise ValueError(f'correspond evaluation: unknown options {sorted(unknown)} for protocol {protocol!r}')
        self.encoder, self.work_dir, self.data = encoder, Path(work_dir), dict(data)
        self.protocol, self.name = protocol, name or protocol
        self.settings = dict(PROTOCOLS[protocol], **overrides)
        self.layer, self.device, self.num_figures = layer, device, int(num_figures)
        self.cache, self.cache_size = OrderedDict(), int(cache_size)
        self._fx = None

    def run(self) -> dict[str, float]:
        """Score every pair; flat metrics ``{name}/...``."""
        pairs = build_pairs(self.data)
        if self.protocol == 'spair':
            return self.keypoints(pairs)
        return self.geometric(pairs)

    def features(self, image: torch.Tensor, key: str | None) -> torch.Tensor:
        """``[C, h, w]`` features of one image (float [3, H, W] in [0, 1]), from the cache when seen before."""
        if key is not None and key in self.cache:
            self.cache.move_to_end(key)
            return self.cache[key]
        if self._fx is None:
            from dense.extract import FeatureExtractor
            self._fx = FeatureExtractor(self.encoder, layers=None if self.layer is None else [self.layer],
                                        device=self.device, progress=False)
        out = self._fx.forward_batch(image[None])
        if self.layer is None:
            h, w = image.shape[-2] // self.encoder.patch_size, image.shape[-1] // self.encoder.patch_size
            feat = out.tokens[0].float().T.reshape(-1, h, w).cpu()
        else:
            feat = out.layers[self.layer % self.encoder.depth][0].float().cpu()
        if key is not None:
            self.cache[key] = feat
            if len(self.cache) > self.cache_size:
                self.cache.popitem(last=False)
        return feat

    def pair_features(self, pair: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """Features of both views (override to score other features, e.g. an oracle in the tests)."""
        meta = pair.get('meta', {})
        return (self.features(pair['image_0'], meta.get('key_0')),
                self.features(pair['image_1'], meta.get('key_1')))

    def blind_features(self, image: torch.Tensor) -> torch.Tensor:
        """A matcher that sees no image: DETR's 2-D sine position code on the encoder's patch grid, ``[64, h, w]``
        (the same for both views, so it matches each point to the same place in the other view)."""
        from probes.heads_ref import sine_position_2d
        h, w = image.shape[-2] // self.encoder.patch_size, image.shape[-1] // self.encoder.patch_size
        return sine_position_2d(h, w, 64).T.reshape(64, h, w)

    def geometric(self, pairs) -> dict[str, float]:
        """Probe3D's NAVI / ScanNet protocol (see :mod:`probes.metrics.correspondence`); with the setting
        ``blind``, the same metrics of :meth:`blind_features` too, under ``{name}/blind/...``."""
        out = self._geometric(pairs, self.pair_features, self.num_figures)
        if self.settings.get('blind'):
            blind = self._geometric(pairs, lambda p: (self.blind_features(p['image_0']),
                                                      self.blind_features(p['image_1'])), 0)
            prefix = f'{self.name}/'
            out.update({f'{self.name}/blind/{k[len(prefix):]}': v for k, v in blind.items()
                        if not k.endswith('pairs')})
        return out

    def _geometric(self, pairs, pair_features, num_figures: int) -> dict[str, float]:
        s = self.settings
        err_3d, err_2d, per_pair, angles, skipped = [], [], [], [], 0
        for i in tqdm(range(len(pairs)), desc=f'correspondence ({self.name})', unit='pair'):
            pair = pairs[i]
            grids = [F.interpolate(pair[k][None], scale_factor=s['scale_factor'], mode='nearest')[0]
                     for k in ('xyz_0', 'xyz_1')]
            if (grids[0][2] > 0).sum() < 1 or (grids[1][2] > 0).sum() < 2 or \
                    pair.get('meta', {}).get('visible_fraction', 1.0) == 0:
                skipped += 1  # no overlap to score: no valid point in a view, or no point seen by both
                continue
            matches = corr.geometric_matches(*pair_features(pair), *grids, s['num_corr'], s['upsample'],
                                             self.device)
            K = pair['K'].clone().double()
            K[:2] *= s['error_scale']
            e3, e2 = corr.geometric_errors(matches, pair['Rt_01'], K)
            good = (e3 if s['bin_metric'] == '3d' else e2) < s['bin_threshold']
            err_3d.append(e3), err_2d.append(e2), per_pair.append(good.float().mean()), angles.append(pair['angle'])
            if i < num_figures:
                self._draw_pair(i, pair, matches, good)
        if not per_pair:
            raise ValueError(f'correspond evaluation ({self.name}): all {len(pairs)} pairs were skipped (no valid '
                             'points shared by the two views); check the depth / pose files')
        err_3d, err_2d = torch.cat(err_3d), torch.cat(err_2d)
        out = {f'{self.name}/recall@{_label(t, "3d")}': corr.recall(err_3d, t) for t in s['thresholds_3d']}
        out.update({f'{self.name}/recall@{_label(t, "px")}': corr.recall(err_2d, t) for t in s['thresholds_px']})
        label = _label(s['bin_threshold'], s['bin_metric'])
        binned = corr.binned_recall(torch.stack(per_pair), torch.tensor(angles), s['bins'])
        out.update({f'{self.name}/recall@{label}_{b}': v for b, v in binned.items()})
        if s.get('wide_from') is not None:
            keep = torch.tensor(angles) >= s['wide_from']
            if keep.any():  # the mean per-pair recall of the wide pairs (no such pair: no key)
                out[f'{self.name}/recall@{label}_wide'] = 100.0 * float(torch.stack(per_pair)[keep].mean())
        out.update({f'{self.name}/pairs': float(len(per_pair)), f'{self.name}/skipped_pairs': float(skipped)})
        return out

    def keypoints(self, pairs) -> dict[str, float]:
        """Probe3D's SPair-71k protocol: PCK@alpha per category and viewpoint variation, category means."""
        alpha = self.settings['alpha']
        hits: dict[tuple[str, str], list] = {}
        for i in tqdm(range(len(pairs)), desc=f'keypoints ({self.name})', unit='pair'):
            pair = pairs[i]
            size = torch.tensor(pair['image_1'].shape[-2:][::-1], dtype=torch.float32)
            f0, f1 = self.pair_features(pair)
            pred = corr.keypoint_transfer(f0, f1, pair['kps_0'] / size)
            good = corr.pck(pred, pair['kps_1'] / size, pair['scale'], alpha)
            for vp in ('all', str(pair['vp'])):
                hits.setdefault((pair['category'], vp), []).append(good)
            if i < self.num_figures:
                self._draw(i, pair['image_0'], pair['image_1'], pair['kps_0'], pred * size, good,
                           f"{pair['category']} PCK@{alpha:g}")
        if not hits:
            raise ValueError(f'correspond evaluation ({self.name}): no keypoint pairs')
        pck = {key: 100.0 * float(torch.cat(v).float().mean()) for key, v in hits.items()}
        out = {f'{self.name}/pck@{alpha:g}.{cat}': v for (cat, vp), v in sorted(pck.items()) if vp == 'all'}
        for vp in ('all', '0', '1', '2'):
            values = [v for (_, b), v in pck.items() if b == vp]
            if values:
                suffix = '' if vp == 'all' else f'_vp{vp}'
                out[f'{self.name}/pck@{alpha:g}{suffix}'] = float(np.mean(values))
        out[f'{self.name}/pairs'] = float(len(pairs))
        return out

    def _draw_pair(self, i: int, pair: dict, matches: dict, good: torch.Tensor) -> None:
        scale = self.settings['scale_factor']
        self._draw(i, pair['image_0'], pair['image_1'], matches['uv0'] / scale, matches['uv1'] / scale, good,
                   f"{self.name} pair {i}, {pair['angle']:.0f}°")

    def _draw(self, i: int, image_0, image_1, uv_0, uv_1, good, title: str) -> None:
        from visualize._common import save_figure
        from visualize.matches import draw_matches

        def u8(x: torch.Tensor) -> np.ndarray:
            return (x * 255).round().byte().permute(1, 2, 0).numpy()
        save_figure(draw_matches(u8(image_0), u8(image_1), uv_0, uv_1, good, title),
                    self.work_dir / 'figures' / f'correspond_{self.name}_{i}.png')
