"""P1: forward speed of dense.encoders vs transformers' SiglipVisionModel on the same weights and precision.

Both return every block's output (ours: the encoder's default layers + final tokens + MAP pooled; HF:
``output_hidden_states=True`` + pooled), in eval mode under ``torch.no_grad``, weights and inputs cast to the
same dtype. The HF side runs eager with ``attn_implementation='sdpa'``; ours may add ``--compile`` (inductor).
A/B interleaved (benchmarks/common.py); the printed ratio is HF time / our time (goal >= 1.0 on CPU fp32,
>= 1.3 on a GPU in bf16). Usage:
    python benchmarks/bench_encoders.py [--variant siglip2-b16-224] [--batch 8] [--size 224] [--device cuda]
        [--dtype bf16] [--compile] [--pairs 5] [--threads 2]
"""
from __future__ import annotations

import argparse
import tempfile

import torch

from common import DTYPES, describe, interleaved, setup  # noqa: I100 - the benchmarks folder is on sys.path

from dense.encoders import VARIANTS, build_encoder


def hf_twin(variant: str, dtype: torch.dtype, device):
    """A random-weight HF SiglipVisionModel and our encoder loaded from its saved checkpoint (same weights)."""
    from transformers import SiglipVisionConfig, SiglipVisionModel
    spec = VARIANTS[variant]
    ref = SiglipVisionModel(SiglipVisionConfig(
        hidden_size=spec.width, intermediate_size=spec.mlp, num_hidden_layers=spec.depth,
        num_attention_heads=spec.heads, image_size=spec.grid * spec.patch, patch_size=spec.patch,
        hidden_act='gelu_pytorch_tanh'), ).eval()
    with tempfile.TemporaryDirectory() as folder:
        ref.save_pretrained(folder)
        ref = SiglipVisionModel.from_pretrained(folder, attn_implementation='sdpa').eval()
        ours = build_encoder(variant, weights=folder, pos_resize='bicubic')
    return ref.to(device, dtype), ours.to(device, dtype)


def run(variant: str = 'tiny', batch: int = 4, size: int | None = None, device: str = 'cpu', dtype: str = 'fp32',
        compile: bool = False, pairs: int = 5) -> dict:
    """Time both encoders; returns ``interleaved``'s dict plus the settings."""
    dev = torch.device(device)
    ref, ours = hf_twin(variant, DTYPES[dtype], dev)
    if compile:
        ours.compile()  # inductor, default mode (max-autotune compiles for minutes)
    size = size or ours.image_size[0]
    x = (torch.rand(batch, 3, size, size, device=dev) * 2 - 1).to(DTYPES[dtype])
    native = VARIANTS[variant].grid * VARIANTS[variant].patch

    @torch.no_grad()
    def hf():
        return ref(pixel_values=x, output_hidden_states=True, interpolate_pos_encoding=size != native)

    @torch.no_grad()
    def mine():
        return ours(x, layers=ours.default_layers)

    result = interleaved(mine, hf, pairs=pairs, warmup=2 if compile else 1, device=dev)
    return dict(result, variant=variant, batch=batch, size=size, device=str(dev), dtype=dtype, compile=compile,
                hf='SiglipVisionModel, eager, sdpa attention, output_hidden_states=True')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--variant', default='tiny', choices=[k for k, v in VARIANTS.items() if not v.naflex])
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--size', type=int, default=None, help='input side (default: native)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--dtype', default='fp32', choices=sorted(DTYPES))
    parser.add_argument('--compile', action='store_true', help='torch.compile our encoder (not the HF one)')
    parser.add_argument('--pairs', type=int, default=5)
    parser.add_argument('--threads', type=int, default=None)
    args = parser.parse_args()
    setup(args.threads, args.device)
    r = run(args.variant, args.batch, args.size, args.device, args.dtype, args.compile, args.pairs)
    print(f'P1 {r["variant"]} batch {r["batch"]} @ {r["size"]}px {r["device"]} {r["dtype"]}'
          f'{" compiled" if r["compile"] else ""}: ' + describe(r, 'ours', 'HF', 'speed-up HF/ours'))


if __name__ == '__main__':
    main()
