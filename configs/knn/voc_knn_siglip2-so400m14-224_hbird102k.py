_base_ = ['_base_/voc_hbird.py']
encoder = dict(name='siglip2-so400m14-224', weights='google/siglip2-so400m-patch14-224')
evaluation = dict(memory_size=102_400, batch_size=32)
work_dir = 'work_dirs/knn/voc_knn_siglip2-so400m14-224_hbird102k'
