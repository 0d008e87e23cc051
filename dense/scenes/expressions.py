"""Referring expressions for the scenes, generated from the layout and kept only when they pick out one object.

Grammar (``resolve`` parses exactly what ``make_expressions`` writes):
``the [size] [colour] <shape> [in front | at the back | on the left | on the right]`` or
``the [size] [colour] <shape> <left of | right of | in front of | behind> the [size] [colour] <shape>``.
Left/right compare the image abscissa x/z of the objects' centres (margin 0.05), front/behind their z-depth
(margin 0.5 m), so a relation holds only when a viewer can see it.
"""
from __future__ import annotations

import re
from itertools import product

import numpy as np

from dense.scenes.layout import CLASS_NAMES, COLORS, SIZES

MARGIN_U, MARGIN_Z = 0.05, 0.5
MIN_AREA = 0.003   # targets and landmarks cover at least this fraction of the image
ABSOLUTE = {'in front': ('z', 1), 'at the back': ('z', -1), 'on the left': ('u', 1), 'on the right': ('u', -1)}
RELATIONS = {'left of': ('u', -1), 'right of': ('u', 1), 'in front of': ('z', -1), 'behind': ('z', 1)}
_DESC = r'(?:({}) )?(?:({}) )?({})'.format('|'.join(SIZES), '|'.join(COLORS), '|'.join(CLASS_NAMES[1:]))
_PLAIN = re.compile(r'^the {}(?: ({}))?$'.format(_DESC, '|'.join(ABSOLUTE)))
_RELATIONAL = re.compile(r'^the {} ({}) the {}$'.format(_DESC, '|'.join(RELATIONS), _DESC))


def _coord(obj: dict, axis: str) -> float:
    x, _, z = obj['position']
    return x / z if axis == 'u' else z


def _margin(axis: str) -> float:
    return MARGIN_U if axis == 'u' else MARGIN_Z


ATTRIBUTES = ('size', 'color', 'category')   # the order of a description tuple


def _matches(objects: list, desc: tuple, ignore: tuple = ()) -> list[int]:
    """Objects fitting a description (size, colour, shape); attributes in ``ignore`` always fit."""
    return [i for i, o in enumerate(objects)
            if all(want is None or key in ignore or o[key] == want for key, want in zip(ATTRIBUTES, desc))]


def _parse(text: str) -> tuple:
    """The query (desc, relation or None, landmark desc or None) of an expression of the grammar above."""
    plain, relational = _PLAIN.match(text), _RELATIONAL.match(text)
    if plain:
        g = plain.groups()
        return (g[0], g[1], g[2]), g[3], None
    if relational:
        g = relational.groups()
        return (g[0], g[1], g[2]), g[3], (g[4], g[5], g[6])
    raise ValueError(f'dense/scenes/expressions.py: cannot parse expression {text!r}')


def evaluate(query: tuple, objects: list) -> list[int]:
    """Indices of ``objects`` that a query (desc, relation or absolute or None, landmark desc or None) denotes."""
    desc, relation, landmark = query
    found = _matches(objects, desc)
    if relation in ABSOLUTE:
        axis, sign = ABSOLUTE[relation]  # the extreme object has the smallest sign * coordinate
        ranked = sorted(found, key=lambda i: sign * _coord(objects[i], axis))
        if len(ranked) > 1 and sign * (_coord(objects[ranked[1]], axis) - _coord(objects[ranked[0]], axis)) \
                < _margin(axis):
            return ranked
        return ranked[:1]
    if relation in RELATIONS:
        anchors = _matches(objects, landmark)
        if len(anchors) != 1:
            return []
        axis, sign = RELATIONS[relation]
        ref = _coord(objects[anchors[0]], axis)
        return [i for i in found if i != anchors[0] and sign * (_coord(objects[i], axis) - ref) > _margin(axis)]
    return found


def _words(desc: tuple) -> str:
    return ' '.join(w for w in desc if w)


def describe(query: tuple) -> str:
    """The text of a query."""
    desc, relation, landmark = query
    text = f'the {_words(desc)}'
    if relation in RELATIONS:
        return f'{text} {relation} the {_words(landmark)}'
    return f'{text} {relation}' if relation else text


