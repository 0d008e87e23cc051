# SigLIP 2 dense-probing protocol (Tschannen et al. 2025, Sec. 3.3.1, following TIPS, Maninis et al. 2024):
# frozen encoder; a linear layer on every patch feature of the last block with the MAP-head output concatenated
# (and without, for reference), or a DPT decoder on the quarter-depth blocks (Probe3D indices, hidden 512).
# The papers do not publish every optimisation constant: we use DINOv2's segmentation schedule (AdamW, 1500
# warm-up iterations, 40k iterations, batch 16) with cosine decay and a learning-rate grid chosen on val.
probes = [
    dict(task='seg', heads=['linear'], layers=[[-1]], lrs=[1e-2, 3e-3, 1e-3, 3e-4], pooled=[True, False]),
    dict(task='seg', heads=['dpt'], layers=['default'], lrs=[1e-3, 3e-4],
         head_opts=dict(dpt=dict(hidden_dim=512, reassemble_dims=(96, 192, 384, 768)))),
]
optimizer = dict(weight_decay=1e-4, betas=(0.9, 0.999))
schedule = dict(max_iters=40000, warmup_iters=1500, warmup_ratio=1e-3, policy='cosine', checkpoint_interval=4000,
                log_interval=50)
seed = 0
