"""Protocol cards: one table per evaluation protocol, every row computed from a representative config's built
objects (probe grid, heads on the meta device, feature settings, data options, the runner's lr schedulers) and
paired with the reference file / function it follows. ``docs/protocols.md`` is this module's output::

    python -m probes.protocol_cards > docs/protocols.md

tests/test_protocols.py regenerates it (the file must match) and checks the rows against the references' values.
"""
from __future__ import annotations

import sys
import warnings

import torch

from probes.tasks import build_task
from probes.train.config import load_config
from probes.train.holdout import describe, selection
from probes.train.preprocess import feature_settings
from probes.train.spec import expand_grid

P3D = 'mbanani/probe3d'
TIPS = 'google-deepmind/tips'
DINO = 'DINOv2 mmseg 0.x config (dinov2_vitb14_ade20k_linear_config.py)'
CARDS = {
    'Probe3D': dict(
        configs=['configs/depth/nyu_linear-dpt_siglip2-b16-224_probe3d480.py',
                 'configs/normals/navi_linear-dpt_siglip2-so400m14-384_probe3d518.py'],
        refs=dict(layers=f'{P3D} evals/models/siglip.py: multilayers (n//4-1, n//2-1, n//4*3-1, n-1)',
                  norm=f'{P3D} evals/models/siglip.py: forward (raw blk(x) outputs)',
                  heads=f'{P3D} evals/models/probes.py: DPT, Linear; configs/probe/*_dpt.yaml',
                  input=f'{P3D} evals/datasets/nyu.py (80:-80 crop), navi.py + utils.py (box crop, compute_normal)',
                  padding=f'{P3D} evals/models/utils.py: center_padding; utils.py: get_*_transforms (ImageNet)',
                  augmentation=f'{P3D} evals/datasets/utils.py: get_nyu_transforms, get_navi_transforms',
                  optimiser=f'{P3D} train_depth.py / train_snorm.py: torch.optim.AdamW (default decay 0.01)',
                  lr=f'{P3D} configs/optimizer/ten_epoch.yaml: probe_lr 5e-4',
                  schedule=f'{P3D} evals/utils/optim.py: cosine_decay_linear_warmup via LambdaLR',
                  batch=f'{P3D} configs/*_training.yaml: batch_size 8; evals/datasets/builder.py (no shuffle)',
                  inference=f'{P3D} train_*.py: validate (interpolate align_corners=True)',
                  metrics=f'{P3D} evals/utils/metrics.py: evaluate_depth, evaluate_surface_norm (mask depth>0)')),
    'NYU-mmseg': dict(
        configs=['configs/depth/nyummseg_linear-dpt_siglip2-b16-224_mmseg480x640.py'],
        refs=dict(layers=f'{P3D} (probes)', norm=f'{P3D} (probes)', heads=f'{P3D} evals/models/probes.py',
                  input='mmseg configs/_base_/datasets/nyu.py: RandomCrop 480, test full frame',
                  padding=f'{P3D} evals/models/utils.py: center_padding',
                  augmentation='mmseg datasets/nyu.py: RandomFlip, RandomCrop (RandomDepthMix, Albu not reproduced)',
                  optimiser=f'{P3D} train_depth.py', lr=f'{P3D} ten_epoch.yaml', schedule=f'{P3D} evals/utils/optim.py',
                  batch='mmseg datasets/nyu.py: batch_size 8', inference='mmseg datasets/nyu.py: whole frame',
                  metrics="mmseg evaluation/metrics/depth_metric.py: DepthMetric(crop_type='nyu_crop')")),
    'SigLIP 2 / TIPS (depth, normals)': dict(
        configs=['configs/depth/nyu_linear-pool-dpt_siglip2-so400m14-384_siglip2paper384.py',
                 'configs/normals/navi_linear-pool-dpt_siglip2-b16-224_siglip2paper224.py'],
        refs=dict(layers=f'{TIPS} pytorch/TIPS_decoder_inference.ipynb: INTERMEDIATE_LAYERS_MAP',
                  norm=f'{TIPS} pytorch/image_encoder.py: get_intermediate_layers(norm=True)',
                  heads=f'{TIPS} pytorch/decoders.py: Decoder, DepthDecoder (relu + min_depth), NormalsDecoder (3)',
                  input='SigLIP 2 paper Sec. 3.3.1; HF / big_vision valid patch conv at 384 px',
                  padding='none (resize to the native size)', augmentation='not published: Probe3D data recipe',
                  optimiser='not published: Probe3D recipe', lr='not published: Probe3D recipe',
                  schedule='not published: Probe3D recipe', batch='not published: Probe3D recipe',
                  inference=f'{TIPS} pytorch/decoders.py: F.interpolate(align_corners=False)',
                  metrics=f'{P3D} evals/utils/metrics.py (the benchmarks TIPS reports)')),
    'SigLIP 2 / TIPS (segmentation)': dict(
        configs=['configs/seg/ade20k_linear-dpt_siglip2-so400m14-384.py'],
        refs=dict(layers=f'{TIPS} TIPS_decoder_inference.ipynb: INTERMEDIATE_LAYERS_MAP; linear: last block',
                  norm=f'{TIPS} pytorch/image_encoder.py: get_intermediate_layers(norm=True)',
                  heads=f'{TIPS} pytorch/decoders.py: SegmentationDecoder; SigLIP 2 Sec. 3.3.1 (MAP readout)',
                  input='mmseg configs/_base_/datasets/ade20k.py (scaled to the encoder resolution)',
                  padding='mmseg Pad(seg_pad_val=255) in the crop', augmentation=f'{DINO}: train_pipeline',
                  optimiser=f'{DINO}: optimizer',
                  lr='grid (not published); suite choice: held-out part of train (probes/train/holdout.py)',
                  schedule='not published: DINOv2 length and warm-up, cosine', batch=f'{DINO}: 2 x 8 GPUs',
                  inference=f'{DINO}: test_cfg slide', metrics='mmseg IoUMetric (pooled over the set)')),
    'Cityscapes (mmseg standard, SigLIP 2 / TIPS probes)': dict(
        configs=['configs/seg/cityscapes_linear-dpt_siglip2-b16-512.py'],
        refs=dict(layers=f'{TIPS} INTERMEDIATE_LAYERS_MAP', norm=f'{TIPS} get_intermediate_layers(norm=True)',
                  heads=f'{TIPS} pytorch/decoders.py: SegmentationDecoder', padding='mmseg Pad in the crop',
                  input="mmseg datasets/cityscapes.py: RandomResize(2048, 1024), test Resize(2048, 1024)",
                  augmentation='mmseg datasets/cityscapes.py: RandomCrop(512 x 1024, cat_max_ratio 0.75), flip, '
                               'PhotoMetricDistortion',
                  optimiser=f'{DINO}: optimizer', lr='grid; held-out part of train (probes/train/holdout.py)',
                  schedule='not published: DINOv2 length and warm-up, cosine', batch=f'{DINO}: 2 x 8 GPUs',
                  inference='mmseg Cityscapes test_cfg: slide crop 512 x 1024, stride 341 x 683',
                  metrics='mmseg IoUMetric (pooled over the set)')),
    'DINOv2 linear (lin)': dict(
        configs=['configs/seg/ade20k_bnlinear_siglip2-b16-512.py'],
        refs=dict(layers=f'{DINO}: BNHead in_index=[3] of out_indices',
                  norm='dinov2 get_intermediate_layers(norm=True)',
                  heads=f'{DINO}: BNHead (SyncBN + 1x1 conv)', input=f'{DINO}: Resize(img_scale=(99999999, 512))',
                  padding=f'{DINO}: Pad(size=crop, seg_pad_val=255)', augmentation=f'{DINO}: train_pipeline',
                  optimiser=f'{DINO}: optimizer AdamW', lr=f'{DINO}: lr=0.001 (fixed)',
                  schedule=f'{DINO}: lr_config poly + linear warm-up (mmcv PolyLrUpdaterHook)',
                  batch=f'{DINO}: samples_per_gpu 2 x 8 GPUs', inference=f'{DINO}: test_cfg slide 512 / 341',
                  metrics='mmseg IoUMetric (pooled over the set)')),
    'DINOv2 +ms': dict(
        configs=['configs/seg/ade20k_bnlinear4-ms_siglip2-b16-512.py'],
        refs=dict(layers='DINOv2 ms configs: BNHead on the last 4 blocks (resize_concat)',
                  norm='dinov2 get_intermediate_layers(norm=True)', heads='DINOv2 ms configs: BNHead',
                  input='DINOv2 ms configs: crop 640', padding='DINOv2 ms configs: Pad(seg_pad_val=255)',
                  augmentation='DINOv2 ms configs: ratio_range (1.0, 3.0)', optimiser=f'{DINO}: optimizer',
                  lr=f'{DINO}: lr=0.001', schedule=f'{DINO}: lr_config', batch=f'{DINO}: 2 x 8 GPUs',
                  inference='DINOv2 ms configs: MultiScaleFlipAug img_ratios [1.0, 1.32, 1.73, 2.28, 3.0], flip',
                  metrics='mmseg IoUMetric (pooled over the set)')),
}
NOTES = (
    "Probe3D's published SigLIP numbers used ImageNet mean / std: set `features.preprocess='probe3d'` to reproduce "
    "them; the default feeds SigLIP 2 its own [-1, 1] input (right for SigLIP 2).",
    'Probe3D jitters colours on the whole frame before its crops (NYU: 480 x 640 before 80:-80; NAVI: the resized '
    "frame before the centre crop) and NAVI's after Normalize, where torchvision clips the normalised values to "
    "[0, 1]; we do the same (`color_jitter.space='imagenet'`).",
    "RandomResizedCrop draws its window with torchvision's get_params (the algorithm albumentations follows); the "
    'random streams differ from albumentations.',
    "Probe3D lists NAVI objects, scenes and views in glob / os.listdir order (file-system dependent): "
    "`order='listdir'` repeats it on the same machine, the default sorts.",
    "Probe3D's compute_normal yields normals pointing away from the camera; we negate them (camera-facing, "
    'docs/CONTRACTS.md): angular errors are identical.',
    "NYU-mmseg: mmseg's RandomDepthMix and Albu colour pieces are not reproduced; mmseg has no frozen-probe recipe, so "
    "the probes and optimiser are Probe3D's.",
    'SigLIP 2 / TIPS: neither paper publishes the probe optimiser, schedule or augmentation; the cards say what is '
    'used instead. So400m/14-384 is fed 384 px with HF / big_vision weights (the valid patch conv drops the last 6 '
    'px, 378 seen); timm-format weights feed 378.',
    "DINOv2's segmentation configs are released beside its checkpoints (dl.fbaipublicfiles.com/dinov2), not in its "
    'repository; lin follows dinov2_vitb14_ade20k_linear_config.py, +ms its ms configs (crop 640, ratio range '
    '1.0-3.0, test ratios 1.0-3.0 with flip).',
    'Aggregation: Probe3D and mmseg DepthMetric average per image; mmseg IoUMetric pools pixels over the set.',
)
ROWS = ('layers', 'norm', 'heads', 'input', 'padding', 'augmentation', 'optimiser', 'lr', 'schedule', 'batch',
        'inference', 'metrics')
