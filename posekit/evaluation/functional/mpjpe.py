"""Mean per-joint position error with optional (batched) alignment."""
import numpy as np

__all__ = ['keypoint_mpjpe', 'procrustes_align']

_ALIGNMENTS = ('none', 'scale', 'procrustes')


def procrustes_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Best similarity transform (scale, rotation, translation) of each
    pred (N, K, C) onto gt (N, K, C), solved for all N at once by SVD."""
    mu_p, mu_g = pred.mean(axis=1, keepdims=True), gt.mean(axis=1,
                                                           keepdims=True)
    p, g = pred - mu_p, gt - mu_g
    cov = np.einsum('nkc,nkd->ncd', p, g)
    u, s, vt = np.linalg.svd(cov)
    # Flip the last axis where needed so the result is a rotation, not a
    # reflection (Umeyama).
    sign = np.sign(np.linalg.det(np.einsum('ncd,nde->nce', u, vt)))
    sign[sign == 0] = 1
    d = np.ones_like(s)
    d[:, -1] = sign
    rot = np.einsum('ncd,nd,nde->nce', u, d, vt)
    var = np.maximum((p ** 2).sum(axis=(1, 2)), np.finfo(np.float64).tiny)
    scale = (s * d).sum(axis=1) / var
    return scale[:, None, None] * np.einsum('nkc,ncd->nkd', p, rot) + mu_g


def keypoint_mpjpe(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray,
                   alignment: str = 'none') -> float:
    """Mean Euclidean error over the visible joints (units of the input).

    Args:
        pred, gt: (N, K, C) coordinates.
        mask: (N, K) bool, True for joints to count.
        alignment: 'none'; 'scale' (least-squares scale of pred, N-MPJPE);
            'procrustes' (scale, rotation and translation, P-MPJPE).

    Raises:
        ValueError: shapes differ, the mask selects nothing, or an unknown
            alignment.
    """
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    if pred.shape != gt.shape or pred.ndim != 3 or mask.shape != gt.shape[:2]:
        raise ValueError(f'keypoint_mpjpe: pred and gt must be (N, K, C) and '
                         f'mask (N, K); got {pred.shape}, {gt.shape}, '
                         f'{mask.shape}')
    if not mask.any():
        raise ValueError('keypoint_mpjpe: the mask selects no joint')
    if alignment == 'procrustes':
        pred = procrustes_align(pred, gt)
    elif alignment == 'scale':
        scale = np.einsum('nkc,nkc->n', pred, gt) / np.maximum(
            np.einsum('nkc,nkc->n', pred, pred), np.finfo(np.float64).tiny)
        pred = pred * scale[:, None, None]
    elif alignment != 'none':
        raise ValueError(f'keypoint_mpjpe: alignment must be one of '
                         f'{_ALIGNMENTS}, got {alignment!r}')
    return float(np.linalg.norm(pred - gt, axis=-1)[mask].mean())
