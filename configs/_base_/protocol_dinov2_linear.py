# DINOv2 linear segmentation protocol (Oquab et al. 2023, Sec. 7.4 and its released mmseg configs): BatchNorm +
# 1x1 conv on the last block ("lin"); 40k iterations, batch 16, AdamW, 1500 warm-up iterations, poly decay;
# sliding-window inference. The "+ms" variant (last 4 blocks, multi-scale test) overrides probes and inference.
probes = [dict(task='seg', heads=['bn_linear'], layers=[[-1]], lrs=[1e-3, 3e-4, 1e-4])]
optimizer = dict(weight_decay=1e-4, betas=(0.9, 0.999))
schedule = dict(max_iters=40000, warmup_iters=1500, warmup_ratio=1e-6, policy='poly', power=1.0,
                checkpoint_interval=4000, log_interval=50)
seed = 0
