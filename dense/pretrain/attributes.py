"""What a scene-trained encoder learned: zero-shot classification of held-out scenes' attributes with its own towers.

For each of 200 held-out pretraining-range scenes (seeds after every shipped run's pool), the image embedding is
scored against one prompt per value ("a {texture} floor", "a {colour} object", "a {shape}"), as SigLIP's image-text
logits; accuracy per attribute against the scene's floor texture and its largest visible object's colour and shape
(the object the pretraining captions name first). Chance: 1 / number of values.

``--similarity`` asks what the demo's patch-similarity maps follow: the mean cosine similarity between a patch on an
object and every other patch, grouped by what the other patch shows (the same object; another object of the same
shape in another colour; of the same colour but another shape; of neither; the ground). Maps "follow shape, not
colour" when the same-shape group scores above the same-colour one.

    python -m dense.pretrain.attributes --encoder scenes-sigmoid [--similarity]
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from dense.encoders import build_encoder
from dense.pretrain.data import PRETRAIN_SEEDS
from dense.scenes.captions import FLOORS, ground_texture, mentionable
from dense.scenes.layout import CLASS_NAMES, COLORS
from dense.scenes.render import render_scene
from dense.text import build_text_encoder


def attribute_accuracy(encoder: str, weights=None, num: int = 200, size: int = 64) -> dict:
    """``{attribute: (accuracy, chance)}`` of zero-shot attribute classification on ``num`` held-out scenes."""
    image, text = build_encoder(encoder, weights=weights), build_text_encoder(encoder, weights=weights)
    seeds = range(PRETRAIN_SEEDS[1] - num, PRETRAIN_SEEDS[1])
    scenes = [render_scene(s, (size, size)) for s in seeds]
    x = torch.from_numpy(np.stack([s.image for s in scenes])).permute(0, 3, 1, 2).float() / 255
    # the object a caption names first: the largest mentionable one (None: an empty floor)
    largest = [next((s.objects[k] for k in mentionable(s.objects, size * size)), None) for s in scenes]
    keep = [i for i, o in enumerate(largest) if o is not None]
    shapes, colours = [n for n in CLASS_NAMES if n != 'ground'], list(COLORS)
    tasks = {'floor': ([f'a {FLOORS[f]} floor' for f in FLOORS], [list(FLOORS).index(ground_texture(s)) for s in seeds],
                       range(num)),
             'colour': ([f'a {c} object' for c in colours], [colours.index(o['color']) if o else -1 for o in largest],
                        keep),
             'shape': ([f'a {c}' for c in shapes], [shapes.index(o['category']) if o else -1 for o in largest], keep)}
    with torch.no_grad():
        pooled = image(image.normalize(x)).pooled
        out = {}
        for name, (prompts, labels, rows) in tasks.items():
            pred = text.logits(pooled, text.encode_text(prompts)).argmax(1).numpy()
            rows = list(rows)
            out[name] = (float((pred[rows] == np.asarray(labels)[rows]).mean()), 1 / len(prompts))
    return out


SIMILARITY_GROUPS = ('same object', 'same shape, other colour', 'same colour, other shape', 'same shape and colour',
                     'other shape and colour', 'ground')


def patch_instances(instances: np.ndarray, patch: int) -> np.ndarray:
    """The object index (-1 = none) covering most pixels of each ``patch`` x ``patch`` cell, row-major ``(h*w,)``;
    ties go to the lower index, as ``np.argmax``."""
    h, w = instances.shape[0] // patch, instances.shape[1] // patch
    cells = instances[:h * patch, :w * patch].reshape(h, patch, w, patch).transpose(0, 2, 1, 3).reshape(h * w, -1)
    counts = np.stack([(cells == k).sum(1) for k in range(-1, int(instances.max()) + 1)], 1)
    return counts.argmax(1) - 1


def similarity_groups(features: torch.Tensor, cell_objects: np.ndarray, objects: list) -> dict:
    """``{group: (sum of cosine similarities, number of pairs)}`` over ordered pairs (object patch, other patch) of
    one image; ``features`` ``(h*w, C)`` row-major like ``cell_objects`` (:func:`patch_instances`)."""
    f = torch.nn.functional.normalize(features.float(), dim=-1)
    sim = (f @ f.T).numpy()
    obj = np.asarray(cell_objects)
    shape = np.array([objects[k]['category'] if k >= 0 else '' for k in obj])
    colour = np.array([objects[k]['color'] if k >= 0 else '' for k in obj])
    on = obj[:, None] >= 0
    other = obj[None, :] >= 0
    same_shape, same_colour = shape[:, None] == shape[None, :], colour[:, None] == colour[None, :]
    masks = {'same object': on & (obj[:, None] == obj[None, :]),
             'ground': on & ~other}
    different = on & other & (obj[:, None] != obj[None, :])
    masks['same shape, other colour'] = different & same_shape & ~same_colour
    masks['same colour, other shape'] = different & ~same_shape & same_colour
    masks['same shape and colour'] = different & same_shape & same_colour
    masks['other shape and colour'] = different & ~same_shape & ~same_colour
    np.fill_diagonal(masks['same object'], False)
    return {g: (float(sim[m].sum()), int(m.sum())) for g, m in masks.items()}


def similarity_follows(encoder: str, weights=None, num: int = 60, size: int = 64, layer: int = -1) -> dict:
    """``{group: (mean cosine similarity, pairs)}`` (:data:`SIMILARITY_GROUPS`) of block ``layer``'s patch tokens over
    ``num`` held-out scenes; NaN for a group no pair fell into."""
    image = build_encoder(encoder, weights=weights)
    block = image.resolve_layers([layer])[0]
    total = {g: [0.0, 0] for g in SIMILARITY_GROUPS}
    for seed in range(PRETRAIN_SEEDS[1] - num, PRETRAIN_SEEDS[1]):
        scene = render_scene(seed, (size, size))
        x = torch.from_numpy(scene.image).permute(2, 0, 1)[None].float() / 255
        with torch.no_grad():
            tokens = image(image.normalize(x), layers=[block]).layers[block][0]   # (C, h, w)
        cells = patch_instances(scene.instances, image.patch_size)
        for g, (s, n) in similarity_groups(tokens.flatten(1).T, cells, scene.objects).items():
            total[g][0] += s
            total[g][1] += n
    return {g: (s / n if n else float('nan'), n) for g, (s, n) in total.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--encoder', default='scenes-sigmoid')
    parser.add_argument('--weights', default=None)
    parser.add_argument('--num', type=int, default=200)
    parser.add_argument('--similarity', action='store_true',
                        help='group patch similarities by what the other patch shows (see the module docstring)')
    parser.add_argument('--layer', type=int, default=-1, help='block whose patch tokens --similarity reads')
    args = parser.parse_args()
    label = f'{args.encoder} [{args.weights}]' if args.weights else args.encoder  # which weights ran
    if args.similarity:
        for group, (mean, pairs) in similarity_follows(args.encoder, args.weights, args.num, layer=args.layer).items():
            print(f'{label} similarity to {group}: {mean:.3f} ({pairs} pairs)')
        return
    for name, (acc, chance) in attribute_accuracy(args.encoder, args.weights, args.num).items():
        print(f'{label} {name}: {100 * acc:.1f} % (chance {100 * chance:.1f} %)')


if __name__ == '__main__':
    main()
