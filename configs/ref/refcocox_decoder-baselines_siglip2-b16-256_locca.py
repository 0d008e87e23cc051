# RefCOCO / RefCOCO+ / RefCOCOg with SigLIP 2 B/16 at 256 px (the paper's Table 5 row: RefCOCO val 83.76 with
# LocCa's text-decoded boxes); decoder plus the similarity, centre-box and largest-object baselines.
_base_ = ['_base_/refcocox_locca.py']
encoder = dict(name='siglip2-b16-256', weights='google/siglip2-base-patch16-256')
work_dir = 'work_dirs/ref/refcocox_decoder-baselines_siglip2-b16-256_locca'