CARD_ITERS = (1000, 150)  # schedule rows of epoch-based configs: S = 1000 iterations, W = 150 (1.5 of 10 epochs)


def _variant(cfg):
    from dense.encoders import get_variant
    return get_variant(cfg.encoder['name'])


def _specs(cfg):
    v = _variant(cfg)
    n = v.depth
    default = tuple(sorted({max(n // 4 - 1, 0), n // 2 - 1, n // 4 * 3 - 1, n - 1}))
    grids = cfg.probes if isinstance(cfg.probes, (list, tuple)) else [cfg.probes]
    return [s for g in grids for s in expand_grid(dict(g), n, default)]


def head_params(cfg, spec) -> int:
    """Parameters of a probe's head at the config's encoder width (built on the meta device)."""
    width = _variant(cfg).width
    task = build_task(spec.task, **dict(cfg.tasks.get(spec.task) or {}))
    with torch.device('meta'):
        head = task.build_head(spec.head, [width] * len(spec.layers), width if spec.pooled else 0, **spec.head_opts)
    return sum(p.numel() for p in head.parameters())


def lr_factors(cfg) -> tuple[str, list[tuple[int, float]]]:
    """The schedule policy and its lr factors at iterations 0, W, (W + S) / 2 and S - 1, from the runner's
    schedulers (epoch-based configs with :data:`CARD_ITERS`)."""
    from mmengine.optim import OptimWrapper
    from mmengine.registry import PARAM_SCHEDULERS
    from probes.train.runner import _schedulers
    schedule = dict(cfg.schedule)
    if 'max_iters' not in schedule:
        schedule = dict({k: v for k, v in schedule.items() if k not in ('epochs', 'warmup_epochs')},
                        max_iters=CARD_ITERS[0], warmup_iters=CARD_ITERS[1])
    total, warm = schedule['max_iters'], schedule.get('warmup_iters', 0)
    wrapper = OptimWrapper(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0))
    scheds = [PARAM_SCHEDULERS.build(dict(c, optimizer=wrapper)) for c in _schedulers(schedule)]
    marks, out = {0, warm, (warm + total) // 2, total - 1}, []
    with warnings.catch_warnings():  # no optimiser steps here: only the lr values are read
        warnings.simplefilter('ignore', UserWarning)
        for step in range(total):
            if step in marks:
                out.append((step, wrapper.optimizer.param_groups[0]['lr']))
            for s in scheds:
                s.step()
    return schedule.get('policy', 'cosine'), out


def _fmt(value, top: bool = True) -> str:
    if isinstance(value, dict):
        inner = ', '.join(f'{k}={_fmt(v, False)}' for k, v in value.items())
        return inner if top else f'dict({inner})'
    if isinstance(value, (list, tuple)):
        return '(' + ', '.join(_fmt(v, False) for v in value) + ')'
    return f'{value:g}' if isinstance(value, float) else str(value)


def rows(cfg) -> dict[str, str]:
    """Every card row of one config, computed from what it builds."""
    specs, feats, v = _specs(cfg), feature_settings(cfg.get('features')), _variant(cfg)
    heads = {}
    for s in specs:
        heads.setdefault((s.task, s.head), (s, []))[1].append(s.lr)
    policy, factors = lr_factors(cfg)
    train, val = dict(cfg.data.train), dict(cfg.data.val)
    skip = ('type', 'root', 'data_root', 'path', 'augment')
    tasks = {name: build_task(name, **dict(opts or {})) for name, opts in cfg.tasks.items()}
    return {
        'layers': '; '.join(f'{h}: {list(s.layers)}' for (_, h), (s, _) in heads.items()) + f' ({v.key})',
        'norm': 'final LayerNorm' if feats['norm_layers'] else 'raw block outputs',
        'heads': '; '.join(f'{h} {_fmt(s.head_opts) or "defaults"}{" + pooled" if s.pooled else ""}: '
                           f'{head_params(cfg, s):,} params' for (_, h), (s, _) in heads.items()),
        'input': f"train {_fmt({k: x for k, x in train.items() if k not in skip})}; "
                 f"val {_fmt({k: x for k, x in val.items() if k not in skip})}",
        'padding': (f"zero, centred, to whole {v.patch}-px patches" if feats['center_pad'] else 'none')
                   + f"; normalisation {feats['preprocess']}",
        'augmentation': _fmt(train.get('augment')) if train.get('augment') else 'none',
        'optimiser': 'AdamW ' + _fmt(dict(cfg.get('optimizer') or {})),
        'lr': ('fixed ' if len({lr for _, (_, lrs) in heads.items() for lr in lrs}) == 1 else 'grid ')
              + '; '.join(f'{h} {_fmt(sorted(set(lrs), reverse=True))}' for (_, h), (_, lrs) in heads.items())
              + f'; best chosen on {describe(selection(cfg))}',
        'schedule': f"{policy}: " + ', '.join(f'f({i})={f:.4g}' for i, f in factors)
                    + ('' if 'max_iters' in cfg.schedule else
                       f" (epochs {_fmt(cfg.schedule['epochs'])}, warm-up {_fmt(cfg.schedule['warmup_epochs'])};"
                       f" shown for S={CARD_ITERS[0]}, W={CARD_ITERS[1]})"),
        'batch': f"{cfg.get('train_batch_size', 8)} (shuffled: {cfg.get('train_shuffle', True)})",
        'inference': _fmt(dict(cfg.get('inference') or {'mode': 'whole'})),
        'metrics': '; '.join(f'{n}: {", ".join(getattr(t, "table_metrics", ()))} '
                             + _fmt({k: getattr(t, k) for k in ('aggregation', 'eigen_crop', 'valid_from_depth',
                                                                  'align_corners', 'bin_eps', 'out_channels')
                                     if hasattr(t, k)}) for n, t in tasks.items()),
    }


def render() -> str:
    """docs/protocols.md."""
    out = ['# Protocol cards', '',
           'What each protocol config computes, row by row, generated from the configs by '
           '`python -m probes.protocol_cards > docs/protocols.md` (tests/test_protocols.py checks this file and the '
           'values against the references). Schedules show the lr factor f(iteration) on the peak lr.', '']
    for title, card in CARDS.items():
        out += [f'## {title}', '', '| setting | ' + ' | '.join(f'`{c.split("/", 1)[1]}`' for c in card['configs'])
                + ' | reference |', '|---|' + '---|' * (len(card['configs']) + 1)]
        values = [rows(load_config(c)) for c in card['configs']]
        for row in ROWS:
            cells = [v[row].replace('|', '/') for v in values]
            out.append(f'| {row} | ' + ' | '.join(cells) + f' | {card["refs"][row]} |')
        out.append('')
    return '\n'.join(out + ['## Notes', ''] + [f'- {n}' for n in NOTES]) + '\n'


if __name__ == '__main__':
    sys.stdout.write(render())
