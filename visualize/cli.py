"""Draw patch-similarity and PCA figures and the interactive HTML viewer from a feature file or an encoder.

Examples:
  sprobe viz --features feats.safetensors --out work_dirs/viz --patch 7 7
  sprobe viz --encoder tiny --images a.jpg b.jpg --out work_dirs/viz --pixel 120 80 --foreground
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


KINDS = ('similarity', 'pca', 'viewer')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``sprobe viz``."""
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument('--features', help='.safetensors written by `sprobe extract` (layer_<i>, image_paths)')
    src.add_argument('--encoder', help='encoder name (e.g. tiny, siglip2-b16-224): extract from --images')
    parser.add_argument('--weights', default=None, help='weights for --encoder (default: random init)')
    parser.add_argument('--images', nargs='+', help='image paths (required with --encoder; with --features '
                        'overrides the stored image_paths)')
    parser.add_argument('--image-size', type=int, nargs='+', default=None, help='H [W] for --encoder')
    parser.add_argument('--out', default='work_dirs/viz', help='work dir; figures go to <out>/figures')
    parser.add_argument('--layers', type=int, nargs='+', default=None, help='layers to draw (default all)')
    parser.add_argument('--query-image', type=int, default=0, help='index of the query image')
    query = parser.add_mutually_exclusive_group()
    query.add_argument('--pixel', type=int, nargs=2, metavar=('X', 'Y'), help='query pixel in the features\' image size (the stored image_size, '
                       'e.g. 224x224 for a native B/16 file), not the original photo\'s (default: centre)')
    query.add_argument('--patch', type=int, nargs=2, metavar=('ROW', 'COL'), help='query patch')
    parser.add_argument('--foreground', action='store_true', help='PCA with a foreground mask from PC1')
    parser.add_argument('--fg-threshold', type=float, default=0.0, help='threshold on standardized PC1')
    parser.add_argument('--viewer-dims', type=int, default=None, help='reduce viewer features to N dims')
    parser.add_argument('--max-rows', type=int, default=4, help='images in the similarity grid')
    parser.add_argument('--pdf', action='store_true', help='also write PDF figures')
    parser.add_argument('--only', nargs='+', choices=KINDS, default=list(KINDS), help='outputs to make')


def load_inputs(args: argparse.Namespace):
    """``(images, features, names)`` from ``--features`` or ``--encoder`` + ``--images``."""
    from dense.features_io import load_features
    from visualize.pipeline import extract_with_encoder, load_images
    if args.encoder:
        if not args.images:
            raise ValueError('--encoder needs --images')
        size = args.image_size
        if size is not None and len(size) not in (1, 2):
            raise ValueError(f'--image-size takes H or H W, got {size}')
        size = None if size is None else (size[0], size[-1])
        feats, images = extract_with_encoder(args.images, args.encoder, args.weights, args.layers, size)
        return images, feats, [Path(p).name for p in args.images]
    loaded, meta = load_features(args.features)
    feats = loaded.layers
    paths = args.images or meta.get('image_paths') or []
    if not paths:
        raise ValueError(f'{args.features}: no image_paths in its metadata; pass --images')
    size = tuple(meta['image_size']) if meta.get('image_size') else None
    return load_images(paths, size), feats, [Path(p).name for p in paths]


def run(args: argparse.Namespace) -> int:
    """Make the figures; print the written paths as JSON."""
    from visualize.pipeline import make_feature_figures
    images, feats, names = load_inputs(args)
    written = make_feature_figures(images, feats, args.out, layers=args.layers, query_image=args.query_image,
                                   pixel=args.pixel, patch=args.patch, names=names,
                                   foreground=args.foreground, fg_threshold=args.fg_threshold,
                                   viewer_dims=args.viewer_dims, pdf=args.pdf, kinds=args.only,
                                   max_rows=args.max_rows)
    print(json.dumps([str(p) for p in written], indent=1))
    return 0
