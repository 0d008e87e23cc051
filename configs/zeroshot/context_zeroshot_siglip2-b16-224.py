# Zero-shot open-vocabulary segmentation (SCLIP / NACLIP protocol, probes/zeroshot) of context with SigLIP 2 B/16 @224:
# every method from one encoder forward per image; pass the checkpoint with --cfg-options encoder.weights=DIR_OR_HUB_ID
# (the text tower and tokenizer come from the same checkpoint).
data_root = 'data/VOCdevkit/VOC2010'
encoder = dict(name='siglip2-b16-224', weights='google/siglip2-base-patch16-224')
evaluation = dict(
    type='zeroshot', methods=['maskclip', 'sclip', 'clearclip', 'naclip'], templates='imagenet80',
    logit_scale=40.0, prob_thd=0.1, gaussian_std=5.0, num_figures=4,
    benchmarks=[
        dict(name='context60', data=dict(type='seg_folder', kind='pascal_context59', data_root=data_root, split='val')),
        dict(name='context59', data=dict(type='seg_folder', kind='pascal_context59', data_root=data_root, split='val')),
    ],
)
work_dir = 'work_dirs/zeroshot/context_zeroshot_siglip2-b16-224'
