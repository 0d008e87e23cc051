_base_ = ['_base_/ade20k_hbird.py']
encoder = dict(name='siglip2-b16-224', weights='google/siglip2-base-patch16-224')
evaluation = dict(memory_size=102_400)
work_dir = 'work_dirs/knn/ade20k_knn_siglip2-b16-224_hbird102k'
