# Smoke variant of configs/knn/voc_knn_siglip2-*.py: the 'test' encoder at 64 px on a tiny fixture
# (python -m dense.datasets.fixtures voc work_dirs/fixtures/voc --sbd); seconds on CPU.
_base_ = ['_base_/voc_hbird.py']
encoder = dict(name='test', weights=None)
data_root = 'work_dirs/fixtures/voc'
evaluation = dict(input_size=64, memory_size=1024, batch_size=4, num_figures=1, train=dict(data_root=data_root),
                  val=dict(data_root=data_root))
work_dir = 'work_dirs/knn/voc_knn_test-64_hbird_smoke'
