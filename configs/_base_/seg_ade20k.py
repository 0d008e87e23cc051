# ADE20K (SceneParsing, ADEChallengeData2016): 150 classes, label 0 ("other") ignored (reduce_zero_label).
# Training: short side resized to the crop size, random scale 0.5-2.0, random crop (cat_max_ratio 0.75), flip,
# photometric distortion, crops padded with the ignore index (mmseg's ADE pipeline,
# scaled to the encoder resolution). Evaluation: short side resized to the crop size, labels at full size.
data_root = 'data/ade/ADEChallengeData2016'
crop = 512
tasks = dict(seg=dict(num_classes=150))
data = dict(
    train=dict(type='seg_folder', kind='ade20k', data_root='{data_root}', split='train',
               augment=dict(crop_size=(crop, crop), resize=crop, scale_range=(0.5, 2.0), flip=True,
                            cat_max_ratio=0.75, photometric=dict())),
    val=dict(type='seg_folder', kind='ade20k', data_root='{data_root}', split='val', image_resize=crop),
)
train_batch_size = 16
val_batch_size = 1
num_workers = 4
