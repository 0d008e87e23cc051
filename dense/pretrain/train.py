"""Scene pretraining of a small SigLIP 2-architecture image-text model; recipes ``RECIPES``.

SigLIP 2 (Tschannen et al., 2025, §2) trains with the SigLIP sigmoid loss plus, from the first step, LocCa's decoder
losses (captioning, automatic referring expressions, grounded captioning; ``+locca``, dense/pretrain/locca.py), and
adds, late in training, SILC's local-to-global self-distillation (an EMA teacher sees the full image, the student
local crops) and TIPS-style masked prediction (the student's masked patch tokens predict the teacher's; ``+dense``).
The dense additions start at ``dense.start`` of the schedule (SigLIP 2 uses 80 %).

Deterministic by seed: step ``i`` draws its scenes, captions, crops and masks from generators seeded by
``(seed, i)``, so a resumed run takes the same steps as an uninterrupted one. ``device`` (config or ``--device``;
default ``auto``: CUDA when there is one) is where the towers train; every random draw stays on the CPU generators,
so a CUDA run sees the same batches, crops and masks as a CPU run (its numbers differ by the GPU's arithmetic only).
"""
from __future__ import annotations

import copy
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dense.io import atomic_path, write_bytes
from dense.pretrain.data import CaptionTokenizer, ScenePool, train_tokenizer
from dense.pretrain.locca import TASKS, LoccaDecoder, locca_batch, locca_loss
from dense.pretrain.losses import Centre, ProtoHead, distill_loss, ema_update, sigmoid_loss
from dense.pretrain.towers import ImageText, save_hf_dir, vit_tokens
from dense.scenes.captions import swap_shapes

RECIPES = ('sigmoid', 'sigmoid+dense', 'sigmoid+locca', 'sigmoid+dense+locca')


# LocCa decoder (SigLIP 2 §2.1; dense/pretrain/locca.py): small here, as the towers; its loss from the first step
LOCCA = dict(weight=1.0, width=128, layers=2, heads=2, bins=32, length=24, tasks=TASKS)


class DenseParts(nn.Module):
    """What the dense recipe adds to the student: global / patch prototype heads and the mask token."""

    def __init__(self, dim: int, prototypes: int):
        super().__init__()
        self.global_head = ProtoHead(dim, prototypes=prototypes)
        self.patch_head = ProtoHead(dim, prototypes=prototypes)
        self.mask_token = nn.Parameter(torch.zeros(dim))


def local_crops(x: torch.Tensor, num: int, size: int, scale: tuple, gen: torch.Generator) -> list:
    """``num`` random square crops per image (area fraction in ``scale``), resized to ``size`` (SILC local views)."""
    n, _, h, w = x.shape
    views = []
    for _ in range(num):
        crops = []
        for i in range(n):
            frac = scale[0] + (scale[1] - scale[0]) * torch.rand((), generator=gen).item()
            side = max(int(round(math.sqrt(frac) * min(h, w))), 1)
            y0 = int(torch.randint(0, h - side + 1, (), generator=gen))
            x0 = int(torch.randint(0, w - side + 1, (), generator=gen))
            crops.append(F.interpolate(x[i:i + 1, :, y0:y0 + side, x0:x0 + side], size=(size, size),
                                       mode='bilinear', antialias=True, align_corners=False))
        views.append(torch.cat(crops))
    return views


def colour_jitter(x: torch.Tensor, gen: torch.Generator, p: float = 0.8, brightness: float = 0.4,
                  contrast: float = 0.4, saturation: float = 0.2, hue: float = 0.1,
                  grayscale: float = 0.2) -> torch.Tensor:
    """DINO / iBOT's colour augmentation of student views, per image of ``x`` (N, 3, H, W) in [0, 1]: with
    probability ``p`` brightness, contrast, saturation factors from [1 - a, 1 + a] and a hue shift from [-hue, hue]
    (in that fixed order; torchvision's ColorJitter shuffles it), then grayscale with probability ``grayscale``.
    Not ``dense.datasets.common``'s jitter: that one draws from torch's global RNG, this one from the step's
    generator, so a resumed pretraining run takes the same steps."""
    import torchvision.transforms.v2.functional as TF
    out = []
    for img in x:
        u = torch.rand(6, generator=gen).tolist()
        if u[0] < p:
            img = TF.adjust_brightness(img, 1 + brightness * (2 * u[1] - 1))
            img = TF.adjust_contrast(img, 1 + contrast * (2 * u[2] - 1))
            img = TF.adjust_saturation(img, 1 + saturation * (2 * u[3] - 1))
            img = TF.adjust_hue(img, hue * (2 * u[4] - 1))
        if u[5] < grayscale:
            img = TF.rgb_to_grayscale(img, num_output_channels=3)
        out.append(img.clamp(0, 1))
    return torch.stack(out)


