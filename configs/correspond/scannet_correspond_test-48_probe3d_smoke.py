# Smoke variant of configs/correspond/scannet_correspond_siglip2-*.py: the 'test' encoder on a tiny
# scannet_test_1500-layout fixture (python -m dense.datasets.pair_fixtures scannet work_dirs/fixtures/scannet_pairs).
_base_ = ['_base_/scannet_probe3d.py']
encoder = dict(name='test', weights=None)
evaluation = dict(num_figures=1, data=dict(root='work_dirs/fixtures/scannet_pairs', image_size=(48, 64)))
work_dir = 'work_dirs/correspond/scannet_correspond_test-48_probe3d_smoke'
