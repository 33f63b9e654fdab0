"""Sub-pixel refinement of arg-max keypoints on heatmaps.

Every function takes keypoints ``(N, K, 2)`` in heatmap cells (usually the
integer arg-max from :func:`get_heatmap_maximum`, -1 where a channel has no
positive value) and heatmaps ``(K, H, W)``; instance ``n``'s keypoint ``k``
is refined on channel ``k``. They return a new float32 ``(N, K, 2)`` array
and modify neither input. All work is vectorised over keypoints.

The DARK refinements need the blurred heatmap only at a few cells around
each keypoint, and the peak-restoring factor of :func:`gaussian_blur` only
matters where a clamp before the logarithm is active: otherwise it adds the
same constant to every log value, which the differences cancel. So the
cells are blurred locally (:func:`blur_cells`) and the derivatives taken
as one float64 product. A keypoint falls back to the whole-channel blur
with the exact factor (bit-identical to OpenCV on the zero-padded map),
with derivatives in float32 in the published order of operations, when it
reads a clamped value, sits at -1, or its Newton step is ill-conditioned
enough for the local blur's float32 rounding to show. Either way the 2x2
system is solved in closed form in float64.
"""
from typing import Tuple

import numpy as np

from .post_processing import blur_cells, blur_with_rescale

# Cells read around the arg-max, as (dy, dx). DARK: centre, x+1, x-1, y+1,
# y-1, x+2, x-2, y+2, y-2, (y+1, x+1), (y-1, x+1), (y+1, x-1), (y-1, x-1).
_DARK_CELLS = np.array([(0, 0), (0, 1), (0, -1), (1, 0), (-1, 0), (0, 2),
                        (0, -2), (2, 0), (-2, 0), (1, 1), (-1, 1), (1, -1),
                        (-1, -1)])
# DARK-UDP: centre, x+1, y+1, (y+1, x+1), (y-1, x-1), x-1, y-1.
_UDP_CELLS = np.array([(0, 0), (0, 1), (1, 0), (1, 1), (-1, -1), (0, -1),
                       (-1, 0)])
# The same derivatives as weights on the cells' logs (columns gx, gy, Hxx,
# Hyy, Hxy), for the local path where one float64 product is enough.
_DARK_WEIGHTS = np.array([
    [0, 0, -.5, -.5, 0], [.5, 0, 0, 0, 0], [-.5, 0, 0, 0, 0],
    [0, .5, 0, 0, 0], [0, -.5, 0, 0, 0], [0, 0, .25, 0, 0],
    [0, 0, .25, 0, 0], [0, 0, 0, .25, 0], [0, 0, 0, .25, 0],
    [0, 0, 0, 0, .25], [0, 0, 0, 0, -.25], [0, 0, 0, 0, -.25],
    [0, 0, 0, 0, .25]])
_UDP_WEIGHTS = np.array([
    [0, 0, -2, -2, 1], [.5, 0, 1, 0, -.5], [0, .5, 0, 1, -.5],
    [0, 0, 0, 0, .5], [0, 0, 0, 0, .5], [-.5, 0, 1, 0, -.5],
    [0, -.5, 0, 1, -.5]])
# DARK-UDP adds the float32 machine epsilon to Hxx and Hyy.
_EPS32 = float(np.finfo(np.float32).eps)
_UDP_EPS = np.array([0, 0, 1, 1, 0]) * _EPS32
# Column picks for the adjugate product in _solve, and |H| weights.
_ADJ_A, _ADJ_B = np.array([3, 2]), np.array([1, 0])
_NORM_WEIGHTS = np.array([1., 1., 2.])
_DARK_FLOOR = np.float32(1e-10)
_UDP_LOW, _UDP_HIGH = np.float32(1e-3), np.float32(50.)
# Local and whole-map blurs differ by float32 rounding (~1e-7 relative);
# the Newton step multiplies log errors by about |H^-1| (1 + |step|).
# Above these factors (flat, noisy or far-off peaks) the whole-map blur is
# used. Measured on noisy Gaussian maps, the local path then stays within
# 1e-5 (DARK) and 2e-5 (DARK-UDP) heatmap cells of the whole-map result;
# typical peaks have factors of 15-40.
_MAX_AMPLIFICATION_DARK = 100.
_MAX_AMPLIFICATION_UDP = 50.


