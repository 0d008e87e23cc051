# PASCAL VOC 2012 segmentation: 21 classes (background included), 255 = ignore (object boundaries); training on
# train + the SBD augmented set (SegmentationClassAug, mmseg's voc_aug converter), evaluation on val.
data_root = 'data/VOCdevkit/VOC2012'
crop = 512
tasks = dict(seg=dict(num_classes=21))
data = dict(
    train=dict(type='seg_folder', kind='voc', data_root='{data_root}', split='train', sbd=True,
               augment=dict(crop_size=(crop, crop), resize=crop, scale_range=(0.5, 2.0), flip=True,
                            cat_max_ratio=0.75, photometric=dict())),
    val=dict(type='seg_folder', kind='voc', data_root='{data_root}', split='val', image_resize=crop),
)
train_batch_size = 16
val_batch_size = 1
num_workers = 4
