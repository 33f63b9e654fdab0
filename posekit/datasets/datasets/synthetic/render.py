"""Drawing of backgrounds and humanoid figures with OpenCV.

Every figure is drawn twice with the same shapes: anti-aliased in colour on
the image, and as integer part codes on an ``owner`` map, so that which
figure part is on top at any pixel (and with it keypoint occlusion) can be
read back with one array lookup. Part codes are ``figure * 32 + part + 1``
with 0 for background.
"""
import colorsys
from typing import Tuple

import cv2
import numpy as np

from . import humanoid as hm
from .humanoid import Pose3D

# Part ids within a figure.
(TORSO, HEAD, NECK, L_UPPER_ARM, R_UPPER_ARM, L_FOREARM, R_FOREARM, L_HAND,
 R_HAND, L_THIGH, R_THIGH, L_SHIN, R_SHIN, L_FOOT, R_FOOT, L_EAR,
 R_EAR) = range(17)
NUM_PARTS = 17
CODE_STRIDE = 32

# Parts on which each keypoint counts as seen: its own limbs (and the head
# for face points). A keypoint whose pixel shows anything else is occluded.
_ADJACENT = [(HEAD, ), (HEAD, ), (HEAD, ), (L_EAR, HEAD), (R_EAR, HEAD),
             (TORSO, L_UPPER_ARM), (TORSO, R_UPPER_ARM),
             (L_UPPER_ARM, L_FOREARM), (R_UPPER_ARM, R_FOREARM),
             (L_FOREARM, L_HAND), (R_FOREARM, R_HAND), (TORSO, L_THIGH),
             (TORSO, R_THIGH), (L_THIGH, L_SHIN), (R_THIGH, R_SHIN),
             (L_SHIN, L_FOOT), (R_SHIN, R_FOOT)]
ADJACENT = np.array([[p in parts for p in range(NUM_PARTS)]
                     for parts in _ADJACENT])

# Face points turned further from the camera than this are not labelled
# (v=0), as an annotator cannot see them: nose, eyes, ears.
FACE_LABEL_MIN_Z = np.array([-0.2, 0.1, 0.1, -0.4, -0.4])

# The fixed colour (BGR) that the figure's left limbs are blended towards.
LEFT_TINT = np.array([40.0, 150.0, 255.0])

# Width in pixels and brightness of the dark outline around every shape.
OUTLINE = 1
OUTLINE_SHADE = 0.55

_SHIFT = 4  # OpenCV sub-pixel bits: coordinates are passed times 16
_SCALE = 1 << _SHIFT

_SKIN = np.array([[60, 80, 110], [90, 120, 170], [120, 160, 210],
                  [150, 185, 230], [80, 110, 150]], dtype=float)
_HAIR = np.array([[20, 20, 25], [30, 45, 70], [60, 90, 140],
                  [110, 170, 210], [50, 50, 60]], dtype=float)


def _hsv(rng: np.random.Generator, s: Tuple[float, float],
         v: Tuple[float, float]) -> np.ndarray:
    r, g, b = colorsys.hsv_to_rgb(rng.random(), rng.uniform(*s),
                                  rng.uniform(*v))
    return np.array([b, g, r]) * 255.0


def sample_colours(rng: np.random.Generator, side_tint: float) -> dict:
    """Colours (BGR floats) of one figure's parts; left limbs tinted."""
    skin = _SKIN[rng.integers(len(_SKIN))] + rng.uniform(-12, 12, 3)
    shirt = _hsv(rng, (0.2, 0.9), (0.3, 0.95))
    trousers = _hsv(rng, (0.1, 0.8), (0.15, 0.7))
    # Mostly short sleeves and shorts: joints show where colours change.
    sleeve = shirt if rng.random() < 0.25 else skin
    legwear = trousers if rng.random() < 0.3 else (
        skin if rng.random() < 0.5 else _hsv(rng, (0.0, 0.5), (0.5, 1.0)))
    cols = dict(skin=skin, hair=_HAIR[rng.integers(len(_HAIR))],
                shirt=shirt, trousers=trousers,
                shoe=_hsv(rng, (0.0, 0.6), (0.05, 0.35)),
                marker=255.0 - shirt * rng.uniform(0.6, 1.0),
                eye=np.array([25.0, 20.0, 20.0]), nose=skin * 0.75)
    for side in ('l', 'r'):
        t = side_tint if side == 'l' else 0.0
        for part, base in (('upper_arm', shirt), ('forearm', sleeve),
                           ('thigh', trousers), ('shin', legwear)):
            cols[f'{side}_{part}'] = (1 - t) * base + t * LEFT_TINT
    return cols


