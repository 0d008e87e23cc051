# Smoke variant of configs/correspond/spair_correspond_siglip2-*.py: the 'test' encoder on a tiny SPair-71k-layout
# fixture (python -m dense.datasets.pair_fixtures spair work_dirs/fixtures/spair).
_base_ = ['_base_/spair_probe3d.py']
encoder = dict(name='test', weights=None)
evaluation = dict(num_figures=1, data=dict(root='work_dirs/fixtures/spair', image_size=64))
work_dir = 'work_dirs/correspond/spair_correspond_test-64_probe3d_smoke'
