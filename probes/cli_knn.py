"""In-context kNN segmentation (Hummingbird protocol) from a config: memory bank, label transfer, mIoU.

Examples: sprobe knn configs/knn/scenes_knn_tiny-224_hbird_smoke.py
          sprobe knn configs/knn/voc_knn_siglip2-b16-224_hbird102k.py --cfg-options encoder.weights=DIR
Same as ``sprobe evaluate`` but refuses a config whose evaluation is not ``type='knn'``.
"""
from __future__ import annotations

import argparse

from probes import cli_evaluate

add_arguments = cli_evaluate.add_arguments


def run(args: argparse.Namespace) -> int:
    return cli_evaluate.run(args, kind='knn')
