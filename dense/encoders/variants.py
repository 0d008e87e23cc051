"""The vision variants: the one table every other module reads (SigLIP 2, SigLIP, PaliGemma towers, scene encoders).

Dimensions follow the SigLIP 2 release (Tschannen et al., 2025, "SigLIP 2: Multilingual Vision-Language Encoders
with Improved Semantic Understanding, Localization, and Dense Features"; big_vision README_siglip2.md) and agree
with timm's ``vit_*_siglip_*`` definitions (checked in tests/test_encoders.py). Each variant carries every name it
is published under, so a user may pass any of them to :func:`dense.encoders.build_encoder`.

SigLIP (v1; Zhai et al., 2023) towers are the same architecture with other weights (names from big_vision
``configs/proj/image_text/SigLIP_demo.ipynb`` and transformers ``convert_siglip_to_hf.py``); HF's SigLIP configs use
tanh-GELU (``gelu_pytorch_tanh``) as SigLIP 2 does, while timm's ``vit_*_siglip_*`` definitions default to exact GELU.
PaliGemma / PaliGemma 2 (Beyer et al., 2024; Steiner et al., 2024) use a So400m/14 SigLIP tower without the MAP head
(HF ``vision_use_head=False``, big_vision ``pool_type='none'``, timm ``vit_so400m_patch14_siglip_gap_*``) at 224 / 448
/ 896 px: their ``pooled`` output is the mean of the final tokens.
"""
import functools
from dataclasses import dataclass, field

POS_RESIZE_MODES = ('bicubic', 'bilinear', 'bilinear_antialias', 'bicubic_antialias')


@dataclass(frozen=True)
class Variant:
    """One SigLIP 2 vision tower.

    Attributes:
        key: Our name, e.g. ``'siglip2-b16-224'``.
        width: Token width (embed dim).
        depth: Number of transformer blocks.
        heads: Attention heads (blocks and MAP head).
        mlp: MLP hidden width (blocks and MAP head).
        patch: Patch size in pixels.
        image_size: Native input size (square); the position-embedding grid is ``image_size // patch``.
        naflex: True for the NaFlex (native aspect ratio) towers.
        pos_resize: Default position-embedding resize mode (what the variant was trained / served with).
        hf_id: Hugging Face hub id (``google/...``), or '' if none.
        timm_name: timm model name with pretrained tag, or ''.
        open_clip_name: open_clip model name, or ''.
        big_vision_name: big_vision checkpoint file name, or ''.
        extra_aliases: Further accepted names.
        shipped: Directory under ``dense/encoders/shipped/`` holding the variant's default weights ('' = none:
            random init by default).
        family: 'siglip2', 'siglip', 'paligemma' or 'scenes' (documentation and listings; nothing branches on it).
        pool: 'map' (attention-pooling head) or 'avg' (no head; ``pooled`` = mean of the final tokens).
        mean, std: Input normalisation of pixels in [0, 1] (SigLIP: 0.5, 0.5 -> [-1, 1]; a timm comparator: its
            pretrained config's).
    """

    key: str
    width: int
    depth: int
    heads: int
    mlp: int
    patch: int
    image_size: int
    naflex: bool = False
    pos_resize: str = 'bicubic'
    hf_id: str = ''
    timm_name: str = ''
    open_clip_name: str = ''
    big_vision_name: str = ''
    extra_aliases: tuple = field(default_factory=tuple)
    shipped: str = ''
    family: str = 'siglip2'
    pool: str = 'map'
    mean: tuple = (0.5, 0.5, 0.5)
    std: tuple = (0.5, 0.5, 0.5)

    @property
    def grid(self) -> int:
        """Side of the (square) position-embedding grid."""
        return self.image_size // self.patch

    def aliases(self) -> tuple:
        """Every name this variant answers to (the timm name also without its tag, except for SigLIP (v1): timm's
        untagged ``vit_*_siglip_*`` definitions are shared with SigLIP 2 and mean SigLIP 2 here)."""
        untagged = self.timm_name.split('.')[0] if self.family != 'siglip' else ''
        names = [self.key, self.hf_id, self.hf_id.split('/')[-1], self.timm_name, untagged,
                 self.open_clip_name, self.big_vision_name, self.big_vision_name.removesuffix('.npz'),
                 *self.extra_aliases]
        return tuple(dict.fromkeys(n for n in names if n))


_TOWERS = {  # name: (width, depth, heads, mlp)
    'b': (768, 12, 12, 3072),
    'l': (1024, 24, 16, 4096),
    'so400m': (1152, 27, 16, 4304),
    'g-opt': (1536, 40, 16, 6144),
}
_HF_TOWER = {'b': 'base', 'l': 'large', 'so400m': 'so400m', 'g-opt': 'giant-opt'}
_TIMM_TOWER = {'b': 'base', 'l': 'large', 'so400m': 'so400m', 'g-opt': 'giantopt'}
_OC_TOWER = {'b': 'B', 'l': 'L', 'so400m': 'SO400M', 'g-opt': 'gopt'}


