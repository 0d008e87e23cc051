_base_ = ['_base_/voc_hbird.py']
encoder = dict(name='siglip2-b16-224', weights='google/siglip2-base-patch16-224')
evaluation = dict(memory_size=10_240_000)
work_dir = 'work_dirs/knn/voc_knn_siglip2-b16-224_hbird10m'
