_base_ = ['_base_/navi_probe3d.py']
# normals probes (linear on the 4 quarter-depth layers, DPT 512) on siglip2-so400m14-384, Probe3D protocol:
# the 512 x 512 crop fed at 504 px (whole 14-px patches; the labels and metrics stay at 512).
# pos_resize: Probe3D resizes position embeddings with timm's resample_abs_pos_embed (bicubic, antialiased)
encoder = dict(name='siglip2-so400m14-384', weights='google/siglip2-so400m-patch14-384', pos_resize='bicubic_antialias')  # weights: checkpoint path or hub id
probes = [dict(task='normals', heads=['linear', 'dpt'], layers=['default'], lrs=[5e-4],
               head_opts=dict(dpt=dict(hidden_dim=512)))]
data = dict(train=dict(image_size=(504, 504)), val=dict(image_size=(504, 504)))
work_dir = 'work_dirs/normals/navi_linear-dpt_siglip2-so400m14-384_probe3d504'
