# CrowdPose person keypoints (14; MMPose ``dataset_info`` format).
# The 12 limb joints are COCO's (same order, shoulders to ankles), then the
# top of the head and the neck, which have no left/right partner.
_BLUE, _GREEN, _ORANGE = [51, 153, 255], [0, 255, 0], [255, 128, 0]


def _kpt(i, name, color, part, swap=''):
    return dict(name=name, id=i, color=color, type=part, swap=swap)


dataset_info = dict(
    dataset_name='crowdpose',
    paper_info=dict(
        author='Li, Jiefeng and Wang, Can and Zhu, Hao and Mao, Yihuan and '
        'Fang, Hao-Shu and Lu, Cewu',
        title='CrowdPose: Efficient Crowded Scenes Pose Estimation and A '
        'New Benchmark',
        container='Proceedings of IEEE Conference on Computer Vision and '
        'Pattern Recognition (CVPR)',
        year='2019',
        homepage='https://github.com/Jeff-sjtu/CrowdPose',
    ),
    keypoint_info={
        0: _kpt(0, 'left_shoulder', _BLUE, 'upper', 'right_shoulder'),
        1: _kpt(1, 'right_shoulder', _BLUE, 'upper', 'left_shoulder'),
        2: _kpt(2, 'left_elbow', _BLUE, 'upper', 'right_elbow'),
        3: _kpt(3, 'right_elbow', _BLUE, 'upper', 'left_elbow'),
        4: _kpt(4, 'left_wrist', _BLUE, 'upper', 'right_wrist'),
        5: _kpt(5, 'right_wrist', _GREEN, 'upper', 'left_wrist'),
        6: _kpt(6, 'left_hip', _ORANGE, 'lower', 'right_hip'),
        7: _kpt(7, 'right_hip', _GREEN, 'lower', 'left_hip'),
        8: _kpt(8, 'left_knee', _ORANGE, 'lower', 'right_knee'),
        9: _kpt(9, 'right_knee', _GREEN, 'lower', 'left_knee'),
        10: _kpt(10, 'left_ankle', _ORANGE, 'lower', 'right_ankle'),
        11: _kpt(11, 'right_ankle', _GREEN, 'lower', 'left_ankle'),
        12: _kpt(12, 'top_head', _ORANGE, 'upper'),
        13: _kpt(13, 'neck', _GREEN, 'upper'),
    },
    skeleton_info={
        i: dict(link=link, id=i, color=color)
        for i, (link, color) in enumerate([
            (('left_ankle', 'left_knee'), _GREEN),
            (('left_knee', 'left_hip'), _GREEN),
            (('right_ankle', 'right_knee'), _ORANGE),
            (('right_knee', 'right_hip'), _ORANGE),
            (('left_hip', 'right_hip'), _BLUE),
            (('left_shoulder', 'left_hip'), _BLUE),
            (('right_shoulder', 'right_hip'), _BLUE),
            (('left_shoulder', 'right_shoulder'), _BLUE),
            (('left_shoulder', 'left_elbow'), _GREEN),
            (('right_shoulder', 'right_elbow'), _ORANGE),
            (('left_elbow', 'left_wrist'), _GREEN),
            (('right_elbow', 'right_wrist'), _ORANGE),
            (('top_head', 'neck'), _BLUE),
            (('right_shoulder', 'neck'), _BLUE),
            (('left_shoulder', 'neck'), _BLUE),
        ])
    },
    # Loss weights per keypoint, as published with MMPose's CrowdPose
    # configs.
    joint_weights=[
        0.2, 0.2, 0.2, 1.3, 1.5, 0.2, 1.3, 1.5, 0.2, 0.2, 0.5, 0.2, 0.2, 0.5
    ],
    # OKS falloff constants of the CrowdPose benchmark (COCO's for the
    # limbs; the head and neck use the shoulders' value).
    sigmas=[
        0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107, 0.087, 0.087,
        0.089, 0.089, 0.079, 0.079
    ])
