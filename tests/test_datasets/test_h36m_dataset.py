"""Human36mDataset: window building, shapes and the safe camera loader."""
import pickle

import numpy as np
import pytest

from posekit.datasets.datasets.body3d import (Human36mDataset,
                                              load_camera_params)

K = 17


def _write_npz(path, lengths):
    """Videos S1_Walk_<v>.cam_<frame> with `lengths[v]` frames; the 3D
    x of frame f of video v is 1000 * v + f (to identify frames)."""
    names, s3d = [], []
    for v, n in enumerate(lengths):
        for f in range(n):
            names.append(f'S1_Walk_{v}.cam{v}_{f:06d}.jpg')
            pose = np.ones((K, 4), np.float32)
            pose[:, 0] = 1000 * v + f
            s3d.append(pose)
    num = len(names)
    part = np.ones((num, K, 3), np.float32) * 5
    np.savez(path, imgname=np.array(names), S=np.stack(s3d), part=part,
             center=np.zeros((num, 2)), scale=np.ones(num))


def _ds(ann, **kw):
    return Human36mDataset(ann_file=str(ann), **kw)


@pytest.mark.parametrize('seq_len,seq_step', [(1, 1), (3, 1), (3, 2)])
def test_window_count_without_padding(tmp_path, seq_len, seq_step):
    lengths = [7, 2, 5]
    _write_npz(tmp_path / 'a.npz', lengths)
    ds = _ds(tmp_path / 'a.npz', seq_len=seq_len, seq_step=seq_step)
    span = (seq_len - 1) * seq_step + 1
    assert len(ds) == sum(max(n - span + 1, 0) for n in lengths)
    assert ds[0]['keypoints'].shape == (seq_len, K, 2)
    assert ds[0]['lifting_target'].shape == (1, K, 3)


def test_padded_windows_are_one_per_frame_and_clamped(tmp_path):
    _write_npz(tmp_path / 'a.npz', [4, 6])
    ds = _ds(tmp_path / 'a.npz', seq_len=5, causal=False, pad_video_seq=True)
    assert len(ds) == 10
    first = ds.get_data_info(0)
    # Frame 0 of video 0, centred window: two copies of frame 0 on the left.
    np.testing.assert_array_equal(first['keypoints_3d'][:, 0, 0],
                                  [0, 0, 0, 1, 2])
    assert first['target_idx'] == [2]
    assert first['lifting_target'][0, 0, 0] == 0
    last = ds.get_data_info(9)  # frame 5 of video 1 (frames 1000..1005)
    np.testing.assert_array_equal(last['keypoints_3d'][:, 0, 0],
                                  [1003, 1004, 1005, 1005, 1005])


def test_causal_target_is_last_frame(tmp_path):
    _write_npz(tmp_path / 'a.npz', [6])
    ds = _ds(tmp_path / 'a.npz', seq_len=3, seq_step=2)
    info = ds.get_data_info(1)
    np.testing.assert_array_equal(info['keypoints_3d'][:, 0, 0], [1, 3, 5])
    assert info['lifting_target'][0, 0, 0] == 5
    assert info['target_img_path'] == ['S1_Walk_0.cam0_000005.jpg']


def test_multiple_target_windows(tmp_path):
    _write_npz(tmp_path / 'a.npz', [10, 3])
    ds = _ds(tmp_path / 'a.npz', multiple_target=4, multiple_target_step=3)
    # Starts 0, 3, 6 in the 10-frame video (6 + 4 <= 10), none in the other.
    assert len(ds) == 3
    info = ds.get_data_info(2)
    assert info['lifting_target'].shape == (4, K, 3)
    np.testing.assert_array_equal(info['lifting_target'][:, 0, 0],
                                  [6, 7, 8, 9])


