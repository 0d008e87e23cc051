# ADE20K, DINOv2 "lin" protocol (BN + linear, last block), SigLIP 2 b16 at 512 px.
_base_ = ['../_base_/seg_ade20k.py', '../_base_/protocol_dinov2_linear.py']
encoder = dict(name='siglip2-b16-512', weights='google/siglip2-base-patch16-512')
crop = 512
data = dict(train=dict(augment=dict(crop_size=(crop, crop), resize=crop)), val=dict(image_resize=crop))
inference = dict(mode='slide', crop_size=(crop, crop), stride=(crop * 2 // 3, crop * 2 // 3))
work_dir = 'work_dirs/seg/ade20k_bnlinear_siglip2-b16-512'
