import cv2
import numpy as np
import pytest
from mmengine.structures import InstanceData, PixelData

from posekit.datasets.datasets.utils import parse_pose_metainfo
from posekit.registry import VISUALIZERS
from posekit.structures import PoseDataSample
from posekit.visualization import PoseLocalVisualizer

RED, BLUE = (255, 0, 0), (0, 0, 255)


def _sample(keypoints, scores=None, field='pred_instances', **extra):
    inst = InstanceData(keypoints=np.asarray(keypoints, np.float32))
    if scores is not None:
        inst.keypoint_scores = np.asarray(scores, np.float32)
    for key, value in extra.items():
        inst.set_field(np.asarray(value, np.float32), key)
    sample = PoseDataSample()
    sample.set_field(inst, field)
    return sample


def _black(h=40, w=60):
    return np.zeros((h, w, 3), np.uint8)


def test_registered_under_mmpose_name_with_its_arguments():
    vis = VISUALIZERS.build(dict(type='PoseLocalVisualizer', radius=5,
                                 line_width=2, kpt_color='blue',
                                 name='vis_args_test'))
    assert isinstance(vis, PoseLocalVisualizer)
    assert (vis.radius, vis.line_width, vis.kpt_color) == (5, 2, 'blue')


def test_set_dataset_meta_takes_coco_colours_and_skeleton():
    meta = parse_pose_metainfo(dict(from_file='configs/_base_/datasets/'
                                    'coco.py'))
    vis = PoseLocalVisualizer()
    vis.set_dataset_meta(meta)
    assert vis.kpt_color.shape == (17, 3)
    # coco.py: keypoint 5 (left_shoulder) is green, link 0 is ankle-knee
    assert tuple(vis.kpt_color[5]) == (0, 255, 0)
    assert tuple(vis.skeleton[0]) == (15, 13)
    assert tuple(vis.link_color[2]) == (255, 128, 0)


def test_keypoint_disc_has_its_colour_and_radius():
    vis = PoseLocalVisualizer(kpt_color=RED, radius=2)
    out = vis.draw_datasample(_black(), _sample([[[20, 10]]], [[1.0]]))
    assert tuple(out[10, 20]) == RED
    assert tuple(out[10, 22]) == RED and tuple(out[12, 20]) == RED
    # (3, 0) and the (2, 2) diagonal lie outside a radius-2 disc
    assert tuple(out[10, 23]) == (0, 0, 0)
    assert tuple(out[12, 22]) == (0, 0, 0)
    assert out.sum(axis=2).astype(bool).sum() < 30


def test_kpt_thr_and_links_need_both_ends():
    vis = PoseLocalVisualizer(kpt_color=RED, link_color=BLUE, radius=1,
                              line_width=3, skeleton=[(0, 1)])
    kpts = [[[10, 20], [50, 20]]]
    both = vis.draw_datasample(_black(), _sample(kpts, [[0.9, 0.9]]))
    assert tuple(both[20, 30]) == BLUE  # middle of the link
    assert tuple(both[20, 50]) == RED
    one = vis.draw_datasample(_black(), _sample(kpts, [[0.9, 0.2]]),
                              kpt_thr=0.3)
    assert tuple(one[20, 30]) == (0, 0, 0)
    assert tuple(one[20, 50]) == (0, 0, 0)
    assert tuple(one[20, 10]) == RED
    everything = vis.draw_datasample(_black(), _sample(kpts, [[0.9, 0.2]]),
                                     kpt_thr=0.0)
    assert tuple(everything[20, 50]) == RED


def test_alpha_blends_with_the_image():
    vis = PoseLocalVisualizer(kpt_color=(255, 255, 255), radius=1,
                              alpha=0.5)
    img = np.full((20, 20, 3), 100, np.uint8)
    out = vis.draw_datasample(img, _sample([[[5, 5]]]))
    # 0.5 * 100 + 0.5 * 255 = 177.5
    assert abs(int(out[5, 5, 0]) - 177.5) <= 0.5


def test_keypoint_weight_sets_opacity_of_points_and_links():
    vis = PoseLocalVisualizer(kpt_color=(255, 255, 255), link_color=BLUE,
                              skeleton=[(0, 1)], radius=1, line_width=3,
                              show_keypoint_weight=True)
    img = np.full((40, 60, 3), 100, np.uint8)
    out = vis.draw_datasample(img, _sample([[[10, 20], [50, 20]]],
                                           [[0.5, 0.5]]))
    # the link (mean score 0.5) mixes blue into the grey: red channel
    # 0.5 * 100 = 50 mid-link; the keypoint on top of the link's end
    # then mixes in white: 0.5 * 50 + 0.5 * 255 = 152.5
    assert np.abs(out[20, 30].astype(float) - (50, 50, 177.5)).max() <= 1
    assert abs(int(out[20, 10, 0]) - 152.5) <= 0.5


