# Cityscapes fine, SigLIP 2 / TIPS protocol (linear with MAP output + DPT), SigLIP 2 b16-512 weights fed
# Cityscapes at mmseg's standard (1024 x 2048 frames, 512 x 1024 crops and windows).
_base_ = ['../_base_/seg_cityscapes.py', '../_base_/protocol_siglip2.py']
encoder = dict(name='siglip2-b16-512', weights='google/siglip2-base-patch16-512')
work_dir = 'work_dirs/seg/cityscapes_linear-dpt_siglip2-b16-512'
