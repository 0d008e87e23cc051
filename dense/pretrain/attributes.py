"""What a scene-trained encoder learned: zero-shot classification of held-out scenes' attributes with its own towers.

For each of 200 held-out pretraining-range scenes (seeds after every shipped run's pool), the image embedding is
scored against one prompt per value ("a {texture} floor", "a {colour} object", "a {shape}"), as SigLIP's image-text
logits; accuracy per attribute against the scene's floor texture and its largest visible object's colour and shape
(the object the pretraining captions name first). Chance: 1 / number of values.

    python -m dense.pretrain.attributes --encoder scenes-sigmoid
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--encoder', default='scenes-sigmoid')
    parser.add_argument('--weights', default=None)
    parser.add_argument('--num', type=int, default=200)
    args = parser.parse_args()
    for name, (acc, chance) in attribute_accuracy(args.encoder, args.weights, args.num).items():
        print(f'{args.encoder} {name}: {100 * acc:.1f} % (chance {100 * chance:.1f} %)')


if __name__ == '__main__':
    main()
