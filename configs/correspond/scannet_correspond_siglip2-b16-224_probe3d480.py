_base_ = ['_base_/scannet_probe3d.py']
# pos_resize: Probe3D resizes position embeddings with timm's resample_abs_pos_embed (bicubic, antialiased)
encoder = dict(name='siglip2-b16-224', weights='google/siglip2-base-patch16-224', pos_resize='bicubic_antialias')
work_dir = 'work_dirs/correspond/scannet_correspond_siglip2-b16-224_probe3d480'
