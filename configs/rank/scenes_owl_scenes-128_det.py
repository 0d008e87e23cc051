# The detection probe of the ranking (which sets `encoder` and `seed`): the OWL-ViT head (no pooled merge) on
# 128 px embedded scenes, trained and tested on all five shapes (the open-vocabulary split is the det-scenes
# experiment's question, not the ranking's), 400 train scenes, 400 iterations (flipped views: on the fly, no cache).
_base_ = ['../det/scenes_owl_tiny-128_ov3of5.py']
encoder = dict(name='scenes', weights=None)
tasks = dict(det=dict(ov_split=None))
probes = [dict(task='det', heads=['owl'], layers=['default'], lrs=[3e-3], pooled=[False])]
data = dict(train=dict(ov_split=None), val=dict(ov_split=None), test=dict(ov_split=None))
work_dir = 'work_dirs/rank/scenes_owl_scenes-128_det'
