# ADE20K, SigLIP 2 / TIPS protocol (linear with MAP output + DPT), SigLIP 2 l16 at 512 px.
_base_ = ['../_base_/seg_ade20k.py', '../_base_/protocol_siglip2.py']
encoder = dict(name='siglip2-l16-512', weights='google/siglip2-large-patch16-512')
crop = 512
data = dict(train=dict(augment=dict(crop_size=(crop, crop), resize=crop)), val=dict(image_resize=crop))
inference = dict(mode='slide', crop_size=(crop, crop), stride=(crop * 2 // 3, crop * 2 // 3))
work_dir = 'work_dirs/seg/ade20k_linear-dpt_siglip2-l16-512'