def _fixed(tower: str, patch: int, res: int, timm_res: int | None = None, open_clip: str | None = None) -> Variant:
    """A fixed-resolution variant; ``timm_res`` is the size timm (and we) use when ``res`` is not a multiple."""
    width, depth, heads, mlp = _TOWERS[tower]
    tres = timm_res or res
    key = f'siglip2-{tower.replace("-", "")}{patch}'
    return Variant(
        key=f'{key}-{res}', width=width, depth=depth, heads=heads, mlp=mlp, patch=patch,
        image_size=tres, hf_id=f'google/siglip2-{_HF_TOWER[tower]}-patch{patch}-{res}',
        timm_name=f'vit_{_TIMM_TOWER[tower]}_patch{patch}_siglip_{tres}.v2_webli',
        open_clip_name=open_clip or f'ViT-{_OC_TOWER[tower]}-{patch}-SigLIP2-{res}',
        big_vision_name=f'siglip2_{tower}{patch}_{res}.npz',
        extra_aliases=(f'{key}-{tres}',) if tres != res else ())


def _naflex(tower: str) -> Variant:
    width, depth, heads, mlp = _TOWERS[tower]
    return Variant(
        key=f'siglip2-{tower}16-naflex', width=width, depth=depth, heads=heads, mlp=mlp, patch=16, image_size=256,
        naflex=True, pos_resize='bilinear_antialias', hf_id=f'google/siglip2-{_HF_TOWER[tower]}-patch16-naflex',
        timm_name=f'naflexvit_{_TIMM_TOWER[tower]}_patch16_siglip.v2_webli',
        big_vision_name=f'siglip2_{tower}16_naflex.npz')


def _siglip1(tower: str, patch: int, res: int, big_vision: str, hf: str = '', timm_res: int | None = None,
             i18n: bool = False, aliases: tuple = ()) -> Variant:
    """A SigLIP (v1) tower; ``i18n`` marks the multilingual ones."""
    width, depth, heads, mlp = _TOWERS[tower]
    lang = '-i18n' if i18n else ''
    suffix = {224: ''}.get(res, f'-{res}') if not i18n else f'-{res}'
    key = f'siglip-{tower}{patch}{lang}-{res}'
    return Variant(
        key=key, width=width, depth=depth, heads=heads, mlp=mlp, patch=patch, image_size=timm_res or res,
        hf_id=f'google/{hf or f"siglip-{_HF_TOWER[tower]}-patch{patch}-{res}{lang}"}',
        timm_name=f'vit_{_TIMM_TOWER[tower]}_patch{patch}_siglip_{timm_res or res}.webli{"_i18n" if i18n else ""}',
        open_clip_name=f'ViT-{_OC_TOWER[tower]}-{patch}-SigLIP{lang}{suffix}', big_vision_name=big_vision,
        family='siglip', extra_aliases=aliases)


def _paligemma(res: int) -> Variant:
    """The So400m/14 tower of PaliGemma / PaliGemma 2 at ``res`` (any of their HF / timm / big_vision names)."""
    width, depth, heads, mlp = _TOWERS['so400m']
    hf = [f'google/paligemma-3b-pt-{res}', *[f'google/paligemma2-{size}-pt-{res}' for size in ('3b', '10b', '28b')]]
    if res != 896:
        hf += [f'google/paligemma-3b-mix-{res}', *[f'google/paligemma2-{s}-mix-{res}' for s in ('3b', '10b', '28b')]]
    timm_base = f'vit_so400m_patch14_siglip_gap_{res}'
    return Variant(
        key=f'paligemma-so400m14-{res}', width=width, depth=depth, heads=heads, mlp=mlp, patch=14, image_size=res,
        hf_id=hf[0], timm_name=f'{timm_base}.pali_pt', big_vision_name=f'paligemma-3b-pt-{res}.npz',
        family='paligemma', pool='avg',
        extra_aliases=(*hf[1:], *(h.split('/')[1] for h in hf[1:]), f'{timm_base}.pali2_3b_pt',
                       f'{timm_base}.pali2_10b_pt'))