def render_background(rng: np.random.Generator, width: int,
                      height: int) -> np.ndarray:
    """A textured ``(height, width, 3)`` uint8 BGR background.

    A linear colour gradient, low-frequency colour blobs, sometimes stripes,
    and a few limb-like distractor strokes and ellipses.
    """
    c0, c1 = rng.uniform(0, 255, (2, 3))
    theta = rng.uniform(0, 2 * np.pi)
    xs = np.linspace(-0.5, 0.5, width, dtype=np.float32)[None, :]
    ys = np.linspace(-0.5, 0.5, height, dtype=np.float32)[:, None]
    t = xs * np.cos(theta) + ys * np.sin(theta) + 0.5
    img = c0.astype(np.float32) + t[..., None] * (c1 - c0).astype(np.float32)
    grid = rng.normal(0, rng.uniform(10, 35), (*rng.integers(2, 8, 2), 3))
    img += cv2.resize(grid.astype(np.float32), (width, height),
                      interpolation=cv2.INTER_CUBIC)
    if rng.random() < 0.35:
        phi = rng.uniform(0, np.pi)
        freq = rng.uniform(4, 20)
        wave = np.sin(2 * np.pi * freq * (xs * np.cos(phi) + ys * np.sin(phi)))
        img += wave[..., None] * rng.uniform(-40, 40, 3).astype(np.float32)
    img = np.clip(img, 0, 255).astype(np.uint8)
    size = min(width, height)
    for _ in range(rng.integers(0, 4)):
        colour = tuple(float(c) for c in rng.uniform(0, 255, 3))
        p = rng.uniform(0, 1, 2) * (width, height)
        if rng.random() < 0.6:
            q = p + rng.normal(0, 0.25 * size, 2)
            cv2.line(img, _pt(p), _pt(q), colour,
                     int(rng.uniform(0.02, 0.07) * size) + 1, cv2.LINE_AA,
                     _SHIFT)
        else:
            axes = rng.uniform(0.02, 0.12, 2) * size
            cv2.ellipse(img, _pt(p), _pt(axes), float(rng.uniform(0, 180)),
                        0, 360, colour, -1, cv2.LINE_AA, _SHIFT)
    return img


def _pt(p) -> Tuple[int, int]:
    return int(round(float(p[0]) * _SCALE)), int(round(float(p[1]) * _SCALE))


def head_axes(pose: Pose3D, pts: np.ndarray,
              height: float) -> Tuple[float, float, float]:
    """Head ellipse (half width, half height, angle in degrees) in pixels."""
    up = pts[hm.HEAD] - pts[hm.NECK]
    r = pose.head_radius * height
    return r, 1.15 * r, float(np.degrees(np.arctan2(-up[0], up[1])))


def point_radii(pose: Pose3D, height: float) -> np.ndarray:
    """Radius ``(NUM_POINTS,)`` in pixels of the drawn shape around each
    point, so that points +- radii bound the figure (heads excepted)."""
    w = {k: v * height / 2 for k, v in pose.widths.items()}
    r = pose.head_radius * height
    rad = np.zeros(hm.NUM_POINTS)
    rad[:3] = 0.15 * r
    rad[3:5] = 0.22 * r
    rad[5:7] = max(w['torso_edge'], w['upper_arm'])
    rad[7:9] = max(w['upper_arm'], w['forearm'])
    rad[9:11] = w['forearm']
    rad[11:13] = max(w['torso_edge'], w['thigh'])
    rad[13:15] = max(w['thigh'], w['shin'])
    rad[15:17] = max(w['shin'], w['foot'])
    rad[hm.NECK] = w['neck']
    rad[[hm.L_HAND, hm.R_HAND]] = 2 * w['hand']
    rad[[hm.L_TOE, hm.R_TOE]] = w['foot']
    return rad + OUTLINE


def figure_extent(pose: Pose3D, pts: np.ndarray,
                  height: float) -> np.ndarray:
    """Bounding box ``(4,)`` xyxy in pixels of everything the figure draws.

    Limbs are round-capped strokes, so the box of their end discs is exact;
    the head ellipse's box is computed in closed form.
    """
    rad = point_radii(pose, height)
    lo = (pts - rad[:, None]).min(axis=0)
    hi = (pts + rad[:, None]).max(axis=0)
    a, b, ang = head_axes(pose, pts, height)
    c, s = np.cos(np.radians(ang)), np.sin(np.radians(ang))
    half = np.array([np.hypot(a * c, b * s), np.hypot(a * s, b * c)])
    half += OUTLINE
    lo = np.minimum(lo, pts[hm.HEAD] - half)
    hi = np.maximum(hi, pts[hm.HEAD] + half)
    return np.concatenate([lo, hi])