def test_bbox_outline_drawn_only_when_asked():
    vis = PoseLocalVisualizer(bbox_color=BLUE, line_width=1)
    sample = _sample([[[20, 20]]], [[0.0]], bboxes=[[10, 10, 30, 30]])
    plain = vis.draw_datasample(_black(), sample)
    assert plain.sum() == 0  # the keypoint's score is below kpt_thr
    boxed = vis.draw_datasample(_black(), sample, draw_bbox=True)
    assert tuple(boxed[10, 20]) == BLUE  # top edge
    assert tuple(boxed[20, 10]) == BLUE  # left edge
    assert tuple(boxed[20, 20]) == (0, 0, 0)  # inside


def test_gt_and_pred_side_by_side_with_heatmap_row():
    vis = PoseLocalVisualizer(kpt_color=RED)
    sample = _sample([[[5, 5]]], field='gt_instances')
    sample.pred_instances = InstanceData(
        keypoints=np.array([[[40, 30]]], np.float32))
    out = vis.draw_datasample(_black(40, 60), sample)
    assert out.shape == (40, 120, 3)
    assert tuple(out[5, 5]) == RED and tuple(out[30, 60 + 40]) == RED
    assert tuple(out[30, 40]) == (0, 0, 0)  # the GT side has no such point
    sample.pred_fields = PixelData(heatmaps=np.ones((1, 10, 15), np.float32))
    stacked = vis.draw_datasample(_black(40, 60), sample, draw_heatmap=True)
    assert stacked.shape == (80, 120, 3)
    only_pred = vis.draw_datasample(_black(40, 60), sample, draw_gt=False)
    assert only_pred.shape == (40, 60, 3)


def test_bad_image_and_keypoint_count_errors():
    vis = PoseLocalVisualizer()
    with pytest.raises(ValueError, match=r'\(H, W, 3\).*\(40, 60\)'):
        vis.draw_datasample(np.zeros((40, 60), np.uint8),
                            _sample([[[1, 1]]]))
    vis.set_dataset_meta(parse_pose_metainfo(
        dict(from_file='configs/_base_/datasets/coco.py')))
    with pytest.raises(ValueError, match=r'5 keypoints.*coco.*17'):
        vis.draw_datasample(_black(), _sample(np.ones((1, 5, 2))))
    with pytest.raises(ValueError, match='keypoint_scores has shape'):
        vis.draw_datasample(_black(), _sample(np.ones((1, 17, 2)),
                                              np.ones((1, 16))))
    with pytest.raises(ValueError, match='skeleton_style'):
        vis.draw_datasample(_black(), _sample(np.ones((1, 17, 2))),
                            skeleton_style='openpose')


def test_colour_count_mismatch_names_the_argument():
    vis = PoseLocalVisualizer(kpt_color=[RED, BLUE])
    with pytest.raises(ValueError, match='kpt_color has 2 colours.*3'):
        vis.draw_datasample(_black(), _sample(np.ones((1, 3, 2))))


def test_add_datasample_writes_out_file_or_backend(tmp_path):
    vis = PoseLocalVisualizer(
        name='vis_backend_test', kpt_color=RED, radius=2,
        vis_backends=[dict(type='LocalVisBackend')], save_dir=str(tmp_path))
    sample = _sample([[[20, 10]]], [[1.0]])
    out_file = tmp_path / 'deep' / 'drawn.png'
    vis.add_datasample('img', _black(), sample, out_file=str(out_file))
    written = cv2.imread(str(out_file))[..., ::-1]
    assert written.shape == (40, 60, 3)
    assert tuple(written[10, 20]) == RED
    vis.add_datasample('img', _black(), sample, step=7)
    stored = tmp_path / 'vis_data' / 'vis_image' / 'img_7.png'
    assert tuple(cv2.imread(str(stored))[10, 20, ::-1]) == RED
    with pytest.raises(OSError, match='extension'):
        vis.add_datasample('img', _black(), sample,
                           out_file=str(tmp_path / 'drawn.nope'))