def test_shared_h36m_file(shared_data):
    root = shared_data / 'h36m'
    raw = np.load(root / 'test_h36m_body3d.npz')
    ds = Human36mDataset(ann_file='test_h36m_body3d.npz', data_root=str(root),
                         seq_len=1, camera_param_file='cameras.pkl')
    assert len(ds) == len(raw['imgname'])
    # Videos come in sorted (subject, action, camera) order; the file's
    # four frames are from four subjects, already sorted.
    info = ds.get_data_info(1)
    np.testing.assert_allclose(info['lifting_target'][0], raw['S'][1, :, :3],
                               rtol=1e-6)
    np.testing.assert_allclose(info['keypoints'][0], raw['part'][1, :, :2],
                               rtol=1e-6)
    assert info['camera_param']['w'] == 1000
    assert info['camera_param']['R'].shape == (3, 3)
    padded = Human36mDataset(ann_file='test_h36m_body3d.npz',
                             data_root=str(root), seq_len=27, causal=False,
                             pad_video_seq=True)
    assert len(padded) == 4
    assert padded[0]['keypoints'].shape == (27, K, 2)
    assert padded[0]['flip_indices'][1] == 4


def test_detection_source_replaces_2d(shared_data):
    root = shared_data / 'h36m'
    det = np.load(root / 'test_h36m_2d_detection.npy')
    ds = Human36mDataset(ann_file='test_h36m_body3d.npz', data_root=str(root),
                         keypoint_2d_src='detection',
                         keypoint_2d_det_file='test_h36m_2d_detection.npy')
    np.testing.assert_allclose(ds.get_data_info(3)['keypoints'][0],
                               det[3, :, :2], rtol=1e-6)


def test_bad_arguments(tmp_path):
    _write_npz(tmp_path / 'a.npz', [3])
    with pytest.raises(ValueError, match='keypoint_2d_src'):
        _ds(tmp_path / 'a.npz', keypoint_2d_src='gt2')
    with pytest.raises(ValueError, match='multiple_target needs seq_len=1'):
        _ds(tmp_path / 'a.npz', seq_len=3, multiple_target=2)
    with pytest.raises(FileNotFoundError, match='missing.npz'):
        _ds(tmp_path / 'missing.npz')


class _Evil:
    def __reduce__(self):
        return (print, ('pwned', ))


def test_restricted_unpickler_refuses_other_globals(tmp_path):
    path = tmp_path / 'cams.pkl'
    path.write_bytes(pickle.dumps({('S1', '1'): _Evil()}))
    with pytest.raises(pickle.UnpicklingError,
                       match=r'refusing to load builtins\.print'):
        load_camera_params(path)
    ok = tmp_path / 'ok.pkl'
    ok.write_bytes(pickle.dumps({('S1', '1'): dict(w=4, c=np.zeros((2, 1)))}))
    assert load_camera_params(ok)[('S1', '1')]['c'].shape == (2, 1)


def test_pipeline_packs_lifting_sample(shared_data):
    codec = dict(type='VideoPoseLifting', num_keypoints=K)
    ds = Human36mDataset(
        ann_file='test_h36m_body3d.npz', data_root=str(shared_data / 'h36m'),
        seq_len=9, causal=False, pad_video_seq=True,
        camera_param_file='cameras.pkl',
        pipeline=[dict(type='RandomFlipAroundRoot', keypoints_flip_cfg={},
                       target_flip_cfg={}, flip_prob=0.),
                  dict(type='GenerateTarget', encoder=codec),
                  dict(type='PackPoseInputs',
                       meta_keys=('id', 'target_img_path', 'target_root',
                                  'camera_param'))])
    out = ds[0]
    raw = ds.get_data_info(0)
    # No image: the (K * 2, T) normalised keypoints are the input.
    assert out['inputs'].shape == (2 * K, 9)
    assert str(out['inputs'].dtype) == 'torch.float32'
    w = raw['camera_param']['w']
    h = raw['camera_param']['h']
    x0 = (raw['keypoints'][0, 0, 0] - w / 2) / (w / 2)
    y0 = (raw['keypoints'][0, 0, 1] - h / 2) / (w / 2)
    assert float(out['inputs'][0, 0]) == pytest.approx(x0, rel=1e-5)
    assert float(out['inputs'][1, 0]) == pytest.approx(y0, rel=1e-5)
    sample = out['data_samples']
    assert sample.gt_instances.lifting_target.shape == (1, K, 3)
    assert tuple(sample.gt_instance_labels.lifting_target_label.shape) == \
        (1, K, 3)
    assert float(sample.gt_instance_labels.lifting_target_label[0, 0].abs()
                 .max()) == 0.0
    np.testing.assert_allclose(sample.metainfo['target_root'],
                               raw['lifting_target'][:, 0], rtol=1e-6)
