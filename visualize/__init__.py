"""Figures and the interactive viewer for dense features and probe predictions.

Library functions take plain arrays or tensors (features ``{layer: (N, C, h, w)}``, images uint8
``(N, H, W, 3)``), compute arrays first, then draw a matplotlib ``Figure`` (no pyplot state) that
:func:`visualize._common.save_figure` writes atomically as PNG (and PDF):

- :mod:`visualize.similarity`: ``patch_similarity`` -> ``draw_similarity`` (layers x images grid).
- :mod:`visualize.pca`: ``pca_map`` (joint, sign-fixed, optional foreground mask) -> ``draw_pca``.
- :mod:`visualize.overlays`: ``draw_segmentation``, ``draw_depth``, ``draw_normals``.
- :mod:`visualize.boxes`: ``draw_boxes``, ``draw_referring``.
- :mod:`visualize.curves`: ``load_scalars`` -> ``draw_curves``; ``load_results`` -> ``draw_bars``.
- :mod:`visualize.viewer`: ``build_viewer`` writes one self-contained HTML file.
- :mod:`visualize.pipeline`: work-dir level helpers used by ``sprobe viz`` (:mod:`visualize.cli`) and the demo.
"""
