"""Draw patch-similarity and PCA figures and the interactive HTML viewer from a feature file or an encoder.

Examples:
  sprobe viz --features feats.safetensors --out work_dirs/viz --patch 7 7
  sprobe viz --features feats/ --out work_dirs/viz          (the folder of `sprobe extract --per-image`)
  sprobe viz --encoder tiny --images a.jpg b.jpg --out work_dirs/viz --pixel 120 80 --foreground
  sprobe viz --encoder siglip2-b16-naflex --weights DIR --images a.jpg b.jpg --device cuda

Images of one size share the figures (similarity across images); images of different sizes (NaFlex keeps each
one's aspect ratio) get their own figures in <out>/<image name>/, never squashed to a square.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from dense.cli_extract import add_device_argument


KINDS = ('similarity', 'pca', 'viewer')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``sprobe viz``."""
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument('--features', help='.safetensors written by `sprobe extract` (layer_<i>, image_paths), or '
                     'the folder `sprobe extract --per-image` wrote')
    src.add_argument('--encoder', help='encoder name (e.g. tiny, siglip2-b16-224): extract from --images')
    parser.add_argument('--weights', default=None, help='weights for --encoder (default: random init)')
    parser.add_argument('--images', nargs='+', help='image paths (required with --encoder; with --features '
                        'overrides the stored image_paths)')
    parser.add_argument('--image-size', type=int, nargs='+', default=None, help='H [W] for --encoder')
    parser.add_argument('--per-image', action='store_true', help='with --encoder: each image at its own size '
                        '(NaFlex encoders always: aspect ratio kept under --max-num-patches)')
    parser.add_argument('--max-num-patches', type=int, default=256, help='NaFlex patch budget')
    add_device_argument(parser)
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


def _feature_files(source: str) -> list[Path]:
    """``--features``: one feature file, or the folder ``sprobe extract --per-image`` wrote (all its files)."""
    path = Path(source)
    if path.is_dir():
        files = sorted(path.rglob('*.safetensors'))
        if not files:
            raise ValueError(f'{path}: no .safetensors feature files (written by `sprobe extract --per-image`)')
        return files
    return [path]


def _from_files(args: argparse.Namespace) -> list[tuple]:
    """``(images, features, names, subtitle)`` per feature file, each image at its stored size."""
    from dense.features_io import load_features
    from visualize.pipeline import load_images
    files = _feature_files(args.features)
    if args.images and len(files) > 1:
        raise ValueError('--images overrides the image paths of one feature file, not of a folder of them')
    items = []
    for file in files:
        loaded, meta = load_features(file)
        paths = args.images or meta.get('image_paths') or []
        if not paths:
            raise ValueError(f'{file}: no image_paths in its metadata; pass --images')
        size = tuple(meta['image_size']) if meta.get('image_size') else None
        subtitle = f'{meta.get("encoder", "?")} ({meta.get("encoder_weights_sha256", "?")[:18]}), features {file}'
        items.append((load_images(paths, size), {k: v.numpy() for k, v in loaded.layers.items()},
                      [Path(p).name for p in paths], subtitle))
    return items


def _from_encoder(args: argparse.Namespace) -> list[tuple]:
    """``(images, features, names, subtitle)``: one batch at --image-size, or one item per image at its own
    size (aspect kept under the patch budget for NaFlex) with --per-image / a NaFlex encoder."""
    from dense.cli_extract import resolve_device
    from dense.encoders import build_encoder
    from dense.extract import FeatureExtractor
    from visualize.pipeline import load_images
    if not args.images:
        raise ValueError('--encoder needs --images')
    size = args.image_size
    if size is not None and len(size) not in (1, 2):
        raise ValueError(f'--image-size takes H or H W, got {size}')
    encoder = build_encoder(args.encoder, weights=args.weights)
    extractor = FeatureExtractor(encoder, layers=args.layers, image_size=None if size is None else (size[0], size[-1]),
                                 device=resolve_device(args.device), max_num_patches=args.max_num_patches)
    subtitle = f'{encoder.variant} ({encoder.weights_sha256[:18]})'
    per_image = args.per_image or getattr(encoder, 'naflex', False)
    batches = extractor.iter_images([str(p) for p in args.images]) if per_image else [extractor(
        [str(p) for p in args.images])]
    return [(load_images(f.image_paths, tuple(f.image_size)), {k: v.numpy() for k, v in f.layers.items()},
             [Path(p).name for p in f.image_paths], subtitle) for f in batches]


def group_by_size(items: list[tuple]) -> list[tuple]:
    """Items whose images and patch grids have one size merged into one (similarity across images); images of
    different sizes (NaFlex, --per-image) stay apart, each drawn at its own aspect ratio, never squashed."""
    import numpy as np
    groups: dict[tuple, list] = {}
    for images, feats, names, subtitle in items:
        key = (images.shape[1:3], tuple((k, v.shape[-2:]) for k, v in sorted(feats.items())))
        groups.setdefault(key, []).append((images, feats, names, subtitle))
    return [(np.concatenate([g[0] for g in group]), {k: np.concatenate([g[1][k] for g in group]) for k in group[0][1]},
             [n for g in group for n in g[2]], group[0][3]) for group in groups.values()]


def run(args: argparse.Namespace) -> int:
    """Make the figures; print the written paths as JSON. Images of several sizes: one figure set each, in
    ``<out>/<image name>/``."""
    from visualize.pipeline import make_feature_figures
    groups = group_by_size(_from_encoder(args) if args.encoder else _from_files(args))
    written = []
    for images, feats, names, subtitle in groups:
        out = Path(args.out) if len(groups) == 1 else Path(args.out) / Path(names[0]).stem
        query = args.query_image if len(groups) == 1 else 0
        written += make_feature_figures(images, feats, out, layers=args.layers, query_image=query,
                                        pixel=args.pixel, patch=args.patch, names=names,
                                        foreground=args.foreground, fg_threshold=args.fg_threshold,
                                        viewer_dims=args.viewer_dims, pdf=args.pdf, kinds=args.only,
                                        max_rows=args.max_rows, subtitle=subtitle)
    print(json.dumps([str(p) for p in written], indent=1))
    return 0
