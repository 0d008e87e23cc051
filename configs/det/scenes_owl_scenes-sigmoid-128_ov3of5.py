# The detection must-show run with the shipped scene-trained towers instead of random-init 'tiny' ones
# (python -m dense.cli det-scenes --config configs/det/scenes_owl_scenes-sigmoid-128_ov3of5.py): the novel-shape AP
# of this run is the open-vocabulary claim of the reference-encoder issue, reported either way.
_base_ = './scenes_owl_tiny-128_ov3of5.py'
encoder = dict(name='scenes-sigmoid', weights=None)
probes = [dict(task='det', heads=['owl'], layers=[[1, 3, 5]], lrs=[3e-3], pooled=[False, True])]
work_dir = 'work_dirs/det/scenes_owl_scenes-sigmoid-128_ov3of5'
