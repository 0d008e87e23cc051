"""Write embedded scenes to disk in a real data set's layout (ade20k, nyu, coco, refcoco)."""
from __future__ import annotations

import argparse

from dense.scenes.export import SPLIT_DIRS, write_dataset


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('root', help='data set root folder to write')
    parser.add_argument('--layout', required=True, choices=sorted(SPLIT_DIRS))
    parser.add_argument('--splits', nargs='+', default=None,
                        help='scene splits to write (default: every split the layout has)')
    parser.add_argument('--num', type=int, default=8, help='scenes per split')
    parser.add_argument('--size', type=int, nargs=2, default=(224, 224), metavar=('H', 'W'))


def run(args: argparse.Namespace) -> int:
    splits = args.splits or tuple(SPLIT_DIRS[args.layout])
    root = write_dataset(args.root, args.layout, splits, n=args.num, size=tuple(args.size))
    print(f'wrote {args.num} scenes per split {list(splits)} at {args.size[0]}x{args.size[1]} '
          f'in the {args.layout} layout under {root}')
    return 0
