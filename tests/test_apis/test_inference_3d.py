"""inference_pose_lifter_model: the validation path's 3D joints (minus the
root) on the shared Human3.6M sample, the windows around each frame, the
input forms, and input errors."""
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.structures import InstanceData

from posekit.apis import inference_pose_lifter_model, init_model
from posekit.apis.inference_3d import lifting_windows
from posekit.registry import DATASETS
from posekit.structures import PoseDataSample

SMALL_TCN = {'model.backbone.stem_channels': 16, 'model.head.in_channels': 16}


def _h36m_options(h36m, cameras):
    opts = {'test_dataloader.dataset.data_root': str(h36m),
            'test_dataloader.dataset.ann_file': 'test_h36m_body3d.npz',
            'test_dataloader.dataset.data_prefix.img': ''}
    if cameras:
        opts['test_dataloader.dataset.camera_param_file'] = 'cameras.pkl'
    return opts


@pytest.mark.parametrize('name', ['video_lift', 'image_lift'])
def test_matches_the_validation_path(name, configs, shared_data):
    h36m = shared_data / 'h36m'
    if not (h36m / 'test_h36m_body3d.npz').is_file():
        pytest.skip(f'{h36m}/test_h36m_body3d.npz is absent')
    video = name == 'video_lift'
    torch.manual_seed(0)
    options = {**SMALL_TCN, **_h36m_options(h36m, cameras=video)}
    if video:
        options['model.test_cfg.flip_test'] = True  # reads flip_indices
    model = init_model(getattr(configs, name), cfg_options=options)
    dataset = DATASETS.build(model.cfg.test_dataloader.dataset)
    assert len(dataset) == 4  # four single frames of different videos
    for i in (0, 3):
        info = dataset.get_data_info(i)
        expected = model.test_step(pseudo_collate([dataset[i]]))[0]
        image_size = None
        if video:
            cam = info['camera_param']
            image_size = (cam['w'], cam['h'])
        # the dataset's window (T, K, 2) as T frames of one person: the
        # window around its middle frame is the whole window (27 copies of
        # a one-frame video for VideoPose3D, one frame for the image lift)
        window = info['keypoints']
        assert window.shape == ((27 if video else 1), 17, 2)
        (result, ) = inference_pose_lifter_model(
            model, window[:, None], image_size=image_size,
            frame_indices=[len(window) // 2])
        pred = result.pred_instances
        assert pred.keypoints.shape == (1, 17, 3)
        assert pred.keypoint_scores.shape == (1, 17)
        # the dataset path adds the true root (joint 0) back; the API's
        # output is root-relative
        root = info['lifting_target'][:, :1]
        np.testing.assert_allclose(
            pred.keypoints, expected.pred_instances.keypoints - root,
            atol=1e-4)
        if not video:  # the image lifter predicts 16 joints, root is 0
            np.testing.assert_array_equal(pred.keypoints[0, 0], 0)


def test_window_positions():
    frames = np.arange(5)
    np.testing.assert_array_equal(
        lifting_windows(5, frames, 3),
        [[0, 0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 4]])
    np.testing.assert_array_equal(
        lifting_windows(5, np.array([0, 4]), 3, causal=True),
        [[0, 0, 0], [2, 3, 4]])
    np.testing.assert_array_equal(
        lifting_windows(6, np.array([3]), 3, step=2), [[1, 3, 5]])


@pytest.fixture(scope='module')
def lifter3(configs):
    """VideoPose3D with a 3-frame receptive field (kernels 1 and 3)."""
    torch.manual_seed(0)
    return init_model(configs.video_lift, cfg_options={
        **SMALL_TCN, 'model.backbone.kernel_sizes': (1, 3),
        'model.backbone.num_blocks': 1,
        'test_dataloader.dataset.seq_len': 3})


def _lift(model, kpts, **kwargs):
    return inference_pose_lifter_model(model, kpts, image_size=(640, 480),
                                       **kwargs)


def test_each_frame_is_lifted_from_its_window(lifter3):
    rng = np.random.default_rng(0)
    seq = rng.uniform(0, 480, (5, 2, 17, 2)).astype(np.float32)
    results = _lift(lifter3, seq)
    assert [r.frame_idx for r in results] == [0, 1, 2, 3, 4]
    assert all(r.pred_instances.keypoints.shape == (2, 17, 3)
               for r in results)
    # frame 0's window is frames (0, 0, 1); frame 4's is (3, 4, 4)
    (first, ) = _lift(lifter3, seq[[0, 0, 1]], frame_indices=[1])
    (last, ) = _lift(lifter3, seq[[3, 4, 4]], frame_indices=[-2])
    np.testing.assert_allclose(results[0].pred_instances.keypoints,
                               first.pred_instances.keypoints, atol=1e-5)
    np.testing.assert_allclose(results[4].pred_instances.keypoints,
                               last.pred_instances.keypoints, atol=1e-5)
    # persons are lifted independently, in order
    (alone, ) = _lift(lifter3, seq[:, 1:], frame_indices=[2])
    np.testing.assert_allclose(results[2].pred_instances.keypoints[1:],
                               alone.pred_instances.keypoints, atol=1e-5)
    # frames as PoseDataSamples, and as lists of per-person samples
    samples = [PoseDataSample(pred_instances=InstanceData(keypoints=f))
               for f in seq]
    nested = [[PoseDataSample(pred_instances=InstanceData(keypoints=p[None]))
               for p in f] for f in seq]
    for other in (_lift(lifter3, samples, frame_indices=[2]),
                  _lift(lifter3, nested, frame_indices=[2])):
        np.testing.assert_allclose(other[0].pred_instances.keypoints,
                                   results[2].pred_instances.keypoints,
                                   atol=1e-5)


def test_bad_inputs_are_named(lifter3):
    seq = np.zeros((4, 1, 17, 2), np.float32)
    with pytest.raises(ValueError, match=r'image_size=\(w, h\) is required'):
        inference_pose_lifter_model(lifter3, seq)
    with pytest.raises(ValueError, match='K = 16 keypoints but the lifter'
                       "'s codec VideoPoseLifting expects num_keypoints = 17"):
        _lift(lifter3, np.zeros((4, 1, 16, 2)))
    with pytest.raises(ValueError, match=r'got shape \(1, 17, 3\)'):
        _lift(lifter3, np.zeros((1, 17, 3)))
    with pytest.raises(IndexError, match=r'\[4\] are out of range for 4'):
        _lift(lifter3, seq, frame_indices=[0, 4])
    with pytest.raises(ValueError, match='frame 0 has .* frame 1 has'):
        _lift(lifter3, [np.zeros((1, 17, 2)), np.zeros((2, 17, 2))])
    empty = _lift(lifter3, np.zeros((2, 0, 17, 2)))
    assert empty[1].pred_instances.keypoints.shape == (0, 17, 3)
