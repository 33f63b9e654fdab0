"""inference_topdown: the same keypoints as the validation path (dataset +
test_step), box formats, the whole-image default, and input errors."""
import cv2
import numpy as np
import pytest
from mmengine.dataset import pseudo_collate

from posekit.apis import inference_topdown, merge_data_samples
from posekit.registry import DATASETS


@pytest.fixture(scope='module')
def val_dataset(topdown_model):
    return DATASETS.build(topdown_model.cfg.test_dataloader.dataset)


def _dataset_prediction(model, dataset, idx):
    sample = model.test_step(pseudo_collate([dataset[idx]]))[0]
    return sample.pred_instances


def test_matches_the_validation_path(topdown_model, val_dataset):
    # the two instances of the first image, through the dataset
    infos = [val_dataset.get_data_info(i) for i in range(len(val_dataset))]
    first = [i for i, info in enumerate(infos)
             if info['img_path'] == infos[0]['img_path']]
    assert len(first) >= 2
    expected = [_dataset_prediction(topdown_model, val_dataset, i)
                for i in first]
    boxes = np.concatenate([infos[i]['bbox'] for i in first])
    results = inference_topdown(topdown_model, infos[0]['img_path'], boxes)
    assert len(results) == len(first)
    for result, exp, box in zip(results, expected, boxes):
        pred = result.pred_instances
        assert pred.keypoints.shape == (1, 17, 2)
        assert pred.keypoint_scores.shape == (1, 17)
        np.testing.assert_allclose(pred.keypoints, exp.keypoints,
                                   atol=1e-4)
        np.testing.assert_allclose(pred.keypoint_scores,
                                   exp.keypoint_scores, atol=1e-5)
        np.testing.assert_allclose(pred.bboxes, box[None])
        assert result.ori_shape == (80, 96)
    # the flip test needs the dataset's flip_indices in each sample
    assert results[0].flip_indices[1:3] == [2, 1]

    # the same image as a BGR array
    img = cv2.imread(infos[0]['img_path'])
    again = inference_topdown(topdown_model, img, boxes)
    for a, b in zip(again, results):
        np.testing.assert_allclose(a.pred_instances.keypoints,
                                   b.pred_instances.keypoints, atol=1e-4)


def test_xywh_equals_xyxy(topdown_model, coco_image):
    xyxy = np.array([[100, 50, 300, 400], [320, 60, 480, 330]], np.float32)
    xywh = np.array([[100, 50, 200, 350], [320, 60, 160, 270]], np.float32)
    a = inference_topdown(topdown_model, str(coco_image), xyxy)
    b = inference_topdown(topdown_model, str(coco_image), xywh, 'xywh')
    for ra, rb in zip(a, b):
        np.testing.assert_allclose(ra.pred_instances.keypoints,
                                   rb.pred_instances.keypoints, atol=1e-4)
        np.testing.assert_allclose(rb.pred_instances.bboxes,
                                   ra.pred_instances.bboxes)
    np.testing.assert_allclose(b[1].pred_instances.bboxes,
                               [[320, 60, 480, 330]])
    merged = merge_data_samples(a)
    assert merged.pred_instances.keypoints.shape == (2, 17, 2)
    np.testing.assert_allclose(merged.pred_instances.keypoints[1],
                               a[1].pred_instances.keypoints[0])


def test_no_box_means_the_whole_image(topdown_model, coco_image):
    (whole, ) = inference_topdown(topdown_model, str(coco_image))
    # 000000196141.jpg is 640 x 429
    np.testing.assert_allclose(whole.pred_instances.bboxes,
                               [[0, 0, 640, 429]])
    (boxed, ) = inference_topdown(topdown_model, str(coco_image),
                                  [[0, 0, 640, 429]])
    np.testing.assert_allclose(whole.pred_instances.keypoints,
                               boxed.pred_instances.keypoints, atol=1e-4)
    # the padded 640 x 429 box at the 3:4 crop's aspect: 800 wide
    np.testing.assert_allclose(whole.input_scale, [800, 800 * 4 / 3],
                               rtol=1e-5)
    assert inference_topdown(topdown_model, str(coco_image),
                             np.zeros((0, 4))) == []


def test_bad_inputs_are_named(topdown_model, tmp_path):
    img = np.zeros((40, 30, 3), np.uint8)
    with pytest.raises(ValueError, match="bbox_format must be one of "
                       r"\('xyxy', 'xywh'\), got 'cxcywh'"):
        inference_topdown(topdown_model, img, [[0, 0, 5, 5]], 'cxcywh')
    with pytest.raises(ValueError, match=r'\(N, 4\) xyxy boxes, got shape '
                       r'\(3,\)'):
        inference_topdown(topdown_model, img, [1, 2, 3])
    with pytest.raises(ValueError, match=r'got shape \(1, 5\) \(drop the '
                       r'score column'):
        inference_topdown(topdown_model, img, [[0, 0, 5, 5, 0.9]])
    with pytest.raises(ValueError, match=r'bboxes\[1\] .* zero or '
                       'negative width'):
        inference_topdown(topdown_model, img, [[0, 0, 5, 5], [3, 3, 3, 9]])
    missing = tmp_path / 'no_such.jpg'
    with pytest.raises(FileNotFoundError, match=str(missing)):
        inference_topdown(topdown_model, str(missing))
    with pytest.raises(ValueError, match=r'\(H, W, 3\) BGR uint8 array, '
                       r'got shape \(40, 30\)'):
        inference_topdown(topdown_model, img[..., 0])


def test_samples_do_not_share_the_models_metainfo(topdown_model):
    img = np.zeros((64, 48, 3), dtype=np.uint8)
    first, second = inference_topdown(
        topdown_model, img, bboxes=np.array([[0, 0, 48, 64],
                                             [4, 4, 40, 60]], np.float32))
    first.flip_indices[1] = -1
    assert second.flip_indices[1] != -1
    assert topdown_model.dataset_meta['flip_indices'][1] != -1
