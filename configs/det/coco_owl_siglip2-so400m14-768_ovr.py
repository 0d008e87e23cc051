# COCO open-vocabulary detection with an OWL-ViT head on frozen SigLIP 2 so400m14 tokens (+ its text tower), 768 px.
_base_ = ['_base_/coco_ovr.py']
encoder = dict(name='siglip2-so400m14-224', weights='google/siglip2-so400m-patch14-224')
work_dir = 'work_dirs/det/coco_owl_siglip2-so400m14-768_ovr'
