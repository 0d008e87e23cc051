"""NaFlex sizing: the largest aspect-preserving resize of an image that fits a patch budget.

Follows the rule of big_vision's NaFlex preprocessing as implemented by transformers'
``Siglip2ImageProcessor`` (``get_image_size_for_max_num_patches``): scale both sides by one factor, round each up
to a multiple of the patch size, and keep the largest factor whose patch count is within ``max_num_patches``.
Solved exactly over the factors where a side gains a patch, instead of by bisection.
"""

_MAX_SCALE = 100  # the processor never scales by more than this


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def naflex_size(height: int, width: int, patch: int, max_num_patches: int) -> tuple:
    """Target pixel size (H, W), multiples of ``patch``, for a ``height`` x ``width`` image.

    Args:
        height: Image height in pixels.
        width: Image width in pixels.
        patch: Patch size.
        max_num_patches: Patch budget (HF default 256).

    Returns:
        (H, W) with (H / patch) * (W / patch) <= max_num_patches (at least one patch per side).
    """
    if min(height, width, patch, max_num_patches) < 1:
        raise ValueError(f'naflex_size needs positive sizes, got {height}x{width}, patch {patch}, '
                         f'budget {max_num_patches}')
    # Candidate scales are where one side reaches a whole number of patches: s = a*p/height or b*p/width.
    # Just below such s the other side needs ceil(other * s / p) patches (exact integer arithmetic).
    best = (0, 1, (1, 1))  # (scale numerator, denominator, grid)
    for a in range(1, max_num_patches + 1):
        for num, den, grid in ((a * patch, height, (a, _ceil_div(width * a, height))),
                               (a * patch, width, (_ceil_div(height * a, width), a))):
            if grid[0] * grid[1] <= max_num_patches and num * best[1] > best[0] * den:
                best = (num, den, grid)
    if best[0] > _MAX_SCALE * best[1]:
        grid = (_ceil_div(height * _MAX_SCALE, patch), _ceil_div(width * _MAX_SCALE, patch))
        best = (0, 1, grid)
    return best[2][0] * patch, best[2][1] * patch