def random_masks(n: int, grid: tuple, ratio: tuple, gen: torch.Generator) -> torch.Tensor:
    """Boolean masks ``(n, h, w)``, each hiding a random fraction in ``ratio`` of the patches (iBOT's ratio range)."""
    h, w = grid
    fracs = ratio[0] + (ratio[1] - ratio[0]) * torch.rand(n, generator=gen)
    ranks = torch.rand(n, h * w, generator=gen).argsort(1).argsort(1)
    return (ranks < (fracs[:, None] * h * w).round().clamp(min=1)).reshape(n, h, w)


class Pretrainer:
    """Owns the model, the teacher, the optimizer and the loop of one pretraining config (see configs/pretrain)."""

    def __init__(self, cfg):
        if cfg.recipe not in RECIPES:
            raise ValueError(f'unknown pretraining recipe {cfg.recipe!r}; use one of {RECIPES}')
        if cfg.get('hard_negatives') not in (None, 'shape'):
            raise ValueError(f"hard_negatives must be None or 'shape', got {cfg.get('hard_negatives')!r}")
        from dense.cli_extract import resolve_device
        self.cfg, self.work_dir = cfg, Path(cfg.work_dir)
        self.device = torch.device(resolve_device(cfg.get('device', 'auto')))
        self.work_dir.mkdir(parents=True, exist_ok=True)
        tok_file = self.work_dir / 'tokenizer.model'
        if not tok_file.exists():
            train_tokenizer(tok_file, vocab_size=cfg.model['text']['vocab_size'],
                            num_captions=cfg.get('tokenizer_captions', 3000))
        self.tokenizer = CaptionTokenizer(tok_file, length=cfg.model['text']['max_position_embeddings'])
        cache = cfg.data.get('cache') or self.work_dir / 'scenes.npz'
        self.pool = ScenePool(cfg.data['num_scenes'], cfg.data['size'], cache, progress=False)
        self.model = ImageText(cfg.model['variant'], cfg.model['text'], seed=cfg.seed,
                               bias_init=-math.log(cfg.batch_size))
        torch.manual_seed(cfg.seed + 2)
        self.dense = DenseParts(self.model.variant.width, cfg.dense['prototypes'])
        self.teacher = copy.deepcopy(self.student_parts()).requires_grad_(False)
        k = cfg.dense['prototypes']
        self.centres = nn.ModuleDict({'glob': Centre(k), 'patch': Centre(k)})
        self.locca = None
        if 'locca' in cfg.recipe.split('+'):  # built only for its recipes: the others' checkpoints stay as they were
            lc = dict(LOCCA, **cfg.get('locca', {}))
            if set(lc['tasks']) - set(TASKS):
                raise ValueError(f'locca.tasks must be among {TASKS}, got {lc["tasks"]}')
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(cfg.seed + 3)
                self.locca = LoccaDecoder(self.tokenizer.vocab_size, self.model.variant.width, width=lc['width'],
                                          layers=lc['layers'], heads=lc['heads'], bins=lc['bins'],
                                          length=lc['length'])
        for part in (self.model, self.dense, self.teacher, self.centres, self.locca):
            if part is not None:
                part.to(self.device)
        params = [*self.model.parameters(), *self.dense.parameters(),
                  *(self.locca.parameters() if self.locca is not None else ())]
        decay = [p for p in params if p.ndim >= 2]
        rest = [p for p in params if p.ndim < 2]
        self.optim = torch.optim.AdamW([dict(params=decay, weight_decay=cfg.optim['weight_decay']),
                                        dict(params=rest, weight_decay=0.0)], lr=cfg.optim['lr'])
        self.step = 0

    def student_parts(self) -> nn.ModuleDict:
        """The student modules the EMA teacher mirrors."""
        return nn.ModuleDict({'vit': self.model.vit, 'dense': self.dense})

    def lr_at(self, step: int) -> float:
        """Linear warm-up then cosine decay to zero."""
        total, warm = self.cfg.max_iters, max(int(self.cfg.optim['warmup'] * self.cfg.max_iters), 1)
        if step < warm:
            return self.cfg.optim['lr'] * (step + 1) / warm
        return self.cfg.optim['lr'] * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(total - warm, 1)))

    def dense_active(self, step: int) -> bool:
        return 'dense' in self.cfg.recipe.split('+') and step >= self.branch_step

    def losses(self, step: int) -> dict:
        """The losses of training step ``step`` (its batch drawn from seeds (seed, step))."""
        cfg = self.cfg
        rng = np.random.default_rng([cfg.seed, step])
        gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step)
        picked = rng.choice(len(self.pool), cfg.batch_size, replace=False)
        images, captions = self.pool.batch(picked, rng, **cfg.data.get('captions', {}))
        x = ((images - 0.5) / 0.5).to(self.device)
        tokens = self.model.tokens(x)
        # duplicate_captions='positive': identical captions in a batch are positives of each other (default:
        # negatives, as SigLIP's diagonal labels and the shipped encoders were trained)
        texts = list(captions)
        if cfg.get('hard_negatives') == 'shape':  # each caption again with its shapes swapped: negatives that differ
            texts += [swap_shapes(c, rng) for c in captions]  # from a true caption only in shape (NegCLIP)
        same = None
        if cfg.get('duplicate_captions', 'negative') == 'positive':
            same = torch.tensor([[a == b for b in texts] for a in captions])
        out = {'sigmoid': sigmoid_loss(self.model.pool(tokens),
                                       self.model.encode_text(self.tokenizer(texts).to(self.device)),
                                       self.model.logit_scale, self.model.logit_bias, same)}
        if self.locca is not None:  # LocCa: the decoder reads the unpooled tokens of the same forward pass
            lc = dict(LOCCA, **cfg.get('locca', {}))
            rows = locca_batch([self.pool.facts[int(i)] for i in picked], captions, self.tokenizer.encode,
                               self.pool.size, self.locca, rng, tasks=lc['tasks'])
            out['locca'] = lc['weight'] * locca_loss(self.locca, tokens, *(r.to(self.device) for r in rows))
        if self.dense_active(step):
            out.update(self.dense_losses(x, gen))
        return out

    def dense_losses(self, x: torch.Tensor, gen: torch.Generator) -> dict:
        """SILC local-to-global distillation on pooled embeddings, TIPS masked prediction on patch tokens."""
        d, teacher = self.cfg.dense, self.teacher
        with torch.no_grad():
            t_tokens = vit_tokens(teacher['vit'], x)
            t_global = teacher['dense'].global_head(teacher['vit'].pool(t_tokens))
            t_patch = teacher['dense'].patch_head(t_tokens)
        student = x
        if d.get('colour'):  # student views colour-jittered (DINO / iBOT); the teacher sees the image as it is
            student = colour_jitter(x * 0.5 + 0.5, gen, **d['colour']) * 2 - 1
        local = [self.dense.global_head(self.model.pool(self.model.tokens(v)))
                 for v in local_crops(student, d['local_crops'], d['local_size'], d['local_scale'], gen)]
        glob = sum(distill_loss(s, t_global, self.centres['glob'].value, d['tau_s'], d['tau_t'])
                   for s in local) / len(local)
        half = max(len(x) // 2, 1)
        grid = (x.shape[-2] // self.model.variant.patch, x.shape[-1] // self.model.variant.patch)
        mask = random_masks(half, grid, d['mask_ratio'], gen).to(self.device)
        s_patch = self.dense.patch_head(self.model.tokens(student[:half], mask, self.dense.mask_token))
        flat = mask.reshape(half, -1)
        masked = distill_loss(s_patch[flat], t_patch[:half][flat], self.centres['patch'].value, d['tau_s'],
                              d['tau_t'])
        self.centres['glob'].update(t_global)
        self.centres['patch'].update(t_patch)
        return {'local_global': d['weight_global'] * glob, 'masked': d['weight_masked'] * masked}

    def train_step(self) -> dict:
        for group in self.optim.param_groups:
            group['lr'] = self.lr_at(self.step)
        losses = self.losses(self.step)
        total = sum(losses.values())
        if not torch.isfinite(total):
            raise FloatingPointError(f'pretraining loss is {total.item()} at step {self.step}: lower optim.lr')
        self.optim.zero_grad(set_to_none=True)
        total.backward()
        if self.cfg.optim.get('clip'):
            nn.utils.clip_grad_norm_([p for g in self.optim.param_groups for p in g['params']], self.cfg.optim['clip'])
        self.optim.step()
        ema_update(self.teacher, self.student_parts(), self.cfg.dense['momentum'])
        self.step += 1
        return {k: float(v.detach()) for k, v in losses.items()}

    def state(self) -> dict:
        state = {'step': self.step, 'model': self.model.state_dict(), 'dense': self.dense.state_dict(),
                 'teacher': self.teacher.state_dict(), 'centres': self.centres.state_dict(),
                 'optim': self.optim.state_dict()}
        if self.locca is not None:
            state['locca'] = self.locca.state_dict()
        return state

    @property
    def branch_step(self) -> int:
        """The step at which the dense losses start; until then both recipes take identical steps."""
        return int(self.cfg.dense['start'] * self.cfg.max_iters)

    def save(self) -> None:
        with atomic_path(self.work_dir / 'checkpoint.pt') as tmp:
            torch.save(self.state(), tmp)

    def load(self) -> None:
        path = self.work_dir / 'checkpoint.pt'
        state = torch.load(path, map_location='cpu', weights_only=True)
        names = ('model', 'dense', 'teacher', 'centres', 'optim') + (('locca',) if self.locca is not None else ())
        if ('locca' in state) != (self.locca is not None):
            has = 'has a' if 'locca' in state else 'has no'
            raise ValueError(f"{path}: checkpoint {has} 'locca' state and the recipe is {self.cfg.recipe!r}: "
                             f'it was written by another recipe')
        for name in names:
            getattr(self, name).load_state_dict(state[name])
        self.step = int(state['step'])

    def run(self, resume: bool = False, progress: bool = True) -> Path:
        """Train to ``max_iters`` (from the last checkpoint if ``resume``); export the HF dir; return it."""
        from tqdm import tqdm
        if resume and (self.work_dir / 'checkpoint.pt').exists():
            self.load()
        log = (self.work_dir / 'log.jsonl').open('a')
        bar = tqdm(total=self.cfg.max_iters, initial=self.step, desc=f'pretrain {self.cfg.recipe}',
                   disable=not progress)
        start = time.time()
        while self.step < self.cfg.max_iters:
            losses = self.train_step()
            bar.update(1)
            bar.set_postfix({k: f'{v:.3f}' for k, v in losses.items()})
            if self.step % self.cfg.log_interval == 0 or self.step == self.cfg.max_iters:
                log.write(json.dumps({'step': self.step, 'lr': self.lr_at(self.step - 1),
                                      'seconds': round(time.time() - start, 1), **losses}) + '\n')
                log.flush()
            if self.step % self.cfg.checkpoint_interval == 0 or self.step == self.branch_step:
                self.save()
            if self.step == self.branch_step:  # where the sigmoid + dense recipe leaves the sigmoid one: a copy
                branch = self.work_dir / f'checkpoint-{self.step}.pt'
                write_bytes(branch, (self.work_dir / 'checkpoint.pt').read_bytes())
        bar.close()
        log.close()
        self.save()
        return self.export()

    def export(self) -> Path:
        """The trained model as a transformers ``SiglipModel`` directory (``work_dir/hf``) with its config."""
        out = self.work_dir / 'hf'
        save_hf_dir(self.model, out, self.work_dir / 'tokenizer.model',
                    {'pretrain_config.py': self.cfg.pretty_text})
        return out
