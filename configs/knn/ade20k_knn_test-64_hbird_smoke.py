# Smoke variant of configs/knn/ade20k_knn_siglip2-*.py: the 'test' encoder at 64 px on a tiny fixture
# (python -m dense.datasets.fixtures ade20k work_dirs/fixtures/ade20k); seconds on CPU.
_base_ = ['_base_/ade20k_hbird.py']
encoder = dict(name='test', weights=None)
data_root = 'work_dirs/fixtures/ade20k'
evaluation = dict(input_size=64, memory_size=1024, batch_size=4, num_figures=1, train=dict(data_root=data_root),
                  val=dict(data_root=data_root))
work_dir = 'work_dirs/knn/ade20k_knn_test-64_hbird_smoke'
