"""Forward speed of dense.encoders vs the transformers reference on the same weights (same process, CPU).

Prints the per-batch time of each and their ratio (ours / HF). Usage:
    .venv/bin/python benchmarks/bench_encoders.py [--variant tiny] [--batch 4] [--size 224] [--repeats 5]
"""
import argparse
import tempfile
import time

import torch
from transformers import SiglipVisionConfig, SiglipVisionModel

from dense.encoders import VARIANTS, build_encoder


def _time(fn, repeats: int) -> float:
    fn()  # warm-up (and position-embedding cache)
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--variant', default='tiny', choices=[k for k, v in VARIANTS.items() if not v.naflex])
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--size', type=int, default=None, help='input side (default: native)')
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--threads', type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    v = VARIANTS[args.variant]
    ref = SiglipVisionModel(SiglipVisionConfig(
        hidden_size=v.width, intermediate_size=v.mlp, num_hidden_layers=v.depth, num_attention_heads=v.heads,
        image_size=v.image_size, patch_size=v.patch, hidden_act='gelu_pytorch_tanh')).eval()
    with tempfile.TemporaryDirectory() as d:
        ref.save_pretrained(d)
        enc = build_encoder(args.variant, weights=d, pos_resize='bicubic')
    size = args.size or enc.image_size[0]
    x = torch.rand(args.batch, 3, size, size) * 2 - 1
    with torch.no_grad():
        t_hf = _time(lambda: ref(pixel_values=x, interpolate_pos_encoding=size != v.image_size), args.repeats)
        t_ours = _time(lambda: enc(x, layers=enc.default_layers), args.repeats)
    print(f'{args.variant} batch {args.batch} @ {size}px, {args.threads} thread(s): HF {t_hf * 1e3:.1f} ms, '
          f'ours {t_ours * 1e3:.1f} ms, ratio ours/HF {t_ours / t_hf:.2f}')


if __name__ == '__main__':
    main()
