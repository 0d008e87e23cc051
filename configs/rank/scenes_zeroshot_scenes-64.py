# Zero-shot segmentation of 64 px embedded scenes for the ranking (which sets the encoder and seed): the encoder's
# own text tower (random init for 'scenes'), its captions' template, two of the methods, 48 val scenes.
_base_ = ['../zeroshot/scenes_zeroshot_scenes-sigmoid-64.py']
evaluation = dict(methods=['maskclip', 'naclip'], num_figures=0,
                  benchmarks=[dict(name='scenes', data=dict(type='scenes', split='val', size=(64, 64), num=48))])
work_dir = 'work_dirs/rank/scenes_zeroshot_scenes-64'