def _check(keypoints: np.ndarray, heatmaps: np.ndarray, name: str) -> None:
    if heatmaps.ndim != 3:
        raise ValueError(f'{name}: heatmaps must have shape (K, H, W), got '
                         f'{heatmaps.shape}')
    k = heatmaps.shape[0]
    if keypoints.ndim != 3 or keypoints.shape[1:] != (k, 2):
        raise ValueError(f'{name}: keypoints must have shape (N, {k}, 2) to'
                         f' match heatmaps {heatmaps.shape}, got '
                         f'{keypoints.shape}')


def _clamp(values: np.ndarray, low, high) -> np.ndarray:
    # np.clip costs several times more on small arrays.
    return np.minimum(np.maximum(values, low), high)


def _exact_cells(heatmaps: np.ndarray, kernel: int, channels: np.ndarray,
                 rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Blurred, peak-rescaled values at ``[channels, rows, cols]`` (equal
    shapes), blurring only the channels that are read."""
    used, where = np.unique(channels, return_inverse=True)
    blurred, factor = blur_with_rescale(heatmaps[used], kernel)
    where = where.reshape(channels.shape)
    return blurred[where, rows, cols] * factor[where]


def _solve(derivs: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Newton steps from derivatives ``(M, 5)`` (columns gx, gy, Hxx, Hyy,
    Hxy).

    Returns the step ``H^-1 g`` ``(M, 2)`` in float64 (zero where ``H`` is
    singular) and a bound on its error amplification, ``(|Hxx| + |Hyy| +
    2 |Hxy|) / |det H| * (1 + |step|_1)`` ``(M,)`` (infinite where
    singular).
    """
    d = derivs.astype(np.float64, copy=False)
    gx, gy, hxx, hyy, hxy = d.T
    det = hxx * hyy - hxy * hxy
    singular = det == 0
    inv_det = 1 / np.where(singular, np.inf, det)
    # H^-1 g = (hyy gx - hxy gy, hxx gy - hxy gx) / det.
    step = d[:, _ADJ_A] * d[:, :2] - hxy[:, None] * d[:, _ADJ_B]
    step *= inv_det[:, None]
    amplification = (np.abs(d[:, 2:]) @ _NORM_WEIGHTS) * np.abs(inv_det) * (
        1 + np.abs(step).sum(1))
    amplification[singular] = np.inf
    return step, amplification


def refine_keypoints(keypoints: np.ndarray,
                     heatmaps: np.ndarray) -> np.ndarray:
    """MSRA refinement: move each coordinate a quarter cell toward the
    larger of its two neighbours along that axis.

    For the cell (x, y): ``x += 0.25 * sign(hm[y, x + 1] - hm[y, x - 1])``
    when ``1 < x < W - 1`` and ``0 < y < H``; ``y += 0.25 * sign(hm[y + 1,
    x] - hm[y - 1, x])`` when ``1 < y < H - 1`` and ``0 < x < W``; equal
    neighbours (or a failed condition) leave the coordinate unchanged. The
    asymmetric bounds (x = 1 is never moved, y = 0 blocks the x move) are
    those of the published implementations, kept for identical results.
    """
    _check(keypoints, heatmaps, 'refine_keypoints')
    k, h, w = heatmaps.shape
    xy = keypoints.astype(np.int64)
    # move[..., a]: 1 < xy[a] < size[a] - 1 and 0 < other < size[other].
    other = xy[..., ::-1]
    move = (xy > 1) & (xy < (w - 1, h - 1)) & (other > 0) & (
        other < (h, w))
    # The four neighbours through one flat index; where a coordinate does
    # not move its (clipped) reads are ignored.
    centre = np.arange(k) * (h * w) + xy @ (1, w)
    values = heatmaps.reshape(-1).take(centre[..., None] + (1, -1, w, -w),
                                       mode='clip')
    step = np.sign(values[..., 0::2] - values[..., 1::2]) * move
    return keypoints.astype(np.float32) + np.float32(0.25) * step


def _dark_derivatives(logs: np.ndarray) -> Tuple[np.ndarray, ...]:
    """gx, gy, Hxx, Hyy, Hxy from DARK's 13 log values ``(M, 13)``."""
    c, xp, xm, yp, ym, xp2, xm2, yp2, ym2, pp, mp, pm, mm = logs.T
    return (0.5 * (xp - xm), 0.5 * (yp - ym), 0.25 * (xp2 - 2 * c + xm2),
            0.25 * (yp2 - 2 * c + ym2), 0.25 * (pp - mp - pm + mm))


def refine_keypoints_dark(keypoints: np.ndarray, heatmaps: np.ndarray,
                          blur_kernel_size: int) -> np.ndarray:
    """DARK refinement: one Newton step on the log of the blurred heatmap.

    The heatmaps are blurred with :func:`gaussian_blur` (``blur_kernel_size``,
    zero outside the map, peak height restored) and ``L = log(max(hm,
    1e-10))`` is taken. At the cell (x, y), with central differences,

    - gradient ``g = (L[y, x+1] - L[y, x-1], L[y+1, x] - L[y-1, x]) / 2``,
    - Hessian ``Hxx = (L[y, x+2] - 2 L[y, x] + L[y, x-2]) / 4``, ``Hyy``
      likewise along y, ``Hxy = (L[y+1, x+1] - L[y-1, x+1] - L[y+1, x-1]
      + L[y-1, x-1]) / 4``,

    and the keypoint moves by ``-H^-1 g`` (the stationary point of the
    second-order Taylor expansion). Only cells with ``1 < x < W - 2`` and
    ``1 < y < H - 2`` are refined, and only when ``det H != 0`` (checked in
    float32); others keep their position.
    """
    _check(keypoints, heatmaps, 'refine_keypoints_dark')
    k, h, w = heatmaps.shape
    out = keypoints.astype(np.float32)
    xy = keypoints.astype(np.int64)
    inside = ((xy > 1) & (xy < (w - 2, h - 2))).all(-1)
    if not inside.any():
        return out
    maps = np.asarray(heatmaps, dtype=np.float32)
    sel_n, sel_k = np.nonzero(inside)
    xs, ys = xy[inside].T
    # The 5 x 5 block around each keypoint holds the 13 cells read.
    blocks = blur_cells(maps, sel_k, ys - 2, xs - 2, 5, blur_kernel_size)
    cells = blocks.reshape(-1, 25)[:, (_DARK_CELLS + 2) @ (5, 1)]
    logs = np.log(np.maximum(cells, _DARK_FLOOR)).astype(np.float64)
    step, amplification = _solve(logs @ _DARK_WEIGHTS)
    # A positive arg-max makes the rescale factor >= 1, so values above the
    # floor stay above it and the factor cancels; otherwise blur exactly.
    redo = (cells <= _DARK_FLOOR).any(1) | (
        amplification > _MAX_AMPLIFICATION_DARK)
    if redo.any():
        exact = _exact_cells(maps, blur_kernel_size, sel_k[redo, None],
                             ys[redo, None] + _DARK_CELLS[:, 0],
                             xs[redo, None] + _DARK_CELLS[:, 1])
        derivs = _dark_derivatives(np.log(np.maximum(exact, _DARK_FLOOR)))
        step[redo] = _solve(np.stack(derivs, -1))[0]
        # The published test: det H computed in float32.
        gx, gy, hxx, hyy, hxy = derivs
        step[redo] *= (hxx * hyy - hxy**2 != 0)[:, None]
    out[sel_n, sel_k] -= step
    return out


def _udp_derivatives(logs: np.ndarray) -> Tuple[np.ndarray, ...]:
    """gx, gy, Hxx + eps, Hyy + eps, Hxy from DARK-UDP's 7 log values."""
    c, xp, yp, pp, mm, xm, ym = logs.T
    return (0.5 * (xp - xm), 0.5 * (yp - ym),
            (xp - 2 * c + xm).astype(np.float64) + _EPS32,
            (yp - 2 * c + ym).astype(np.float64) + _EPS32,
            0.5 * (pp - xp - yp + c + c - xm - ym + mm))


def _udp_logs(cells: np.ndarray) -> np.ndarray:
    return np.log(np.minimum(np.maximum(cells, _UDP_LOW), _UDP_HIGH))


def refine_keypoints_dark_udp(keypoints: np.ndarray, heatmaps: np.ndarray,
                              blur_kernel_size: int) -> np.ndarray:
    """DARK refinement as used with UDP: a Newton step on the log of the
    blurred heatmap, with one-cell differences on an edge-extended map.

    The heatmaps are blurred as in :func:`refine_keypoints_dark`, clipped
    to ``[1e-3, 50]`` and logged (``L``). The map is extended by one cell
    on each side, repeating the edge. At the cell (x, y):

    - gradient ``g = (L[y, x+1] - L[y, x-1], L[y+1, x] - L[y-1, x]) / 2``,
    - ``Hxx = L[y, x+1] - 2 L[y, x] + L[y, x-1]``, ``Hyy`` likewise,
      ``Hxy = (L[y+1, x+1] - L[y, x+1] - L[y+1, x] + 2 L[y, x] - L[y, x-1]
      - L[y-1, x] + L[y-1, x-1]) / 2``,

    and the keypoint moves by ``-(H + eps I)^-1 g`` with ``eps`` the float32
    machine epsilon (so a flat neighbourhood gives no move). Every keypoint
    is refined, including those at the border.

    The reference implementation reads the neighbours through flat indices
    into the extended ``(K, H + 2, W + 2)`` stack. For a keypoint at -1 (a
    channel without a positive value) some of those indices land in the
    previous channel (or, for channel 0, wrap to the end of the stack);
    this is reproduced so results agree there too. Where ``H + eps I`` is
    singular the keypoint is left unmoved (the reference raises).
    """
    _check(keypoints, heatmaps, 'refine_keypoints_dark_udp')
    k, h, w = heatmaps.shape
    maps = np.asarray(heatmaps, dtype=np.float32)
    pts = keypoints.reshape(-1, 2)
    if not len(pts):
        return keypoints.astype(np.float32)
    chans = np.arange(len(pts)) % k
    xy = pts.astype(np.int64)
    # Local path: a keypoint on the map (as unsigned, -1 is huge) reads its
    # 3 x 3 block (edge cells repeat into it), if no value reaches the
    # upper clamp.
    local = (xy.view(np.uint64) < (w, h)).all(1) & (maps.max() <= _UDP_HIGH)
    if not local.all():
        xy = np.where(local[:, None], xy, 1)  # any cell; redone below
    corner = xy - 1
    offsets = _clamp(xy[:, None] + _UDP_CELLS[:, ::-1], 0,
                     (w - 1, h - 1)) - corner[:, None]        # (M, 7, 2)
    blocks = blur_cells(maps, chans, corner[:, 1], corner[:, 0], 3,
                        blur_kernel_size)
    cells = blocks.reshape(-1, 9)[np.arange(len(xy))[:, None],
                                  offsets @ (1, 3)]
    logs = _udp_logs(cells).astype(np.float64)
    step, amplification = _solve(logs @ _UDP_WEIGHTS + _UDP_EPS)
    # The factor is >= 1 on the local path, so values at or above the
    # lower clamp stay unclamped and it cancels; otherwise blur exactly.
    redo = ~local | (cells < _UDP_LOW).any(1) | (
        amplification > _MAX_AMPLIFICATION_UDP)
    if redo.any():
        cells = _exact_cells(maps, blur_kernel_size,
                             *_udp_flat_cells(pts[redo], chans[redo],
                                              (k, h, w)))
        step[redo] = _solve(np.stack(
            _udp_derivatives(_udp_logs(cells)), -1))[0]
    return (pts - step).astype(np.float32).reshape(keypoints.shape)


def _udp_flat_cells(keypoints: np.ndarray, channels: np.ndarray,
                    shape: Tuple[int, int, int]
                    ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Channel, row and column ``(M, 7)`` of the cells DARK-UDP reads for
    keypoints ``(M, 2)`` on ``channels`` ``(M,)``, following the flat
    indexing of the edge-extended ``(K, H + 2, W + 2)`` stack (see
    :func:`refine_keypoints_dark_udp`)."""
    k, h, w = shape
    row = w + 2
    plane = row * (h + 2)
    base = (keypoints[:, 0] + 1 + (keypoints[:, 1] + 1) * row +
            plane * channels).astype(np.int64)
    flat = (base[:, None] + _UDP_CELLS @ (row, 1)) % (plane * k)
    chans, rest = np.divmod(flat, plane)
    rows, cols = np.divmod(rest, row)
    return chans, _clamp(rows - 1, 0, h - 1), _clamp(cols - 1, 0, w - 1)


__all__ = ['refine_keypoints', 'refine_keypoints_dark',
           'refine_keypoints_dark_udp']
