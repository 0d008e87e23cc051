"""Zero-shot open-vocabulary segmentation from the text tower (MaskCLIP value path, SCLIP, ClearCLIP, NACLIP).

Examples: sprobe zeroshot configs/zeroshot/scenes_zeroshot_test-64_smoke.py
          sprobe zeroshot configs/zeroshot/voc_zeroshot_siglip2-b16-224.py --cfg-options encoder.weights=DIR
Same as ``sprobe evaluate`` but refuses a config whose evaluation is not ``type='zeroshot'``; writes metrics.json
(per benchmark and method), zeroshot_results.md and overlays under figures/.
"""
from __future__ import annotations

import argparse

from probes import cli_evaluate

add_arguments = cli_evaluate.add_arguments


def run(args: argparse.Namespace) -> int:
    return cli_evaluate.run(args, kind='zeroshot')
