"""Extract dense features of a folder of images to safetensors (one file, or one per image).

Examples:
  sprobe extract photos/ feats.safetensors --encoder siglip2-b16-224 --weights google/siglip2-base-patch16-224
  sprobe extract photos/ feats/ --per-image --recursive --skip-bad --encoder siglip2-b16-naflex --weights DIR
  sprobe extract photos/ big.safetensors --image-size 448 --window --device cuda
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path



def add_encoder_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every command that builds an encoder shares."""
    parser.add_argument('--encoder', default='tiny', help="variant: 'siglip2-b16-224', HF id, 'tiny', ...")
    parser.add_argument('--weights', default=None,
                        help='HF dir / hub id, .safetensors (timm/open_clip), big_vision .npz[:img]; none = random')
    parser.add_argument('--pos-resize', default=None,
                        choices=['bicubic', 'bilinear', 'bilinear_antialias', 'bicubic_antialias'],
                        help='position-embedding resizing (default: the checkpoint family\'s own)')
    add_device_argument(parser)


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    """``--device``: where the encoder (and probes) run."""
    parser.add_argument('--device', default='auto',
                        help="cpu, cuda, cuda:1, ... (default auto: cuda when available, else cpu)")


def resolve_device(device: str | None) -> str:
    """``--device`` checked: 'auto' picks cuda when available; an absent CUDA / GPU index is a one-line error."""
    import torch
    if device in (None, 'auto'):
        return 'cuda' if torch.cuda.is_available() else 'cpu'
    try:
        chosen = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f'--device {device}: not a device name ({err})') from None
    if chosen.type == 'cuda':
        if not torch.cuda.is_available():
            raise ValueError(f'--device {device}: CUDA is not available on this machine (use --device cpu)')
        if chosen.index is not None and chosen.index >= torch.cuda.device_count():
            raise ValueError(f'--device {device}: only {torch.cuda.device_count()} CUDA device(s) here')
    elif chosen.type == 'mps' and not torch.backends.mps.is_available():
        raise ValueError(f'--device {device}: MPS is not available on this machine (use --device cpu)')
    elif chosen.type not in ('cpu', 'cuda', 'mps'):
        raise ValueError(f'--device {device}: use cpu, cuda[:N] or mps')
    return str(chosen)


def build_encoder_from_args(args: argparse.Namespace):
    from .encoders import build_encoder
    if args.weights is None:
        print(f'note: {args.encoder} has random weights (pass --weights for a checkpoint)', file=sys.stderr)
    return build_encoder(args.encoder, weights=args.weights, pos_resize=args.pos_resize)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('images', help='folder of images')
    parser.add_argument('out', help='output .safetensors file, or a folder with --per-image')
    add_encoder_arguments(parser)
    parser.add_argument('--layers', type=int, nargs='+', default=None, help='block indices (default: Probe3D 4)')
    parser.add_argument('--image-size', type=int, nargs='+', default=None, help='H [W]; default: native')
    parser.add_argument('--per-image', action='store_true',
                        help='one file per image, named after it: NaFlex encoders keep its aspect ratio under the '
                             'patch budget; with --window it keeps its own size; else it is resized to --image-size')
    parser.add_argument('--window', action='store_true',
                        help='slide windows of the native size over larger images, averaging on the patch grid '
                             '(with --image-size larger than native, or --per-image for each image\'s own size)')
    parser.add_argument('--max-num-patches', type=int, default=256, help='NaFlex patch budget')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--recursive', action='store_true', help='also the images in subfolders (--per-image '
                        'keeps the subfolders in the output)')
    parser.add_argument('--skip-bad', action='store_true', help='leave out unreadable images instead of stopping; '
                        'they are listed on stderr and in <out>.skipped.json (<out>/skipped.json with --per-image)')


def _per_image_names(paths: list[Path], root: Path, out: Path) -> dict[Path, Path]:
    """Output file of each image: its path under ``root`` with ``.safetensors`` (subfolders kept)."""
    if out.exists() and not out.is_dir():
        raise ValueError(f'{out}: exists and is not a folder; --per-image writes one file per image into a folder')
    names: dict[Path, Path] = {}
    for path in paths:
        target = out / path.relative_to(root).with_suffix('.safetensors')
        if target in names.values():
            other = next(p for p, t in names.items() if t == target)
            raise ValueError(f'{other} and {path}: same name, same output {target}')
        names[path] = target
    return names


def _report_skipped(skipped: list[tuple[str, str]], report: Path) -> None:
    """List the images ``--skip-bad`` left out on stderr and in ``report`` (JSON)."""
    if not skipped:
        return
    from .io import write_json
    write_json(report, [{'image': image, 'error': error} for image, error in skipped])
    print(f'skipped {len(skipped)} unreadable image(s), listed in {report}; first: {skipped[0][1]}',
          file=sys.stderr)


def extract_folder(encoder, images: str | Path, out: str | Path, layers=None, image_size=None,
                   per_image: bool = False, window: bool = False, max_num_patches: int = 256,
                   batch_size: int = 8, device: str = 'cpu', recursive: bool = False,
                   skip_bad: bool = False) -> list[Path]:
    """Extract features of every image in a folder (and its subfolders with ``recursive``); return the files
    written. With ``skip_bad`` unreadable images are left out and listed in ``<out>.skipped.json``."""
    from .extract import FeatureExtractor, list_images
    from .features_io import save_features
    paths, out = list_images(images, recursive), Path(out)
    if per_image:
        names = _per_image_names(paths, Path(images), out)
    elif out.is_dir():
        raise ValueError(f'{out}: is a folder; give a .safetensors file name (or --per-image for a folder)')
    elif getattr(encoder, 'naflex', False) and image_size is None:
        raise ValueError('NaFlex encoders keep each image\'s aspect ratio: use --per-image, or --image-size H W '
                         'for one common size in one file')
    elif window and image_size is None:
        raise ValueError('--window slides over images larger than the native size: give --image-size H W, '
                         'or --per-image to keep each image\'s own size')
    extractor = FeatureExtractor(encoder, layers=layers, image_size=image_size, batch_size=batch_size,
                                 device=device, window=window, max_num_patches=max_num_patches, skip_bad=skip_bad)
    meta = {'encoder': encoder.variant, 'encoder_weights_sha256': encoder.weights_sha256}
    if per_image:
        written = [save_features(names[Path(f.image_paths[0])], f, **meta) for f in extractor.iter_images(paths)]
    else:
        written = [save_features(out, extractor(paths), **meta)]
    _report_skipped(extractor.skipped, out / 'skipped.json' if per_image else out.with_suffix('.skipped.json'))
    return written


def run(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    size = args.image_size
    if size is not None and (len(size) not in (1, 2) or min(size) < 1):
        raise ValueError(f'--image-size takes H or H W, positive; got {size}')
    if args.batch_size < 1 or args.max_num_patches < 1:
        raise ValueError('--batch-size and --max-num-patches must be positive')
    size = None if size is None else (size[0], size[-1])
    written = extract_folder(build_encoder_from_args(args), args.images, args.out, layers=args.layers,
                             image_size=size, per_image=args.per_image, window=args.window,
                             max_num_patches=args.max_num_patches, batch_size=args.batch_size,
                             device=device, recursive=args.recursive, skip_bad=args.skip_bad)
    print(f'wrote {len(written)} feature file(s): {written[0]}{" ..." if len(written) > 1 else ""}')
    return 0
