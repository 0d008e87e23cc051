# LVIS open-vocabulary detection with an OWL-ViT head on frozen SigLIP 2 so400m14 tokens (+ its text tower), 768 px.
_base_ = ['_base_/lvis_norare.py']
encoder = dict(name='siglip2-so400m14-224', weights='google/siglip2-so400m-patch14-224')
work_dir = 'work_dirs/det/lvis_owl_siglip2-so400m14-768_norare'
