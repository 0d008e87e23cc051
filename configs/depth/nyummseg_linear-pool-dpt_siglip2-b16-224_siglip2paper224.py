_base_ = ['_base_/nyu_mmseg.py']
# depth probes on frozen siglip2-b16-224 as in SigLIP 2 (Sec. 3.3.1, TIPS protocol): a linear layer or a DPT
# decoder on patch features with the MAP-head output concatenated to each; images resized to the encoder's native
# 224 px (labels and metrics stay at 480). The paper gives no optimiser details: Probe3D's are used.
encoder = dict(name='siglip2-b16-224', weights='google/siglip2-base-patch16-224')  # weights: path or hub id of the pretrained checkpoint
probes = [dict(task='depth', heads=['linear', 'dpt'], layers=['default'], lrs=[5e-4], pooled=[True],
               head_opts=dict(dpt=dict(hidden_dim=512)))]
data = dict(train=dict(image_size=(224, 224)), val=dict(image_size=(224, 224)))
work_dir = 'work_dirs/depth/nyummseg_linear-pool-dpt_siglip2-b16-224_siglip2paper224'
