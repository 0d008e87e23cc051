# Smoke variant of configs/correspond/navi_correspond_siglip2-*.py: the 'test' encoder on a tiny NAVI-layout fixture
# (python -m dense.datasets.pair_fixtures navi work_dirs/fixtures/navi_pairs); seconds on CPU.
_base_ = ['_base_/navi_probe3d.py']
encoder = dict(name='test', weights=None)
evaluation = dict(num_figures=1, data=dict(root='work_dirs/fixtures/navi_pairs', size=48, every=1))
work_dir = 'work_dirs/correspond/navi_correspond_test-48_probe3d_smoke'
