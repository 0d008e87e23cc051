# SigLIP 2 dense-probing protocol (Tschannen et al. 2025, Sec. 3.3.1, following TIPS, Maninis et al. 2024; card:
# docs/protocols.md#siglip-2--tips): frozen encoder, layers through the final LayerNorm (TIPS
# get_intermediate_layers(norm=True)); a linear layer on every patch feature of the last block with the MAP-head
# output concatenated (and without, for reference), or TIPS's DPT decoder (google-deepmind/tips decoders.py: 256
# channels, post-process D/8 .. D) on TIPS's 4 layers (So400m: 6, 13, 20, 26). The papers do not publish every
# optimisation constant: DINOv2's segmentation schedule (AdamW, 1500 warm-up iterations, 40k iterations, batch 16)
# with cosine decay and a learning-rate grid, chosen on a seeded 10% held-out part of train (reported on val).
probes = [
    dict(task='seg', heads=['linear'], layers=[[-1]], lrs=[1e-2, 3e-3, 1e-3, 3e-4], pooled=[True, False]),
    dict(task='seg', heads=['dpt'], layers=['tips'], lrs=[1e-3, 3e-4], pooled=[True]),
]
features = dict(norm_layers=True, preprocess='encoder', center_pad=False)
lr_selection = dict(holdout=0.1, seed=0)
optimizer = dict(weight_decay=1e-4, betas=(0.9, 0.999))
schedule = dict(max_iters=40000, warmup_iters=1500, warmup_ratio=1e-3, policy='cosine', checkpoint_interval=4000,
                log_interval=50)
seed = 0
