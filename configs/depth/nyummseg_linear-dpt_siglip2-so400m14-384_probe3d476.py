_base_ = ['_base_/nyu_mmseg.py']
# depth probes (linear on the 4 quarter-depth layers, DPT 512) on siglip2-so400m14-384, Probe3D protocol:
# the 480 x 480 crop fed at 476 px (whole 14-px patches; the labels and metrics stay at 480).
# pos_resize: Probe3D resizes position embeddings with timm's resample_abs_pos_embed (bicubic, antialiased)
encoder = dict(name='siglip2-so400m14-384', weights='google/siglip2-so400m-patch14-384', pos_resize='bicubic_antialias')  # weights: checkpoint path or hub id
probes = [dict(task='depth', heads=['linear', 'dpt'], layers=['default'], lrs=[5e-4],
               head_opts=dict(dpt=dict(hidden_dim=512)))]
data = dict(train=dict(image_size=(476, 476)), val=dict(image_size=(476, 476)))
work_dir = 'work_dirs/depth/nyummseg_linear-dpt_siglip2-so400m14-384_probe3d476'
