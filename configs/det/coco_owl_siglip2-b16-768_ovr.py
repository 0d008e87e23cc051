# COCO open-vocabulary detection with an OWL-ViT head on frozen SigLIP 2 b16 tokens (+ its text tower), 768 px.
_base_ = ['_base_/coco_ovr.py']
encoder = dict(name='siglip2-b16-224', weights='google/siglip2-base-patch16-224')
work_dir = 'work_dirs/det/coco_owl_siglip2-b16-768_ovr'
