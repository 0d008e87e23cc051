"""The shipped scene-trained encoder learned what its captions say: zero-shot, with its own text tower, it names the
floor texture and the captioned object's colour of held-out scenes far above chance (measured on 200 scenes:
90.5 % and 82.0 % vs 25 % and 12.5 %; random init: 30.5 % and 15.0 %)."""
import numpy as np
import torch

from dense.pretrain.attributes import (SIMILARITY_GROUPS, attribute_accuracy, patch_instances, similarity_follows,
                                      similarity_groups)


def test_shipped_encoder_knows_floor_and_colour():
    acc = attribute_accuracy('scenes-sigmoid', num=60)
    for name in ('floor', 'colour'):
        accuracy, chance = acc[name]
        assert accuracy > 2.5 * chance, (name, accuracy, chance)
    assert set(acc) == {'floor', 'colour', 'shape'}


def test_patch_instances_majority_per_cell():
    inst = np.full((4, 6), -1)
    inst[:2, :2] = 0          # cell (0, 0): all object 0
    inst[0, 2:4] = 1          # cell (0, 1): 2 of 4 pixels object 1, 2 ground: tie -> lower index (-1)
    inst[2:, 4:] = 1
    inst[3, 5] = 0            # cell (1, 2): 3 of 4 object 1
    assert patch_instances(inst, 2).tolist() == [0, -1, -1, -1, -1, 1]


def test_similarity_groups_on_hand_made_features():
    objects = [dict(category='cone', color='red'), dict(category='cone', color='blue'),
               dict(category='box', color='red')]
    cells = np.array([0, 0, 1, 2, -1])
    shape_feat = torch.tensor([[1., 0, 0], [1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])   # features = shape one-hot
    g = similarity_groups(shape_feat, cells, objects)
    # ordered pairs: same object (0,1),(1,0); same shape other colour: 0/1 with 2 and back; same colour other
    # shape: 0/1 with 3 and back; other both: 2 with 3 and back; ground: every object patch with patch 4
    assert g['same object'] == (2.0, 2)
    assert g['same shape, other colour'] == (4.0, 4)
    assert g['same colour, other shape'] == (0.0, 4)
    assert g['other shape and colour'] == (0.0, 2)
    assert g['ground'] == (0.0, 4)
    assert g['same shape and colour'] == (0.0, 0)
    colour_feat = torch.tensor([[1., 0], [1, 0], [0, 1], [1, 0], [0, 0.5]])                 # features = colour
    g = similarity_groups(colour_feat, cells, objects)
    assert g['same colour, other shape'] == (4.0, 4) and g['same shape, other colour'] == (0.0, 4)


def test_similarity_follows_runs_on_an_encoder():
    out = similarity_follows('scenes', num=3)
    assert set(out) == set(SIMILARITY_GROUPS)
    assert out['same object'][1] > 0 and -1 <= out['same object'][0] <= 1
