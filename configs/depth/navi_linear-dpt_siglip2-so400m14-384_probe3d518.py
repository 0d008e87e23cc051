_base_ = ['_base_/navi_probe3d.py']
# depth probes (Probe3D's Linear and DPT, 4 quarter-depth layers) on siglip2-so400m14-384, Probe3D protocol:
# the 512 px crop zero-padded to 518 (whole 14-px patches); labels and metrics at the crop's size.
# pos_resize: Probe3D resizes position embeddings with timm's resample_abs_pos_embed (bicubic, antialiased)
encoder = dict(name='siglip2-so400m14-384', weights='google/siglip2-so400m-patch14-384', pos_resize='bicubic_antialias')
probes = [dict(task='depth', heads=['probe3d_linear', 'probe3d_dpt'], layers=['default'], lrs=[5e-4],
               head_opts=dict(probe3d_linear=dict(kernel_size=3), probe3d_dpt=dict(hidden_dim=512, kernel_size=3)))]
work_dir = 'work_dirs/depth/navi_linear-dpt_siglip2-so400m14-384_probe3d518'
