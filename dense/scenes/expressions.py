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


def _matches(objects: list, desc: tuple) -> list[int]:
    size, color, category = desc
    return [i for i, o in enumerate(objects) if o['category'] == category
            and size in (None, o['size']) and color in (None, o['color'])]


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
    plain, relational = _PLAIN.match(text), _RELATIONAL.match(text)
    if plain:
        g = plain.groups()
        return evaluate(((g[0], g[1], g[2]), g[3], None), objects)
    if relational:
        g = relational.groups()
        return evaluate(((g[0], g[1], g[2]), g[3], (g[4], g[5], g[6])), objects)
    raise ValueError(f'dense/scenes/expressions.py: cannot parse expression {text!r}')


def _descs(obj: dict) -> list[tuple]:
    """Descriptions of an object from the shortest (shape only) to the longest (size, colour and shape)."""
    return [(size, color, obj['category']) for size, color in
            ((None, None), (None, obj['color']), (obj['size'], None), (obj['size'], obj['color']))]


def make_expressions(objects: list, rng: np.random.Generator, image_area: int, per_object: int = 2) -> list:
    """Up to ``per_object`` unique expressions per visible object: its shortest attribute description and a spatial one."""
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
