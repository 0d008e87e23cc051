# ADE20K, SigLIP 2 / TIPS protocol (linear with MAP output + DPT), SigLIP 2 so400m14 at 384 px.
_base_ = ['../_base_/seg_ade20k.py', '../_base_/protocol_siglip2.py']
encoder = dict(name='siglip2-so400m14-384', weights='google/siglip2-so400m-patch14-384')
# HF / big_vision weights: fed 384 px, the valid patch conv drops the last 6 px (378 px seen), as the references do
# (timm-format weights feed 378).
crop = 384
data = dict(train=dict(augment=dict(crop_size=(crop, crop), resize=crop)), val=dict(image_resize=crop))
inference = dict(mode='slide', crop_size=(crop, crop), stride=(crop * 2 // 3, crop * 2 // 3))
work_dir = 'work_dirs/seg/ade20k_linear-dpt_siglip2-so400m14-384'
