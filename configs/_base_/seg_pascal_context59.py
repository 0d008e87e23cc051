# Pascal Context (59 classes, label 0 ignored via reduce_zero_label), mmseg layout: JPEGImages, SegmentationClassContext, ImageSets/SegmentationContext.
# Training: short side resized to the crop size, random scale 0.5-2.0, random crop (cat_max_ratio 0.75), flip,
# photometric distortion, crops padded with the ignore index; evaluation: short side
# resized to the crop size, labels at full size.
data_root = 'data/VOCdevkit/VOC2010'
crop = 512
tasks = dict(seg=dict(num_classes=59))
data = dict(
    train=dict(type='seg_folder', kind='pascal_context59', data_root='{data_root}', split='train',
               augment=dict(crop_size=(crop, crop), resize=crop, scale_range=(0.5, 2.0), flip=True,
                            cat_max_ratio=0.75, photometric=dict())),
    val=dict(type='seg_folder', kind='pascal_context59', data_root='{data_root}', split='val', image_resize=crop),
)
train_batch_size = 16
val_batch_size = 1
num_workers = 4
