# The approximate-search option: faiss IVF (fp16 codes), 1,024 lists, 32 probed; compare with _hbird102k.
_base_ = ['_base_/voc_hbird.py']
encoder = dict(name='siglip2-b16-224', weights='google/siglip2-base-patch16-224')
evaluation = dict(memory_size=102_400, search='ivf', nlist=1024, nprobe=32)
work_dir = 'work_dirs/knn/voc_knn_siglip2-b16-224_hbird102k-ivf'
