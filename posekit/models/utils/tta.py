"""Test-time flipping (flip test) of heatmaps, normalised coordinates,
SimCC vectors and per-keypoint values."""
from typing import Any, Optional, Sequence, Tuple

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


def flip_coordinates(coords: Tensor, flip_indices: Sequence[int],
                     shift_coords: bool = True,
                     input_size: Optional[Sequence[int]] = None) -> Tensor:
    """Map normalised coordinates predicted on a horizontally flipped input
    back onto the unflipped input.

    Args:
        coords: ``(B, K, D)`` with ``D >= 2``; ``[..., 0]`` is x in [0, 1]
            (input pixels / input width). Columns beyond x and y (e.g.
            RLE's sigmas) are only reordered.
        flip_indices: keypoint k of the result comes from keypoint
            ``flip_indices[k]`` (the left/right swap).
        shift_coords: map x to ``1 - x - 1 / input_width`` instead of
            ``1 - x``: the pixel centre at ``x_px`` mirrors onto
            ``w - 1 - x_px``, one pixel left of ``w - x_px``.
        input_size: ``(w, h)`` of the input; needed with ``shift_coords``.

    Returns:
        A new ``(B, K, D)`` tensor (the input is untouched).

    Raises:
        ValueError: ``coords`` not 3-D, ``flip_indices`` of the wrong
            length, or ``shift_coords`` without ``input_size``.
    """
    if coords.ndim != 3 or coords.shape[-1] < 2:
        raise ValueError('coords must be (B, K, D) with D >= 2, got shape '
                         f'{tuple(coords.shape)}')
    index = _flip_index(flip_indices, coords.shape[1], coords.device)
    x = 1.0 - coords[..., :1]
    if shift_coords:
        if input_size is None:
            raise ValueError('flip_coordinates(shift_coords=True) needs '
                             'input_size=(w, h) of the input image')
        x = x - 1.0 / float(input_size[0])
    out = torch.cat([x, coords[..., 1:]], dim=-1)
    return out.index_select(1, index)


def flip_vectors(x_labels: Tensor, y_labels: Tensor,
                 flip_indices: Sequence[int]) -> Tuple[Tensor, Tensor]:
    """Map SimCC vectors predicted on a horizontally flipped input back onto
    the unflipped input: the x vectors ``(B, K, Wx)`` are reversed, and both
    ``x_labels`` and ``y_labels`` ``(B, K, Wy)`` swap keypoints through
    ``flip_indices``. Returns new tensors.

    Raises:
        ValueError: inputs not 3-D or ``flip_indices`` of the wrong length.
    """
    if x_labels.ndim != 3 or y_labels.ndim != 3 or \
            x_labels.shape[:2] != y_labels.shape[:2]:
        raise ValueError('x_labels and y_labels must be (B, K, Wx) and '
                         f'(B, K, Wy); got {tuple(x_labels.shape)} and '
                         f'{tuple(y_labels.shape)}')
    index = _flip_index(flip_indices, x_labels.shape[1], x_labels.device)
    return (x_labels.index_select(1, index).flip(-1),
            y_labels.index_select(1, index))


def flip_visibility(vis: Tensor, flip_indices: Sequence[int]) -> Tensor:
    """Swap per-keypoint values ``(B, K)`` (e.g. predicted visibility) of a
    flipped input through ``flip_indices``. Returns a new tensor.

    Raises:
        ValueError: ``vis`` not 2-D or ``flip_indices`` of the wrong length.
    """
    if vis.ndim != 2:
        raise ValueError('vis must be (B, K), got shape '
                         f'{tuple(vis.shape)}')
    return vis.index_select(1, _flip_index(flip_indices, vis.shape[1],
                                           vis.device))


def _flip_index(flip_indices: Sequence[int], num_keypoints: int,
                device: torch.device) -> Tensor:
    """``flip_indices`` as a long tensor, checked against K."""
    if flip_indices is None or len(flip_indices) != num_keypoints:
        got = None if flip_indices is None else len(flip_indices)
        raise ValueError(f'flip_indices has {got} entries but the outputs '
                         f'have {num_keypoints} keypoints')
    return torch.as_tensor(list(flip_indices), dtype=torch.long,
                           device=device)


def flip_test_metainfo(feats: Any, batch_data_samples: Any,
                       keys: Sequence[str] = ('flip_indices', )) -> tuple:
    """Check the inputs of a head's flip test and read ``keys`` from the
    first data sample's metainfo.

    ``feats`` must be ``[feats, feats_of_the_flipped_input]``. Returns the
    values of ``keys`` as a tuple, in order.

    Raises:
        ValueError: ``feats`` is not a list of two.
        KeyError: a key is missing from the metainfo.
    """
    if not (isinstance(feats, list) and len(feats) == 2):
        raise ValueError('flip_test needs feats = [feats, flipped_feats] (a '
                         'list of two)')
    meta = batch_data_samples[0].metainfo if batch_data_samples else {}
    missing = [k for k in keys if k not in meta]
    if missing:
        raise KeyError(f'flip_test needs {missing} in the data samples\' '
                       'metainfo (add them to PackPoseInputs\' meta_keys)')
    return tuple(meta[k] for k in keys)
