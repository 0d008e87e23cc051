# COCO-Stuff 164k (171 classes, *_labelTrainIds.png from mmseg's coco_stuff164k converter, 255 ignored).
# Training: short side resized to the crop size, random scale 0.5-2.0, random crop (cat_max_ratio 0.75), flip,
# photometric distortion, crops padded with the ignore index; evaluation: short side
# resized to the crop size, labels at full size.
data_root = 'data/coco_stuff164k'
crop = 512
tasks = dict(seg=dict(num_classes=171))
data = dict(
    train=dict(type='seg_folder', kind='coco_stuff', data_root='{data_root}', split='train',
               augment=dict(crop_size=(crop, crop), resize=crop, scale_range=(0.5, 2.0), flip=True,
                            cat_max_ratio=0.75, photometric=dict())),
    val=dict(type='seg_folder', kind='coco_stuff', data_root='{data_root}', split='val', image_resize=crop),
)
train_batch_size = 16
val_batch_size = 1
num_workers = 4
