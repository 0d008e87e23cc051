"""Referring expressions on the embedded scenes: the grounding decoder against the three baselines.

Trains, from one frozen encoder forward per batch, the decoder and the similarity, centre-box and largest-object
baselines on the scenes' expressions (random-init 'tiny' image encoder and text tower by default), picks each
family's best on val and reports test Acc@0.5; writes ``summary.json`` and overlays of the decoder's test
predictions (``figures/referring_*.png``). Exit status 1 unless the decoder beats every baseline.

    python -m dense.cli ref-scenes [--config configs/ref/scenes_decoder-baselines_tiny-224.py] [--work-dir DIR]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from dense.datasets import build_dataset
from dense.datasets.common import collate
from dense.io import write_bytes, write_json
from probes.experiments import add_config_arguments, experiment_config
from probes.train import run_training

DEFAULT_CONFIG = 'configs/ref/scenes_decoder-baselines_tiny-224.py'
DECODER, BASELINES = 'ref/ref_decoder', ('ref/ref_similarity', 'ref/ref_centre', 'ref/ref_largest')


@torch.no_grad()
def referring_overlays(cfg, probe: str, split: str = 'test', num: int = 4) -> list[Path]:
    """Predicted (solid) and true (dashed) boxes of ``probe`` on the first ``num`` samples of ``split``."""
    from probes.train.evaluate import load_trained
    from visualize._common import save_figure
    from visualize.boxes import draw_referring
    model = load_trained(cfg, Path(cfg.work_dir) / 'probes.safetensors', device='cpu')
    dataset = build_dataset(dict(cfg.data[split]))
    batch = collate([dataset[i] for i in range(min(num, len(dataset)))])
    out = model.head_outputs(batch['image'], batch, [probe])[probe]
    preds = model.tasks['ref'].predict(out, tuple(batch['image'].shape[-2:]))
    written = []
    for i, pred in enumerate(preds):
        image = (batch['image'][i].permute(1, 2, 0) * 255).round().byte().numpy()
        fig = draw_referring(image, batch['expression'][i], pred['box'].tolist(), batch['target_box'][i].tolist())
        written += save_figure(fig, Path(cfg.work_dir) / 'figures' / f'referring_{i}.png')
    return written


def markdown(summary: dict) -> str:
    """The test Acc@0.5 of the decoder and the three baselines as a markdown table."""
    rows = [('decoder (`%s`)' % summary['decoder_probe'], 'ref_decoder'), ('similarity map -> box', 'ref_similarity'),
            ('centre box (learned constant)', 'ref_centre'), ('largest object', 'ref_largest')]
    lines = [f"| test Acc@0.5 (%), encoder `{summary['encoder']}` ({summary['encoder_weights']}) | |", '|---|---|']
    return '\n'.join(lines + [f'| {label} | {summary[key]:.2f} |' for label, key in rows]) + '\n'


def run_experiment(config: str = DEFAULT_CONFIG, work_dir: str | None = None, options: dict | None = None) -> dict:
    """Train the grid; return the test Acc@0.5 of the best probe of each family and the decoder's probe name.
    ``options`` override config keys (``encoder.name=scenes-dense``, ...)."""
    cfg = experiment_config(config, work_dir, options)
    results = run_training(cfg)
    summary = {group.split('/', 1)[1]: results['best'][group]['test']['Acc@0.5'] for group in (DECODER, *BASELINES)}
    summary['decoder_probe'], summary['encoder'] = results['best'][DECODER]['probe'], cfg.encoder['name']
    summary['encoder_weights'] = results['encoder_weights']  # 'random-init-seed0' or the checkpoint's sha256
    summary['figures'] = [str(p) for p in referring_overlays(cfg, summary['decoder_probe'])]
    write_json(Path(cfg.work_dir) / 'summary.json', summary, sort_keys=True)
    write_bytes(Path(cfg.work_dir) / 'summary.md', markdown(summary).encode())
    return summary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Command-line options."""
    add_config_arguments(parser, DEFAULT_CONFIG)


def run(args: argparse.Namespace) -> int:
    """Run, print the numbers; exit status 1 unless the decoder beats the similarity, centre and largest-object
    baselines on test Acc@0.5."""
    torch.set_num_threads(1)
    s = run_experiment(args.config, args.work_dir, args.cfg_options)
    names = [g.split('/', 1)[1] for g in BASELINES]
    print('test Acc@0.5  ' + '  '.join(f'{n}: {s[n]:.2f}' for n in names)
          + f"  decoder ({s['decoder_probe']}): {s['ref_decoder']:.2f}")
    print(markdown(s), end='')
    ok = all(s['ref_decoder'] > s[n] for n in names)
    print('decoder > every baseline:', 'yes' if ok else 'NO')
    return 0 if ok else 1


if __name__ == '__main__':
    _parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(_parser)
    sys.exit(run(_parser.parse_args()))