class _Painter:
    """Draws the same shape on the colour image and on the owner map.

    Shapes get a darker outline of ``OUTLINE`` pixels, so that a limb in
    front of a same-coloured part stays visible; the owner map covers the
    outline too.
    """

    def __init__(self, img: np.ndarray, owner: np.ndarray, base_code: int):
        self.img, self.owner, self.base = img, owner, base_code

    @staticmethod
    def _colours(c) -> Tuple[tuple, tuple]:
        c = np.clip(c, 0, 255)
        return (tuple(float(v) for v in c),
                tuple(float(v) for v in c * OUTLINE_SHADE))

    def line(self, p, q, thick: float, colour, part: int) -> None:
        t = max(1, int(round(thick)))
        fill, edge = self._colours(colour)
        p, q = _pt(p), _pt(q)
        cv2.line(self.img, p, q, edge, t + 2 * OUTLINE, cv2.LINE_AA, _SHIFT)
        cv2.line(self.img, p, q, fill, t, cv2.LINE_AA, _SHIFT)
        cv2.line(self.owner, p, q, self.base + part, t + 2 * OUTLINE,
                 cv2.LINE_8, _SHIFT)

    def circle(self, c, radius: float, colour, part: int,
               outline: bool = True) -> None:
        fill, edge = self._colours(colour)
        c = _pt(c)
        r = max(1, int(round(radius * _SCALE)))
        if outline:
            r_out = r + OUTLINE * _SCALE
            cv2.circle(self.img, c, r_out, edge, -1, cv2.LINE_AA, _SHIFT)
        else:
            r_out = r
        cv2.circle(self.img, c, r, fill, -1, cv2.LINE_AA, _SHIFT)
        cv2.circle(self.owner, c, r_out, self.base + part, -1, cv2.LINE_8,
                   _SHIFT)

    def ellipse(self, c, axes, angle: float, colour, part: int,
                outline: bool = True) -> None:
        fill, edge = self._colours(colour)
        c = _pt(c)
        ax = _pt(axes)
        if outline:
            ax_out = (ax[0] + OUTLINE * _SCALE, ax[1] + OUTLINE * _SCALE)
            cv2.ellipse(self.img, c, ax_out, angle, 0, 360, edge, -1,
                        cv2.LINE_AA, _SHIFT)
        else:
            ax_out = ax
        cv2.ellipse(self.img, c, ax, angle, 0, 360, fill, -1, cv2.LINE_AA,
                    _SHIFT)
        cv2.ellipse(self.owner, c, ax_out, angle, 0, 360, self.base + part,
                    -1, cv2.LINE_8, _SHIFT)

    def polygon(self, pts: np.ndarray, edge_width: float, colour,
                part: int) -> None:
        poly = [np.round(pts * _SCALE).astype(np.int32)]
        t = max(1, int(round(edge_width)))
        fill, edge = self._colours(colour)
        cv2.polylines(self.img, poly, True, edge, t + 2 * OUTLINE,
                      cv2.LINE_AA, _SHIFT)
        cv2.fillPoly(self.img, poly, fill, cv2.LINE_AA, _SHIFT)
        cv2.polylines(self.img, poly, True, fill, t, cv2.LINE_AA, _SHIFT)
        cv2.fillPoly(self.owner, poly, self.base + part, cv2.LINE_8, _SHIFT)
        cv2.polylines(self.owner, poly, True, self.base + part,
                      t + 2 * OUTLINE, cv2.LINE_8, _SHIFT)


def _draw_head(pt: _Painter, pose: Pose3D, pts: np.ndarray, height: float,
               angle: float, cols: dict) -> None:
    a, b, ang = head_axes(pose, pts, height)
    centre = pts[hm.HEAD]
    pt.ellipse(centre, (a, b), ang, cols['hair'], HEAD)
    # Where the face points, in image axes (y down), rotated with the body.
    fwd = pose.face_forward
    rad = np.radians(angle)
    rot = np.array([[np.cos(rad), -np.sin(rad)], [np.sin(rad), np.cos(rad)]])
    f2d = rot @ np.array([fwd[0], -fwd[1]])
    fz = float(fwd[2])
    if fz > -0.2:
        # The skin of the face: an ellipse pushed towards the facing side,
        # narrowing as the face turns away, leaving hair around it.
        shift = 0.4 * a * f2d
        up = centre - pts[hm.NECK]
        up = up / max(np.linalg.norm(up), 1e-6)
        face_c = centre + shift - 0.12 * b * up
        face_ax = (0.8 * a * (0.45 + 0.55 * max(fz, 0.0)), 0.8 * b)
        pt.ellipse(face_c, face_ax, ang, cols['skin'], HEAD, outline=False)
    eye_r = max(0.8, 0.1 * a)
    for k in (1, 2):
        if pose.face_normal_z[k] > FACE_LABEL_MIN_Z[k]:
            pt.circle(pts[k], eye_r, cols['eye'], HEAD, outline=False)
    if pose.face_normal_z[0] > FACE_LABEL_MIN_Z[0]:
        pt.circle(pts[0], max(0.8, 0.15 * a), cols['nose'], HEAD,
                  outline=False)


