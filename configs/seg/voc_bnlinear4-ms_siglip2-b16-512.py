# PASCAL VOC 2012, DINOv2 "+ms" protocol (BN + linear on the last 4 blocks, multi-scale + flip test), SigLIP 2 b16 at 512 px.
_base_ = ['../_base_/seg_voc.py', '../_base_/protocol_dinov2_linear.py']
encoder = dict(name='siglip2-b16-512', weights='google/siglip2-base-patch16-512')
crop = 512
data = dict(train=dict(augment=dict(crop_size=(crop, crop), resize=crop)), val=dict(image_resize=crop))
inference = dict(mode='slide', crop_size=(crop, crop), stride=(crop * 2 // 3, crop * 2 // 3),
                 scales=(0.5, 0.75, 1.0, 1.25, 1.5, 1.75), flip=True)  # MultiScaleFlipAug(flip=True)
work_dir = 'work_dirs/seg/voc_bnlinear4-ms_siglip2-b16-512'
probes = [dict(task='seg', heads=['bn_linear'], layers=[[-4, -3, -2, -1]], lrs=[1e-3, 3e-4, 1e-4])]