def resolve(text: str, objects: list) -> list[int]:
    """Parse an expression of the grammar above and return the indices of the objects it denotes."""
    return evaluate(_parse(text), objects)


def blind_candidates(text: str, objects: list, image_area: int, blind: tuple = ('category',)) -> list[int]:
    """The objects a reader blind to some attributes (``'category'`` = shape, ``'color'``, ``'size'``) but otherwise
    perfect could take an expression to denote: among the objects large enough to be referred to, those fitting the
    description with the blind words ignored and, for a relation, standing in it to any landmark that could be
    meant (an absolute position is the extreme one among the fitting objects). No candidate left: all of them.
    """
    unknown = set(blind) - set(ATTRIBUTES)
    if unknown:
        raise ValueError(f'blind_candidates: unknown attributes {sorted(unknown)}; use some of {ATTRIBUTES}')
    big = [i for i, o in enumerate(objects) if o['area'] >= MIN_AREA * image_area]
    desc, relation, landmark = _parse(text)
    found = [i for i in _matches(objects, desc, blind) if i in big]
    if relation in ABSOLUTE and found:
        axis, sign = ABSOLUTE[relation]
        best = min(sign * _coord(objects[i], axis) for i in found)
        found = [i for i in found if sign * _coord(objects[i], axis) - best < _margin(axis)]
    elif relation in RELATIONS:
        axis, sign = RELATIONS[relation]
        anchors = [j for j in _matches(objects, landmark, blind) if j in big]
        found = [i for i in found if any(i != j and sign * (_coord(objects[i], axis) - _coord(objects[j], axis))
                                         > _margin(axis) for j in anchors)]
    return found or big


def blind_accuracy(expressions: list, objects: list, image_area: int, blind: tuple = ('category',)) -> float:
    """Mean chance that a blind reader (:func:`blind_candidates`) picking uniformly among its candidates picks each
    expression's ``object``: what a referring head reaches at best on features without those attributes (with exact
    boxes; Acc@0.5 also needs the box)."""
    if not expressions:
        raise ValueError('blind_accuracy: no expressions')
    hits = []
    for e in expressions:
        cands = blind_candidates(e['text'], objects, image_area, blind)
        hits.append((e['object'] in cands) / len(cands))
    return float(np.mean(hits))


def _descs(obj: dict) -> list[tuple]:
    """Descriptions of an object from the shortest (shape only) to the longest (size, colour and shape)."""
    return [(size, color, obj['category']) for size, color in
            ((None, None), (None, obj['color']), (obj['size'], None), (obj['size'], obj['color']))]


def make_expressions(objects: list, rng: np.random.Generator, image_area: int, per_object: int = 2) -> list:
    """Up to ``per_object`` unique expressions per large-enough visible object.

    The first is the object's shortest unique attribute description (when it has one), the next a random spatial
    one (superlative or relative to a uniquely described landmark). Each is kept only if ``evaluate`` picks the
    target alone among all visible objects.
    """
    big = [i for i, o in enumerate(objects) if o['area'] >= MIN_AREA * image_area]
    unique_desc = {j: next((d for d in _descs(objects[j]) if _matches(objects, d) == [j]), None) for j in big}
    out = []
    for i in big:
        attribute = [(unique_desc[i], None, None)] if unique_desc[i] else []
        spatial = [(d, rel, None) for d, rel in product(_descs(objects[i]), ABSOLUTE)
                   if len(_matches(objects, d)) > 1 and evaluate((d, rel, None), objects) == [i]]
        spatial += [(d, rel, unique_desc[j]) for j in big if j != i and unique_desc[j]
                    for d, rel in product(_descs(objects[i])[:2], RELATIONS)
                    if evaluate((d, rel, unique_desc[j]), objects) == [i]]
        chosen = attribute + ([spatial[int(rng.integers(len(spatial)))]] if spatial else [])
        for query in chosen[:per_object]:
            out.append(dict(text=describe(query), object=i, box=objects[i]['box']))
    return out
