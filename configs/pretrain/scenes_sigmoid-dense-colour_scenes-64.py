# The sigmoid + dense recipe with DINO / iBOT-style colour augmentation of the student's views in the dense losses
# (SILC and TIPS take their views from DINO / iBOT, whose student and teacher crops are colour-jittered; the
# teacher here sees the image as it is), hue shifts over the whole colour circle and grayscale: the student must
# match the teacher's local and masked-patch targets without the colour, the one thing the sigmoid recipe learned.
#   sprobe pretrain configs/pretrain/scenes_sigmoid-dense-colour_scenes-64.py
# Identical to the sigmoid run up to step 4,800; branch from its checkpoint-4800.pt as scenes_sigmoid-dense does.
_base_ = ['./scenes_sigmoid-dense_scenes-64.py']
dense = dict(colour=dict(p=0.8, brightness=0.4, contrast=0.4, saturation=0.4, hue=0.5, grayscale=0.2))
work_dir = 'work_dirs/pretrain/scenes_sigmoid-dense-colour_scenes-64'
