"""Extract dense features of a folder of images to safetensors (one file, or one per image)."""
from __future__ import annotations

import argparse
from pathlib import Path

from .extract import FeatureExtractor, list_images
from .features_io import save_features


def add_encoder_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every command that builds an encoder shares."""
    parser.add_argument('--encoder', default='tiny', help="variant: 'siglip2-b16-224', HF id, 'tiny', ...")
    parser.add_argument('--weights', default=None,
                        help='HF dir / hub id, .safetensors (timm/open_clip), big_vision .npz[:img]; none = random')
    parser.add_argument('--pos-resize', default=None,
                        choices=['bicubic', 'bilinear', 'bilinear_antialias', 'bicubic_antialias'],
                        help='position-embedding resizing (default: the checkpoint family\'s own)')
    parser.add_argument('--device', default='cpu')


def build_encoder_from_args(args: argparse.Namespace):
    from .encoders import build_encoder
    return build_encoder(args.encoder, weights=args.weights, pos_resize=args.pos_resize)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('images', help='folder of images')
    parser.add_argument('out', help='output .safetensors file, or a folder with --per-image')
    add_encoder_arguments(parser)
    parser.add_argument('--layers', type=int, nargs='+', default=None, help='block indices (default: Probe3D 4)')
    parser.add_argument('--image-size', type=int, nargs='+', default=None, help='H [W]; default: native')
    parser.add_argument('--per-image', action='store_true', help='one file per image at its own size')
    parser.add_argument('--window', action='store_true', help='sliding window over images larger than native')
    parser.add_argument('--max-num-patches', type=int, default=256, help='NaFlex patch budget')
    parser.add_argument('--batch-size', type=int, default=8)


def extract_folder(encoder, images: str | Path, out: str | Path, layers=None, image_size=None,
                   per_image: bool = False, window: bool = False, max_num_patches: int = 256,
                   batch_size: int = 8, device: str = 'cpu') -> list[Path]:
    """Extract features of every image in a folder; return the files written."""
    paths = list_images(images)
    extractor = FeatureExtractor(encoder, layers=layers, image_size=image_size, batch_size=batch_size,
                                 device=device, window=window, max_num_patches=max_num_patches)
    meta = {'encoder': encoder.variant, 'encoder_weights_sha256': encoder.weights_sha256}
    if not per_image:
        return [save_features(out, extractor(paths), **meta)]
    return [save_features(Path(out) / f'{Path(f.image_paths[0]).stem}.safetensors', f, **meta)
            for f in extractor.iter_images(paths)]


def run(args: argparse.Namespace) -> int:
    size = args.image_size
    if size is not None and len(size) not in (1, 2):
        raise SystemExit('--image-size takes H or H W')
    size = None if size is None else (size[0], size[-1])
    written = extract_folder(build_encoder_from_args(args), args.images, args.out, layers=args.layers,
                             image_size=size, per_image=args.per_image, window=args.window,
                             max_num_patches=args.max_num_patches, batch_size=args.batch_size, device=args.device)
    print(f'wrote {len(written)} feature file(s): {written[0]}{" ..." if len(written) > 1 else ""}')
    return 0
