"""The SigLIP 2 vision variants: the one table every other module reads.

Dimensions follow the SigLIP 2 release (Tschannen et al., 2025, "SigLIP 2: Multilingual Vision-Language Encoders
with Improved Semantic Understanding, Localization, and Dense Features"; big_vision README_siglip2.md) and agree
with timm's ``vit_*_siglip_*`` definitions (checked in tests/test_encoders.py). Each variant carries every name it
is published under, so a user may pass any of them to :func:`dense.encoders.build_encoder`.
"""
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

    @property
    def grid(self) -> int:
        """Side of the (square) position-embedding grid."""
        return self.image_size // self.patch

    def aliases(self) -> tuple:
        """Every name this variant answers to (the timm name also without its tag)."""
        names = [self.key, self.hf_id, self.hf_id.split('/')[-1], self.timm_name, self.timm_name.split('.')[0],
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
    # Random-init models of the same architecture: 'tiny' for the demo, 'test' / 'test-naflex' for unit tests.
    Variant(key='tiny', width=192, depth=8, heads=3, mlp=768, patch=16, image_size=224),
    Variant(key='test', width=32, depth=4, heads=2, mlp=64, patch=16, image_size=64),
    Variant(key='test-naflex', width=32, depth=4, heads=2, mlp=64, patch=16, image_size=256, naflex=True,
            pos_resize='bilinear_antialias'),
]

VARIANTS: dict = {v.key: v for v in _ALL}
_ALIASES: dict = {alias.lower(): v for v in _ALL for alias in v.aliases()}


def get_variant(name: str) -> Variant:
    """Look a variant up by any of its names (our key, HF id, timm / open_clip / big_vision name).

    Raises:
        KeyError: If no variant has that name; the message lists our keys.
    """
    variant = _ALIASES.get(name.lower().removeprefix('hf-hub:').removeprefix('timm/'))
    if variant is None:
        raise KeyError(f'unknown SigLIP 2 variant {name!r}; known: {", ".join(VARIANTS)} '
                       '(or their HF / timm / open_clip / big_vision names)')
    return variant
