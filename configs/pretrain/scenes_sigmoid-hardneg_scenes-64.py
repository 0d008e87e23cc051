# The sigmoid recipe with shape hard negatives (NegCLIP-style): every caption of a batch again with its shape words
# swapped, as negatives of every image. The shipped encoders learned colour and floor texture but not shape (zero-shot
# shape 25.5 %, chance 20 %); this asks whether captions that differ only in shape teach it. Measured: no (floor
# 89.5 %, colour 79.5 %, shape 28.0 % after 6,000 steps; docs/encoders.md), so it is not shipped.
#   sprobe pretrain configs/pretrain/scenes_sigmoid-hardneg_scenes-64.py
#   python -m dense.pretrain.attributes --encoder scenes --weights work_dirs/pretrain/scenes_sigmoid-hardneg_scenes-64/hf
_base_ = ['./scenes_sigmoid_scenes-64.py']
hard_negatives = 'shape'
work_dir = 'work_dirs/pretrain/scenes_sigmoid-hardneg_scenes-64'
