"""inference_bottomup: the validation path's persons, in image pixels."""
import cv2
import numpy as np
import pytest
from mmengine.dataset import pseudo_collate

from posekit.apis import inference_bottomup, init_model
from posekit.registry import DATASETS


@pytest.fixture(scope='module')
def bottomup_model(configs, bottomup_options):
    import torch
    torch.manual_seed(0)
    return init_model(configs.bottomup, cfg_options=bottomup_options)


def test_matches_the_validation_path(bottomup_model):
    dataset = DATASETS.build(bottomup_model.cfg.test_dataloader.dataset)
    expected = bottomup_model.test_step(pseudo_collate([dataset[0]]))[0]
    path = dataset.get_data_info(0)['img_path']
    (result, ) = inference_bottomup(bottomup_model, path)
    pred, exp = result.pred_instances, expected.pred_instances
    # decode_max_instances=10 persons of 17 keypoints
    assert pred.keypoints.shape == (10, 17, 2)
    assert pred.keypoint_scores.shape == (10, 17)
    assert pred.bboxes.shape == (10, 4)
    np.testing.assert_allclose(pred.keypoints, exp.keypoints, atol=1e-4)
    np.testing.assert_allclose(pred.keypoint_scores, exp.keypoint_scores,
                               atol=1e-5)
    # a 96 x 80 image resized (expand, to cover the 256 x 192 input) by
    # max(256 / 96, 192 / 80) = 8 / 3 to 256 x 213.3, padded to 256 x 224
    # (multiples of 32): the predictions come back into the image's pixels
    # (x <= 256 * 3 / 8 = 96, y <= 224 * 3 / 8 = 84), not the input's
    assert result.ori_shape == (80, 96)
    assert result.input_size == (256, 224)
    assert pred.keypoints[..., 0].max() <= 96 + 1
    assert pred.keypoints[..., 1].max() <= 84 + 1
    assert pred.keypoints.min() >= -1
    assert pred.keypoints[..., 0].max() > 40  # not all squeezed to a corner

    (from_array, ) = inference_bottomup(bottomup_model, cv2.imread(path))
    np.testing.assert_allclose(from_array.pred_instances.keypoints,
                               pred.keypoints, atol=1e-4)


def test_missing_image_is_named(bottomup_model, tmp_path):
    path = tmp_path / 'gone.png'
    with pytest.raises(FileNotFoundError, match=str(path)):
        inference_bottomup(bottomup_model, str(path))
    with pytest.raises(TypeError, match='got dtype float32'):
        inference_bottomup(bottomup_model, np.zeros((8, 8, 3), np.float32))
