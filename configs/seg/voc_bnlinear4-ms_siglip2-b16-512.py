# PASCAL VOC 2012, DINOv2 "+ms" protocol (BN + linear on the last 4 blocks through the final LayerNorm; DINOv2's ms
# configs: crop 640, training scale 1.0-3.0 of the 640 short side, test at short side 640 x [1.0, 1.32, 1.73, 2.28,
# 3.0] with flip, sliding windows), SigLIP 2 b16-512 weights; card: docs/protocols.md#dinov2-ms.
_base_ = ['../_base_/seg_voc.py', '../_base_/protocol_dinov2_linear.py']
encoder = dict(name='siglip2-b16-512', weights='google/siglip2-base-patch16-512')
crop = 640
data = dict(train=dict(augment=dict(crop_size=(crop, crop), resize=crop, scale_range=(1.0, 3.0))),
            val=dict(image_resize=crop))
inference = dict(mode='slide', crop_size=(crop, crop), stride=(crop * 2 // 3, crop * 2 // 3),
                 scales=(1.0, 1.32, 1.73, 2.28, 3.0), flip=True)  # MultiScaleFlipAug(flip=True)
probes = [dict(task='seg', heads=['bn_linear'], layers=[[-4, -3, -2, -1]], lrs=[1e-3])]
work_dir = 'work_dirs/seg/voc_bnlinear4-ms_siglip2-b16-512'
