"""Test-time flipping of heatmaps (flip test)."""
from typing import Optional, Sequence

import torch
from torch import Tensor


def flip_heatmaps(heatmaps: Tensor,
                  flip_indices: Optional[Sequence[int]] = None,
                  flip_mode: str = 'heatmap',
                  shift_heatmap: bool = True) -> Tensor:
    """Map heatmaps predicted on a horizontally flipped input back onto the
    unflipped input.

    Args:
        heatmaps: ``(B, C, H, W)`` outputs on the flipped input.
        flip_indices: keypoint k of the result is taken from channel
            ``flip_indices[k]`` (the left/right swap). ``None`` keeps the
            channel order.
        flip_mode: ``'heatmap'`` (C = K heatmaps) or ``'udp_combined'``
            (C = 3K: heatmap, x offset, y offset per keypoint; the x
            offsets change sign).
        shift_heatmap: move the result one column to the right (column 0
            is kept), which compensates the half-pixel misalignment of
            the mirrored heatmap grid.

    Returns:
        ``(B, C, H, W)`` tensor (a new tensor; the input is untouched).

    Raises:
        ValueError: unknown ``flip_mode`` or ``flip_indices`` of the wrong
            length.
    """
    if heatmaps.ndim != 4:
        raise ValueError('heatmaps must be (B, C, H, W), got shape '
                         f'{tuple(heatmaps.shape)}')
    b, c, h, w = heatmaps.shape
    if flip_mode == 'heatmap':
        groups = 1
    elif flip_mode == 'udp_combined':
        groups = 3
        if c % 3:
            raise ValueError("flip_mode='udp_combined' needs 3K channels, "
                             f'got {c}')
    else:
        raise ValueError("flip_mode must be 'heatmap' or 'udp_combined', "
                         f'got {flip_mode!r}')
    out = heatmaps.reshape(b, c // groups, groups, h, w).flip(-1)
    if flip_indices is not None:
        if len(flip_indices) != c // groups:
            raise ValueError(f'flip_indices has {len(flip_indices)} entries '
                             f'but the heatmaps have {c // groups} keypoints')
        index = torch.as_tensor(list(flip_indices), dtype=torch.long,
                                device=heatmaps.device)
        out = out.index_select(1, index)
    if groups == 3:
        # mirroring reverses the direction of x offsets
        out = torch.cat([out[:, :, :1], -out[:, :, 1:2], out[:, :, 2:]], 2)
    out = out.reshape(b, c, h, w)
    if shift_heatmap:
        out = torch.cat([out[..., :1], out[..., :-1]], dim=-1)
    return out
