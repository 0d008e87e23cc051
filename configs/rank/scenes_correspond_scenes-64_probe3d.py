# Dense correspondence on 64 px embedded-scene pairs for the ranking (which sets the encoder and seed): Probe3D's
# matching on 96 val pairs orbited up to 60 degrees, recall at 5 / 10 / 20 px, per viewpoint bin, and of the wide
# pairs (>= 30 degrees). The ranking reads the wide pairs' recall: below 30 degrees a matcher that sees no image
# (position code only, `scenes/blind/...`) beats every encoder at 64 px (docs/knn_correspondence.md).
_base_ = ['../correspond/scenes_correspond_tiny-224_probe3d.py']
evaluation = dict(num_figures=0, data=dict(size=(64, 64), num=96))
work_dir = 'work_dirs/rank/scenes_correspond_scenes-64_probe3d'
