"""Random humanoid poses in 3D, posed and projected onto the image plane.

A figure is built in its own body frame, in units of its height ``H``:
``+x`` is the figure's anatomical left, ``+y`` is up and ``+z`` is the
direction the chest faces. Joint angles are drawn from human-plausible
ranges, the upper body may bend, the head may turn, and the whole figure
is turned about the vertical axis (yaw) so that it faces the camera or
faces away. Because a front-facing figure shows its left side on the
image's right and a back-facing one on the image's left, left and right
are told apart by the facing cues (face, chest marker, feet) the renderer
draws, which stay consistent under a horizontal image flip.
"""
from dataclasses import dataclass
from typing import Tuple

import numpy as np

KEYPOINT_NAMES: Tuple[str, ...] = (
    'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear',
    'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow',
    'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee',
    'right_knee', 'left_ankle', 'right_ankle')

# COCO's person skeleton, 1-based keypoint ids as in the annotation files.
COCO_SKELETON = [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12],
                 [7, 13], [6, 7], [6, 8], [7, 9], [8, 10], [9, 11], [2, 3],
                 [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7]]

NUM_KEYPOINTS = 17
# Extra points the renderer needs, stored after the 17 keypoints.
NECK, HEAD, PELVIS, L_HAND, R_HAND, L_TOE, R_TOE = range(17, 24)
CHEST_TOP, CHEST_BOTTOM = 24, 25
NUM_POINTS = 26

# Outward unit vectors of the face points on a unit head, in head frame:
# nose, left eye, right eye, left ear, right ear.
_FACE_DIRS = np.array([[0.0, -0.15, 1.0], [0.38, 0.2, 0.9],
                       [-0.38, 0.2, 0.9], [1.0, 0.0, -0.1],
                       [-1.0, 0.0, -0.1]])
_FACE_DIRS /= np.linalg.norm(_FACE_DIRS, axis=1, keepdims=True)
# How far each face point lies from the head centre, in head radii.
_FACE_RADII = np.array([1.1, 0.9, 0.9, 1.0, 1.0])


@dataclass
class Pose3D:
    """A posed figure in camera-aligned axes (x right, y up, z to camera).

    Attributes:
        points: ``(NUM_POINTS, 3)`` keypoints then extra points, in units of
            the figure height, relative to the pelvis.
        face_normal_z: ``(5,)`` camera-facing component of the outward
            normal at nose, eyes and ears (negative: turned away).
        face_forward: ``(3,)`` unit vector the face points along.
        chest_normal_z: camera-facing component of the chest normal.
        head_radius: head radius in units of the figure height.
        widths: ``dict`` of limb thicknesses in units of the figure height.
    """
    points: np.ndarray
    face_normal_z: np.ndarray
    face_forward: np.ndarray
    chest_normal_z: float
    head_radius: float
    widths: dict


def _rx(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[1.0, 0, 0], [0, c, -s], [0, s, c]])


def _ry(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1.0, 0], [-s, 0, c]])


