_base_ = ['_base_/navi_probe3d.py']
# depth probes (linear on the 4 quarter-depth layers, DPT 512) on siglip2-b16-224, Probe3D protocol:
# the 512 x 512 crop fed at 512 px (whole 16-px patches; the labels and metrics stay at 512).
# pos_resize: Probe3D resizes position embeddings with timm's resample_abs_pos_embed (bicubic, antialiased)
encoder = dict(name='siglip2-b16-224', weights='google/siglip2-base-patch16-224', pos_resize='bicubic_antialias')  # weights: checkpoint path or hub id
probes = [dict(task='depth', heads=['linear', 'dpt'], layers=['default'], lrs=[5e-4],
               head_opts=dict(dpt=dict(hidden_dim=512)))]
data = dict(train=dict(image_size=(512, 512)), val=dict(image_size=(512, 512)))
work_dir = 'work_dirs/depth/navi_linear-dpt_siglip2-b16-224_probe3d512'
