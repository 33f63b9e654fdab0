import json

import cv2
import numpy as np
import pytest

IMAGE = '000000196141.jpg'  # 640x429


@pytest.fixture(scope='module')
def demo(demo_module):
    return demo_module('image_demo')


def _gt_boxes(coco_dir, file_name, num):
    """The first ``num`` ground-truth person boxes of an image, xyxy."""
    ann = json.loads((coco_dir / 'test_coco.json').read_text())
    image_id = next(i['id'] for i in ann['images']
                    if i['file_name'] == file_name)
    boxes = [a['bbox'] for a in ann['annotations']
             if a['image_id'] == image_id][:num]
    return [[x, y, x + w, y + h] for x, y, w, h in boxes]


def _last_drawn(keypoints, scores, shape):
    """Keypoint index and rounded (x, y) of the last keypoint drawn with
    kpt_thr=0 (inside the image, score >= 0; a random-init model scores
    some keypoints below 0): it is drawn last, on top of the others."""
    h, w = shape[:2]
    flat = keypoints.reshape(-1, 2)
    inside = (flat[:, 0] >= 0) & (flat[:, 0] < w - 0.5) & \
        (flat[:, 1] >= 0) & (flat[:, 1] < h - 0.5) & \
        (scores.reshape(-1) >= 0)
    idx = int(np.flatnonzero(inside)[-1])
    x, y = np.floor(flat[idx] + 0.5).astype(int)
    return idx % keypoints.shape[1], x, y


def test_boxes_json_predictions_match_inference_topdown(
        demo, tiny_topdown, coco_dir, tmp_path):
    from posekit.apis import inference_topdown, init_model
    config, checkpoint = tiny_topdown
    img = str(coco_dir / IMAGE)
    boxes = _gt_boxes(coco_dir, IMAGE, 2)
    (tmp_path / 'boxes.json').write_text(json.dumps(boxes))
    result = demo.main([img, config, checkpoint, '--out-file',
                        str(tmp_path / 'vis.png'), '--bboxes',
                        str(tmp_path / 'boxes.json'), '--kpt-thr', '0',
                        '--pred-out-file', str(tmp_path / 'preds.json')])
    assert result['num_instances'] == 2

    preds = json.loads((tmp_path / 'preds.json').read_text())
    assert preds['meta_info']['num_keypoints'] == 17
    model = init_model(config, checkpoint)
    expected = inference_topdown(model, img, np.array(boxes))
    got = preds['instance_info']
    assert len(got) == len(expected) == 2
    for item, sample in zip(got, expected):
        np.testing.assert_allclose(item['keypoints'],
                                   sample.pred_instances.keypoints[0],
                                   rtol=1e-5, atol=1e-3)
        np.testing.assert_allclose(item['keypoint_scores'],
                                   sample.pred_instances.keypoint_scores[0],
                                   rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose([g['bbox'] for g in got], boxes, atol=1e-3)

    source = cv2.imread(img)[..., ::-1]
    drawn = cv2.imread(str(tmp_path / 'vis.png'))[..., ::-1]
    assert drawn.shape == source.shape == (429, 640, 3)
    k, x, y = _last_drawn(np.array([g['keypoints'] for g in got]),
                          np.array([g['keypoint_scores'] for g in got]),
                          drawn.shape)
    assert tuple(drawn[y, x]) == tuple(model.dataset_meta[
        'keypoint_colors'][k])
    changed = (drawn != source).any(axis=2)
    assert changed.sum() > 100  # discs, links and the two boxes


def test_whole_image_box_and_heatmap_row(demo, tiny_topdown, coco_dir,
                                         tmp_path):
    config, checkpoint = tiny_topdown
    img = str(coco_dir / IMAGE)
    demo.main([img, config, checkpoint, '--out-file',
               str(tmp_path / 'vis.png'), '--draw-heatmap',
               '--pred-out-file', str(tmp_path / 'preds.json')])
    info = json.loads((tmp_path / 'preds.json').read_text())[
        'instance_info']
    assert len(info) == 1
    np.testing.assert_allclose(info[0]['bbox'], [0, 0, 640, 429])
    # the drawn image above, the heatmap overlay below
    assert cv2.imread(str(tmp_path / 'vis.png')).shape == (858, 640, 3)


def test_bad_boxes_file_is_named(demo, tiny_topdown, coco_dir, tmp_path):
    config, checkpoint = tiny_topdown
    bad = tmp_path / 'boxes.json'
    bad.write_text(json.dumps({'bbox': [1, 2, 3, 4]}))
    with pytest.raises(ValueError, match='boxes.json: expected a JSON list'):
        demo.main([str(coco_dir / IMAGE), config, checkpoint,
                   '--out-file', str(tmp_path / 'vis.png'),
                   '--bboxes', str(bad)])
    with pytest.raises(SystemExit):
        demo.main([str(coco_dir / IMAGE), config, checkpoint])


def test_bottomup_model_needs_no_boxes(demo, coco_dir, repo_root,
                                       tmp_path):
    import torch

    from posekit.apis import init_model
    config = tmp_path / 'tiny_ae.py'
    base = repo_root / 'configs/quickstart/ae_res18-small_synthetic-256x192.py'
    config.write_text(
        f"_base_ = [{str(base)!r}]\n"
        "model = dict(backbone=dict(base_channels=8, stem_channels=8),\n"
        "             head=dict(in_channels=64,\n"
        "                       deconv_out_channels=(8, 8, 8)))\n")
    torch.manual_seed(0)
    torch.save({'state_dict': init_model(str(config)).state_dict()},
               tmp_path / 'tiny_ae.pth')
    img = str(coco_dir / IMAGE)
    result = demo.main([img, str(config), str(tmp_path / 'tiny_ae.pth'),
                        '--out-file', str(tmp_path / 'vis.png'),
                        '--kpt-thr', '0', '--pred-out-file',
                        str(tmp_path / 'preds.json')])
    info = json.loads((tmp_path / 'preds.json').read_text())[
        'instance_info']
    # the codec's decode_max_instances=10 caps the persons found
    assert result['num_instances'] == len(info) and 1 <= len(info) <= 10
    assert all(len(i['keypoints']) == 17 for i in info)
    assert cv2.imread(str(tmp_path / 'vis.png')).shape == (429, 640, 3)
