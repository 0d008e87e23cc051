"""Embedded procedural scene set: images with exact depth, normals, semantics, boxes and referring expressions.

``render_scene(seed, size)`` / ``SceneSet(split, size, num)`` render scenes (render.py); ``batch.to_batch`` collates
them into the probes' training batch; ``export.write_dataset`` writes them in the ADE20K, NYU, COCO and RefCOCO
layouts; ``expressions.resolve`` parses a referring expression against a scene's objects.
"""
from dense.scenes.layout import CLASS_NAMES
from dense.scenes.render import Scene, SceneSet, render_scene

__all__ = ['CLASS_NAMES', 'Scene', 'SceneSet', 'render_scene']
