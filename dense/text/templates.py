"""Prompt templates for class names: the 80 ImageNet templates and the 7-template subset of CLIP.

Radford et al., 2021 (CLIP), ``notebooks/Prompt_Engineering_for_ImageNet.ipynb`` of openai/CLIP: 80 templates, and
the 7 it selected as the best small ensemble. The training-free segmentation methods (SCLIP, ClearCLIP, NACLIP)
average the 80; ``tests/test_text_encoder.py`` checks both lists against open_clip's copy.
"""

IMAGENET_TEMPLATES = (
    'a bad photo of a {}.',
    'a photo of many {}.',
    'a sculpture of a {}.',
    'a photo of the hard to see {}.',
    'a low resolution photo of the {}.',
    'a rendering of a {}.',
    'graffiti of a {}.',
    'a bad photo of the {}.',
    'a cropped photo of the {}.',
    'a tattoo of a {}.',
    'the embroidered {}.',
    'a photo of a hard to see {}.',
    'a bright photo of a {}.',
    'a photo of a clean {}.',
    'a photo of a dirty {}.',
    'a dark photo of the {}.',
    'a drawing of a {}.',
    'a photo of my {}.',
    'the plastic {}.',
    'a photo of the cool {}.',
    'a close-up photo of a {}.',
    'a black and white photo of the {}.',
    'a painting of the {}.',
    'a painting of a {}.',
    'a pixelated photo of the {}.',
    'a sculpture of the {}.',
    'a bright photo of the {}.',
    'a cropped photo of a {}.',
    'a plastic {}.',
    'a photo of the dirty {}.',
    'a jpeg corrupted photo of a {}.',
    'a blurry photo of the {}.',
    'a photo of the {}.',
    'a good photo of the {}.',
    'a rendering of the {}.',
    'a {} in a video game.',
    'a photo of one {}.',
    'a doodle of a {}.',
    'a close-up photo of the {}.',
    'a photo of a {}.',
    'the origami {}.',
    'the {} in a video game.',
    'a sketch of a {}.',
    'a doodle of the {}.',
    'a origami {}.',
    'a low resolution photo of a {}.',
    'the toy {}.',
    'a rendition of the {}.',
    'a photo of the clean {}.',
    'a photo of a large {}.',
    'a rendition of a {}.',
    'a photo of a nice {}.',
    'a photo of a weird {}.',
    'a blurry photo of a {}.',
    'a cartoon {}.',
    'art of a {}.',
    'a sketch of the {}.',
    'a embroidered {}.',
    'a pixelated photo of a {}.',
    'itap of the {}.',
    'a jpeg corrupted photo of the {}.',
    'a good photo of a {}.',
    'a plushie {}.',
    'a photo of the nice {}.',
    'a photo of the small {}.',
    'a photo of the weird {}.',
    'the cartoon {}.',
    'art of the {}.',
    'a drawing of the {}.',
    'a photo of the large {}.',
    'a black and white photo of a {}.',
    'the plushie {}.',
    'a dark photo of a {}.',
    'itap of a {}.',
    'graffiti of the {}.',
    'a toy {}.',
    'itap of my {}.',
    'a photo of a cool {}.',
    'a photo of a small {}.',
    'a tattoo of the {}.',
)

SHORT_TEMPLATES = (
    'itap of a {}.',
    'a bad photo of the {}.',
    'a origami {}.',
    'a photo of the large {}.',
    'a {} in a video game.',
    'art of the {}.',
    'a photo of the small {}.',
)

TEMPLATE_SETS = {'imagenet80': IMAGENET_TEMPLATES, 'short': SHORT_TEMPLATES, 'plain': ('a photo of a {}.',)}


def resolve_templates(templates) -> tuple:
    """A template set by name (``'imagenet80'``, ``'short'``, ``'plain'``) or a sequence of ``'...{}...'`` strings.

    Raises:
        KeyError: Unknown set name.
        ValueError: Empty set, or a template without exactly one ``{}``.
    """
    if isinstance(templates, str):
        if templates not in TEMPLATE_SETS:
            raise KeyError(f'unknown template set {templates!r}; known: {sorted(TEMPLATE_SETS)} (or a list of '
                           "strings with one '{}')")
        return TEMPLATE_SETS[templates]
    templates = tuple(templates)
    if not templates:
        raise ValueError('empty template list; pass e.g. templates=\'imagenet80\' or [\'a photo of a {}.\']')
    bad = [t for t in templates if not isinstance(t, str) or t.count('{}') != 1]
    if bad:
        raise ValueError(f"templates need exactly one '{{}}' where the class name goes: {bad[:3]}")
    return templates