def draw_figure(img: np.ndarray, owner: np.ndarray, figure_index: int,
                pose: Pose3D, pts: np.ndarray, height: float, angle: float,
                cols: dict) -> None:
    """Draw one figure on ``img`` (BGR uint8) and ``owner`` (int32 codes).

    Parts are drawn far to near (painter's order by camera depth), so a
    limb behind the torso is hidden by it.
    """
    pt = _Painter(img, owner, figure_index * CODE_STRIDE + 1)
    w = {k: v * height for k, v in pose.widths.items()}
    z = pose.points[:, 2]
    parts = []  # (depth, draw call)

    def limb(i, j, width, colour, part):
        parts.append(((z[i] + z[j]) / 2,
                      lambda: pt.line(pts[i], pts[j], width, colour, part)))

    for s, (sho, elb, wri, hand) in (('l', (5, 7, 9, hm.L_HAND)),
                                     ('r', (6, 8, 10, hm.R_HAND))):
        left = s == 'l'
        limb(sho, elb, w['upper_arm'], cols[f'{s}_upper_arm'],
             L_UPPER_ARM if left else R_UPPER_ARM)
        limb(elb, wri, w['forearm'], cols[f'{s}_forearm'],
             L_FOREARM if left else R_FOREARM)
        parts.append((z[hand], lambda hand=hand, left=left: pt.circle(
            pts[hand], w['hand'], cols['skin'], L_HAND if left else R_HAND)))
    for s, (hip, knee, ank, toe) in (('l', (11, 13, 15, hm.L_TOE)),
                                     ('r', (12, 14, 16, hm.R_TOE))):
        left = s == 'l'
        limb(hip, knee, w['thigh'], cols[f'{s}_thigh'],
             L_THIGH if left else R_THIGH)
        limb(knee, ank, w['shin'], cols[f'{s}_shin'],
             L_SHIN if left else R_SHIN)
        limb(ank, toe, w['foot'], cols['shoe'], L_FOOT if left else R_FOOT)

    torso_z = float(z[[5, 6, 11, 12]].mean())

    def torso():
        pt.polygon(pts[[5, 6, 12, 11]], w['torso_edge'], cols['shirt'], TORSO)
        if pose.chest_normal_z > 0.15:
            pt.line(pts[hm.CHEST_TOP], pts[hm.CHEST_BOTTOM],
                    max(1.0, 0.03 * height), cols['marker'], TORSO)

    parts.append((torso_z, torso))
    head_z = float(z[hm.HEAD])
    parts.append((min(torso_z, head_z) - 1e-3, lambda: pt.line(
        pts[hm.NECK], pts[hm.HEAD], w['neck'], cols['skin'], NECK)))
    parts.append((head_z, lambda: _draw_head(pt, pose, pts, height, angle,
                                             cols)))
    ear_r = 0.22 * pose.head_radius * height
    for k, part in ((3, L_EAR), (4, R_EAR)):
        # An ear turned away sits behind the head, a visible one in front.
        depth = head_z + (1e-3 if pose.face_normal_z[k] >= 0 else -1e-3)
        parts.append((depth, lambda k=k, part=part: pt.circle(
            pts[k], ear_r, cols['skin'] * 0.85, part)))
    # A stable sort keeps ties in insertion order, so drawing is
    # reproducible.
    for _, draw in sorted(parts, key=lambda d: d[0]):
        draw()


def keypoint_visibility(owner: np.ndarray, keypoints: np.ndarray,
                        figure_ids: np.ndarray) -> np.ndarray:
    """Whether each keypoint shows its own figure's adjacent parts.

    Args:
        owner: ``(H, W)`` int32 part codes after drawing all figures.
        keypoints: ``(N, K, 2)`` pixel positions; only in-image ones are
            meaningful (others are clipped for the lookup).
        figure_ids: ``(N,)`` the index each figure was drawn with.

    Returns:
        ``(N, K)`` bool, True where the keypoint is not occluded.
    """
    h, w = owner.shape
    xi = np.clip(np.round(keypoints[..., 0]).astype(int), 0, w - 1)
    yi = np.clip(np.round(keypoints[..., 1]).astype(int), 0, h - 1)
    code = owner[yi, xi] - 1
    fig, part = code // CODE_STRIDE, code % CODE_STRIDE
    own = (code >= 0) & (fig == figure_ids[:, None])
    k = np.broadcast_to(np.arange(keypoints.shape[1]), part.shape)
    return own & ADJACENT[k, np.clip(part, 0, NUM_PARTS - 1)]

