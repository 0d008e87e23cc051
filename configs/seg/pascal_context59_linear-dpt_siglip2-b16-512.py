# Pascal Context, SigLIP 2 / TIPS protocol (linear with MAP output + DPT), SigLIP 2 b16 at 512 px.
_base_ = ['../_base_/seg_pascal_context59.py', '../_base_/protocol_siglip2.py']
encoder = dict(name='siglip2-b16-512', weights='google/siglip2-base-patch16-512')
inference = dict(mode='slide', crop_size=(512, 512), stride=(341, 341))
work_dir = 'work_dirs/seg/pascal_context59_linear-dpt_siglip2-b16-512'
