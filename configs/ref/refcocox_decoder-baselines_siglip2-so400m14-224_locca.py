# RefCOCO / RefCOCO+ / RefCOCOg with SigLIP 2 So400m/14 at 224 px; decoder and baselines (see _base_).
_base_ = ['_base_/refcocox_locca.py']
encoder = dict(name='siglip2-so400m14-224', weights='google/siglip2-so400m-patch14-224')
size = (224, 224)
data = dict(train=dict(size=size), val=dict(size=size), test=dict(size=size))
work_dir = 'work_dirs/ref/refcocox_decoder-baselines_siglip2-so400m14-224_locca'
