"""Embedded procedural scene set: images with exact depth, normals, semantics, boxes and referring expressions."""
from dense.scenes.layout import CLASS_NAMES
from dense.scenes.render import Scene, SceneSet, render_scene

__all__ = ['CLASS_NAMES', 'Scene', 'SceneSet', 'render_scene']