_ALL = [
    _fixed('b', 32, 256),
    _fixed('b', 16, 224, open_clip='ViT-B-16-SigLIP2'),
    *[_fixed('b', 16, r) for r in (256, 384, 512)],
    *[_fixed('l', 16, r) for r in (256, 384, 512)],
    _fixed('so400m', 14, 224, open_clip='ViT-SO400M-14-SigLIP2'),
    _fixed('so400m', 14, 384, timm_res=378, open_clip='ViT-SO400M-14-SigLIP2-378'),
    *[_fixed('so400m', 16, r) for r in (256, 384, 512)],
    *[_fixed('g-opt', 16, r) for r in (256, 384)],
    _naflex('b'),
    _naflex('so400m'),
    _siglip1('b', 16, 224, 'webli_en_b16_224_63724782.npz'),
    _siglip1('b', 16, 256, 'webli_en_b16_256_60500360.npz'),
    _siglip1('b', 16, 384, 'webli_en_b16_384_68578854.npz'),
    _siglip1('b', 16, 512, 'webli_en_b16_512_68580893.npz'),
    _siglip1('l', 16, 256, 'webli_en_l16_256_60552751.npz'),
    _siglip1('l', 16, 384, 'webli_en_l16_384_63634585.npz'),
    _siglip1('so400m', 14, 224, 'webli_en_so400m_224_57633886.npz'),
    _siglip1('so400m', 14, 384, 'webli_en_so400m_384_58765454.npz', timm_res=378,
             aliases=('vit_so400m_patch14_siglip_384.webli', 'vit_so400m_patch14_siglip_384', 'siglip-so400m14-378',
                      'ViT-SO400M-14-SigLIP-378')),
    _siglip1('b', 16, 256, 'webli_i18n_b16_256_66117334.npz', hf='siglip-base-patch16-256-multilingual', i18n=True,
             aliases=('google/siglip-base-patch16-256-i18n', 'siglip-base-patch16-256-i18n')),
    _siglip1('so400m', 16, 256, 'webli_i18n_so400m_16_256_78061115.npz', hf='siglip-so400m-patch16-256-i18n',
             i18n=True),
    *[_paligemma(r) for r in (224, 448, 896)],
    # Random-init models of the same architecture: 'tiny' for the demo, 'test' / 'test-naflex' for unit tests.
    Variant(key='tiny', width=192, depth=8, heads=3, mlp=768, patch=16, image_size=224),
    Variant(key='test', width=32, depth=4, heads=2, mlp=64, patch=16, image_size=64),
    # Scene-pretrained reference encoders (dense/pretrain, configs/pretrain): one architecture, random ('scenes')
    # or with the weights shipped in the repository, trained by the sigmoid or sigmoid + dense recipe.
    *[Variant(key=f'scenes{suffix}', width=128, depth=6, heads=2, mlp=512, patch=8, image_size=64,
              shipped=f'scenes{suffix}' if suffix else '') for suffix in ('', '-sigmoid', '-dense')],
    Variant(key='test-naflex', width=32, depth=4, heads=2, mlp=64, patch=16, image_size=256, naflex=True,
            pos_resize='bilinear_antialias'),
]

VARIANTS: dict = {v.key: v for v in _ALL}
_ALIASES: dict = {alias.lower(): v for v in _ALL for alias in v.aliases()}


@functools.lru_cache(maxsize=None)
def timm_variant(name: str) -> Variant:
    """A comparator row for any timm ViT with ``forward_intermediates`` (DINOv2 with registers, CLIP, ...).

    Dimensions are read from timm's definition (built on the meta device); mean / std and the native size from its
    pretrained config, so its preprocessing travels with it; position embeddings resize as timm's
    ``dynamic_img_size`` does (bicubic with antialias). Prefix (class / register) tokens are dropped from the
    patch grid by the encoder.

    Raises:
        KeyError: timm does not know ``name``, or it is not a ViT with ``forward_intermediates``.
    """
    import timm
    import torch
    arch = name.split('.')[0]
    if arch not in timm.list_models():
        raise KeyError(f'timm:{name}: not a timm model name (see timm.list_models())')
    with torch.device('meta'):
        model = timm.create_model(name, pretrained=False, num_classes=0)
    blocks = getattr(model, 'blocks', None)
    if not hasattr(model, 'forward_intermediates') or blocks is None or not hasattr(model, 'patch_embed'):
        raise KeyError(f'timm:{name}: not a ViT with forward_intermediates and a patch embedding')
    cfg = model.pretrained_cfg or {}
    return Variant(
        key=f'timm:{name}', width=model.embed_dim, depth=len(blocks), heads=blocks[0].attn.num_heads,
        mlp=blocks[0].mlp.fc1.out_features, patch=model.patch_embed.patch_size[0],
        image_size=model.patch_embed.img_size[0], pos_resize='bicubic_antialias', timm_name=name, family='timm',
        pool=model.global_pool, mean=tuple(cfg.get('mean', (0.5,) * 3)), std=tuple(cfg.get('std', (0.5,) * 3)))


def get_variant(name: str) -> Variant:
    """Look a variant up by any of its names (our key, HF id, timm / open_clip / big_vision name); ``timm:<name>``
    makes a comparator row for any timm ViT (:func:`timm_variant`).

    Raises:
        KeyError: If no variant has that name; the message lists our keys.
    """
    if name.startswith('timm:'):
        return timm_variant(name[len('timm:'):])
    variant = _ALIASES.get(name.lower().removeprefix('hf-hub:').removeprefix('timm/'))
    if variant is None:
        raise KeyError(f'unknown SigLIP 2 variant {name!r}; known: {", ".join(VARIANTS)} '
                       '(or their HF / timm / open_clip / big_vision names; other timm ViTs: timm:<name>)')
    return variant
