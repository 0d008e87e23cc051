"""Scene captions for image-text pretraining: "a large red cone left of a small blue box on a checkered floor".

Every caption is true of its scene: objects are named by their real size / colour / shape (the visible ones,
largest first), a spatial relation is written only when :func:`dense.scenes.expressions.evaluate` confirms it, and
the floor word comes from the layout's ground texture. Which objects, which attributes and which relation a caption
uses are drawn from ``rng``, so one scene yields many captions (as an image has many alt-texts in WebLI).
"""
from __future__ import annotations

import numpy as np

from dense.scenes.expressions import RELATIONS, evaluate
from dense.scenes.layout import sample_layout

FLOORS = {'plain': 'plain', 'stripes': 'striped', 'checker': 'checkered', 'noise': 'speckled'}
MIN_AREA = 0.01    # objects covering less than this fraction of the image are not mentioned
MAX_OBJECTS = 2    # keeps a caption within SigLIP's 16-token text length


def _phrase(obj: dict, rng: np.random.Generator, p_attr: float) -> tuple[str, tuple]:
    """'a [size] [colour] <shape>' and its description tuple (size or None, colour or None, shape)."""
    size = obj['size'] if rng.random() < p_attr else None
    color = obj['color'] if rng.random() < p_attr else None
    words = [w for w in (size, color, obj['category']) if w]
    return ('an ' if words[0][0] in 'aeiou' else 'a ') + ' '.join(words), (size, color, obj['category'])


def _relation(objects: list, i: int, j: int) -> str | None:
    """A relation word that holds for object i against object j, with both fully described, or None."""
    def desc(k):
        return objects[k]['size'], objects[k]['color'], objects[k]['category']
    for word in RELATIONS:
        if i in evaluate((desc(i), word, desc(j)), objects):
            return word
    return None


def mentionable(objects: list, image_area: int) -> list[int]:
    """Indices of the objects a caption may name (covering at least :data:`MIN_AREA` of the image), largest first."""
    return sorted((k for k, o in enumerate(objects) if o['area'] >= MIN_AREA * image_area),
                  key=lambda k: -objects[k]['area'])


def scene_caption(objects: list, floor: str, image_area: int, rng: np.random.Generator,
                  p_attr: float = 0.8, p_relation: float = 0.5, max_objects: int = MAX_OBJECTS) -> str:
    """One random true caption of a scene.

    Args:
        objects: ``Scene.objects`` (category, size, colour, area in pixels, position).
        floor: The ground texture (a key of :data:`FLOORS`).
        image_area: H * W of the image the areas were measured in.
        rng: Source of the caption's choices.
        p_attr: Probability of naming each of size and colour.
        p_relation: Probability of relating the first two objects named (when a relation holds).
        max_objects: At most this many objects are named (the largest visible ones).

    Returns:
        Lower-case caption text.
    """
    visible = mentionable(objects, image_area)
    floor_words = f'{FLOORS[floor]} floor'
    if not visible:
        return f'an empty {floor_words}'
    chosen = visible[:int(rng.integers(1, min(max_objects, len(visible)) + 1))]
    phrases = [_phrase(objects[k], rng, p_attr)[0] for k in chosen]
    if len(chosen) > 1 and rng.random() < p_relation:
        word = _relation(objects, chosen[0], chosen[1])
        if word:
            phrases[:2] = [f'{phrases[0]} {word} {phrases[1]}']
    return ' and '.join(phrases) + f' on a {floor_words}'


def swap_shapes(caption: str, rng: np.random.Generator) -> str:
    """The caption with every shape word replaced by another shape drawn from ``rng`` (the same replacement for
    each occurrence of a word): a hard negative that differs from a true caption only in shape, as NegCLIP's
    (Yuksekgonul et al., 2023) swapped-attribute captions; the caption unchanged when it names no shape."""
    from dense.scenes.layout import CLASS_NAMES
    shapes = [n for n in CLASS_NAMES if n != 'ground']
    words = caption.split(' ')
    swap = {}
    for w in words:
        if w in shapes and w not in swap:
            others = [s for s in shapes if s != w]
            swap[w] = others[int(rng.integers(len(others)))]
    return ' '.join(swap.get(w, w) for w in words)


def ground_texture(seed: int) -> str:
    """The ground texture of the scene of ``seed`` (drawn by its layout)."""
    return sample_layout(int(seed)).ground['texture']


def caption_vocabulary() -> list[str]:
    """Every word a caption (or an expression, or a class name) can contain, for building a tokenizer."""
    from dense.scenes.expressions import ABSOLUTE
    from dense.scenes.layout import CLASS_NAMES, COLORS, SIZES
    words = {'a', 'an', 'and', 'on', 'the', 'floor', 'empty', 'photo', 'of', *FLOORS.values(), *CLASS_NAMES,
             *COLORS, *SIZES}
    for phrase in (*RELATIONS, *ABSOLUTE):
        words.update(phrase.split())
    return sorted(words)
