"""Slow, obvious reference implementations the codec tests compare with.

Each follows the published algorithm keypoint by keypoint with plain
loops, independently of posekit's vectorised code.
"""
import types

import cv2
import numpy as np
import pytest


def ref_gaussian_heatmaps(heatmap_size, keypoints, visible, sigma, mode):
    """mode: 'msra' (rounded centre, +-3 sigma window), 'udp' (same window,
    exact centre) or 'dark' (exact centre, whole map)."""
    w, h = heatmap_size
    num, k = keypoints.shape[:2]
    sigmas = np.broadcast_to(np.asarray(sigma, dtype=float), (num, ))
    maps = np.zeros((k, h, w), np.float32)
    weights = visible.astype(np.float32).copy()
    ys, xs = np.mgrid[0:h, 0:w]
    for n in range(num):
        s = float(sigmas[n])
        r = 3 * s
        for j in range(k):
            if visible[n, j] < 0.5:
                continue
            p = keypoints[n, j].astype(np.float64)
            if mode == 'dark':
                lo, hi = p - r, p + r + 1
            else:
                mu = np.trunc(p + 0.5)
                lo, hi = np.trunc(mu - r), np.trunc(mu + r + 1)
            if lo[0] >= w or lo[1] >= h or hi[0] < 0 or hi[1] < 0:
                weights[n, j] = 0
                continue
            if mode == 'dark':
                g = np.exp(-((xs - p[0])**2 + (ys - p[1])**2) / (2 * s * s))
            else:
                centre = mu if mode == 'msra' else p
                length = np.ceil(2 * r + 1)
                # window cells: lo <= cell < min(hi, lo + length)
                inside = ((xs >= lo[0]) & (xs < min(hi[0], lo[0] + length))
                          & (ys >= lo[1])
                          & (ys < min(hi[1], lo[1] + length)))
                # the window peak sits at lo + (2r+1)//2 (= mu for integer
                # radius) plus the sub-pixel shift p - mu for UDP
                peak = lo + (2 * r + 1) // 2 + (centre - mu)
                g = np.exp(-((xs - peak[0])**2 + (ys - peak[1])**2) /
                           (2 * s * s)) * inside
            maps[j] = np.maximum(maps[j], g)
    return maps, weights


def ref_blur(heatmaps, kernel):
    """Blur each channel with zeros around it, then restore its max."""
    pad = kernel // 2
    out = np.empty_like(heatmaps, dtype=np.float32)
    for j, m in enumerate(heatmaps):
        big = np.zeros((m.shape[0] + 2 * pad, m.shape[1] + 2 * pad),
                       np.float32)
        big[pad:pad + m.shape[0], pad:pad + m.shape[1]] = m
        b = cv2.GaussianBlur(big, (kernel, kernel), 0)
        b = b[pad:pad + m.shape[0], pad:pad + m.shape[1]]
        out[j] = b * (m.max() / b.max())
    return out


def ref_dark(keypoints, heatmaps, kernel):
    """DARK: Newton step on log(max(blur, 1e-10)), step-2 second
    differences, only for 1 < x < W-2 and 1 < y < H-2."""
    k, h, w = heatmaps.shape
    logs = np.log(np.maximum(ref_blur(heatmaps, kernel), 1e-10))
    out = keypoints.astype(np.float64).copy()
    for n in range(out.shape[0]):
        for j in range(k):
            x, y = (int(v) for v in keypoints[n, j])
            if not (1 < x < w - 2 and 1 < y < h - 2):
                continue
            L = logs[j].astype(np.float64)
            g = np.array([L[y, x + 1] - L[y, x - 1],
                          L[y + 1, x] - L[y - 1, x]]) / 2
            hxx = (L[y, x + 2] - 2 * L[y, x] + L[y, x - 2]) / 4
            hyy = (L[y + 2, x] - 2 * L[y, x] + L[y - 2, x]) / 4
            hxy = (L[y + 1, x + 1] - L[y - 1, x + 1] - L[y + 1, x - 1]
                   + L[y - 1, x - 1]) / 4
            hess = np.array([[hxx, hxy], [hxy, hyy]])
            if np.linalg.det(hess) != 0:
                out[n, j] -= np.linalg.solve(hess, g)
    return out


def ref_dark_udp(keypoints, heatmaps, kernel):
    """DARK-UDP for keypoints on the map: Newton step on log(clip(blur,
    1e-3, 50)) with one-cell differences on the edge-extended map."""
    k, h, w = heatmaps.shape
    logs = np.log(np.clip(ref_blur(heatmaps, kernel), 1e-3, 50))
    eps = np.finfo(np.float32).eps
    out = keypoints.astype(np.float64).copy()
    for n in range(out.shape[0]):
        for j in range(k):
            x, y = (int(v) for v in keypoints[n, j])
            L = np.pad(logs[j], 1, mode='edge').astype(np.float64)
            x, y = x + 1, y + 1
            c = L[y, x]
            g = np.array([L[y, x + 1] - L[y, x - 1],
                          L[y + 1, x] - L[y - 1, x]]) / 2
            hxx = L[y, x + 1] - 2 * c + L[y, x - 1]
            hyy = L[y + 1, x] - 2 * c + L[y - 1, x]
            hxy = (L[y + 1, x + 1] - L[y, x + 1] - L[y + 1, x] + 2 * c
                   - L[y, x - 1] - L[y - 1, x] + L[y - 1, x - 1]) / 2
            hess = np.array([[hxx + eps, hxy], [hxy, hyy + eps]])
            out[n, j] -= np.linalg.solve(hess, g)
    return out


def gaussian_peaks(rng, heatmap_size, num_keypoints, sigma=2.0, noise=0.0,
                   margin=0.0):
    """Heatmaps (K, H, W) float32 with one Gaussian each at random
    sub-pixel centres (returned, (K, 2)) and optional noise."""
    w, h = heatmap_size
    centres = rng.uniform([margin, margin], [w - 1 - margin, h - 1 - margin],
                          (num_keypoints, 2))
    ys, xs = np.mgrid[0:h, 0:w]
    maps = np.exp(-((xs - centres[:, 0, None, None])**2 +
                    (ys - centres[:, 1, None, None])**2) / (2 * sigma**2))
    maps = maps + rng.normal(0, noise, maps.shape) if noise else maps
    return maps.astype(np.float32), centres


@pytest.fixture(scope='session')
def ref():
    """The reference implementations above, as a namespace."""
    return types.SimpleNamespace(
        gaussian_heatmaps=ref_gaussian_heatmaps, blur=ref_blur,
        dark=ref_dark, dark_udp=ref_dark_udp, gaussian_peaks=gaussian_peaks)
