"""Dense correspondence from a config (Probe3D protocol): scene pairs, NAVI and ScanNet pairs, SPair-71k keypoints.

Examples: sprobe correspond configs/correspond/scenes_correspond_tiny-224_probe3d_smoke.py
          sprobe correspond configs/correspond/spair_correspond_siglip2-b16-224_probe3d.py --cfg-options encoder.weights=DIR
Same as ``sprobe evaluate`` but refuses a config whose evaluation is not ``type='correspond'``.
"""
from __future__ import annotations

import argparse

from probes import cli_evaluate

add_arguments = cli_evaluate.add_arguments


def run(args: argparse.Namespace) -> int:
    return cli_evaluate.run(args, kind='correspond')