def _rz(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


_DOWN = np.array([0.0, -1.0, 0.0])
_FWD = np.array([0.0, 0.0, 1.0])


def _arm(rng: np.random.Generator, side: int) -> Tuple[np.ndarray, ...]:
    """Unit directions of upper arm and forearm in the torso frame.

    ``side`` is +1 for the left arm, -1 for the right one.
    """
    deg = np.deg2rad
    raised = rng.random() < 0.25
    abduct = deg(rng.uniform(100, 170) if raised else rng.uniform(5, 95))
    flex = deg(rng.uniform(-30, 70))
    # Forward flexion turns a hanging limb towards +z: rotate about x by -f.
    rot = _rx(-flex) @ _rz(side * abduct)
    upper = rot @ _DOWN
    elbow = deg(rng.uniform(0, 140)) if rng.random() < 0.8 else 0.0
    # The plane the elbow bends in turns about the upper arm: 0 bends the
    # forearm forwards, 90 degrees bends it up when the arm is raised.
    twist = deg(rng.uniform(-45, 110))
    bend_dir = rot @ (np.cos(twist) * _FWD
                      + np.sin(twist) * np.array([side, 0.0, 0.0]))
    fore = np.cos(elbow) * upper + np.sin(elbow) * bend_dir
    return upper, fore


def _leg(rng: np.random.Generator, side: int) -> Tuple[np.ndarray, ...]:
    """Unit directions of thigh and shin in the body frame."""
    deg = np.deg2rad
    abduct = deg(rng.uniform(0, 30))
    flex = deg(rng.uniform(60, 100) if rng.random() < 0.15
               else rng.uniform(-20, 60))
    rot = _rx(-flex) @ _rz(side * abduct)
    thigh = rot @ _DOWN
    knee = deg(rng.uniform(0, 100)) if rng.random() < 0.75 else 0.0
    # The knee bends the shin backwards relative to the thigh.
    shin = np.cos(knee) * thigh + np.sin(knee) * (rot @ -_FWD)
    return thigh, shin


def sample_pose(rng: np.random.Generator,
                front_prob: float = 0.65,
                max_yaw: float = 55.0) -> Pose3D:
    """Draw one random figure: proportions, joint angles and orientation.

    Args:
        rng: the random generator all draws come from.
        front_prob: probability that the figure faces the camera.
        max_yaw: largest turn (degrees) away from facing the camera straight
            on (or straight away); kept below 90 so that the facing, and with
            it left and right, stays readable.

    Returns:
        The posed figure in camera-aligned axes, see :class:`Pose3D`.
    """
    deg = np.deg2rad
    hip_w = rng.uniform(0.075, 0.095)
    sho_w = rng.uniform(0.11, 0.14)
    torso = rng.uniform(0.27, 0.31)
    neck_len = rng.uniform(0.035, 0.05)
    head_r = rng.uniform(0.052, 0.062)
    upper_len, fore_len = rng.uniform(0.15, 0.18), rng.uniform(0.13, 0.155)
    thigh_len, shin_len = rng.uniform(0.22, 0.25), rng.uniform(0.21, 0.24)

    pts = np.zeros((NUM_POINTS, 3))
    # Upper body bends forwards (+z at the shoulders) and sideways.
    rot_t = _rz(deg(rng.uniform(-15, 15))) @ _rx(deg(rng.uniform(-10, 30)))
    pts[NECK] = rot_t @ np.array([0.0, torso, 0.0])
    for side, sho, elb, wri, hand in ((1, 5, 7, 9, L_HAND),
                                      (-1, 6, 8, 10, R_HAND)):
        pts[sho] = rot_t @ np.array([side * sho_w, torso - 0.02, 0.0])
        upper, fore = _arm(rng, side)
        pts[elb] = pts[sho] + upper_len * (rot_t @ upper)
        pts[wri] = pts[elb] + fore_len * (rot_t @ fore)
        pts[hand] = pts[wri] + 0.035 * (rot_t @ fore)
    for side, hip, knee, ank, toe in ((1, 11, 13, 15, L_TOE),
                                      (-1, 12, 14, 16, R_TOE)):
        pts[hip] = np.array([side * hip_w, 0.0, 0.0])
        thigh, shin = _leg(rng, side)
        pts[knee] = pts[hip] + thigh_len * thigh
        pts[ank] = pts[knee] + shin_len * shin
        toe_dir = np.array([side * 0.25, -0.25, 1.0])
        pts[toe] = pts[ank] + 0.07 * toe_dir / np.linalg.norm(toe_dir)
    pts[CHEST_TOP] = rot_t @ np.array([0.0, torso - 0.03, 0.05])
    pts[CHEST_BOTTOM] = np.array([0.0, 0.03, 0.05])

    # The head tilts and turns relative to the torso.
    rot_h = rot_t @ _rz(deg(rng.uniform(-15, 15))) @ _rx(
        deg(rng.uniform(-15, 15))) @ _ry(deg(rng.uniform(-35, 35)))
    pts[HEAD] = pts[NECK] + rot_t @ np.array([0.0, neck_len + head_r, 0.0])
    face_dirs = _FACE_DIRS @ rot_h.T
    pts[:5] = pts[HEAD] + head_r * _FACE_RADII[:, None] * face_dirs

    yaw = rng.uniform(-max_yaw, max_yaw)
    if rng.random() >= front_prob:
        yaw += 180.0
    rot_y = _ry(deg(yaw))
    pts = pts @ rot_y.T
    face_dirs = face_dirs @ rot_y.T
    chest = rot_y @ rot_t @ _FWD
    widths = dict(
        upper_arm=rng.uniform(0.05, 0.062), forearm=rng.uniform(0.04, 0.05),
        thigh=rng.uniform(0.068, 0.085), shin=rng.uniform(0.055, 0.068),
        torso_edge=rng.uniform(0.06, 0.08), neck=rng.uniform(0.04, 0.05),
        foot=rng.uniform(0.035, 0.045), hand=rng.uniform(0.026, 0.032))
    return Pose3D(points=pts, face_normal_z=face_dirs[:, 2].copy(),
                  face_forward=face_dirs[0], chest_normal_z=float(chest[2]),
                  head_radius=head_r, widths=widths)


def project(pose: Pose3D, height: float, angle: float,
            offset: np.ndarray) -> np.ndarray:
    """Image-plane positions ``(NUM_POINTS, 2)`` in pixels (x right, y down).

    Orthographic projection, scaled to ``height`` pixels, rotated in the
    image plane by ``angle`` degrees and shifted by ``offset`` ``(2,)``.
    """
    xy = pose.points[:, :2] * np.array([1.0, -1.0]) * height
    a = np.deg2rad(angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return xy @ rot.T + offset
