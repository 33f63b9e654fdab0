"""The Human3.6M lifting configs: MMPose 1.x settings, receptive fields
that match the windows, hand-counted parameters, and two training
iterations plus a validation on the shared Human3.6M sample (4 frames)
with the TCN shrunk to 64 channels through --cfg-options."""
import importlib.util
import json
import math
from pathlib import Path

import pytest
from mmengine.config import Config

from posekit.registry import MODELS
from posekit.utils.checkpoint import safe_load

REPO = Path(__file__).resolve().parents[2]
VIDEO = REPO / 'configs/body_3d_keypoint/video_pose_lift/h36m'
VID27 = VIDEO / 'video-pose-lift_tcn-27frm-supv_8xb128-160e_h36m.py'
VID243 = VIDEO / 'video-pose-lift_tcn-243frm-supv_8xb128-160e_h36m.py'
IMAGE = REPO / ('configs/body_3d_keypoint/image_pose_lift/h36m/'
                'image-pose-lift_tcn_8xb64-200e_h36m.py')

# Hand-counted: expand conv 34 -> 1024 (kernel k0, no bias) + BN (2048);
# each block a k x 1024 x 1024 conv + BN and a 1x1 1024 x 1024 conv + BN;
# the head a 1x1 conv 1024 -> 3 J with bias.
BLOCK3 = 3 * 1024 * 1024 + 2048 + 1024 * 1024 + 2048
BLOCK1 = 1024 * 1024 + 2048 + 1024 * 1024 + 2048
PARAMS = {
    VID27: 34 * 1024 * 3 + 2048 + 2 * BLOCK3 + 1025 * 51,
    VID243: 34 * 1024 * 3 + 2048 + 4 * BLOCK3 + 1025 * 51,
    IMAGE: 34 * 1024 + 2048 + 2 * BLOCK1 + 1025 * 48,
}


@pytest.mark.parametrize('config', list(PARAMS), ids=lambda p: p.stem)
def test_receptive_field_matches_window_and_params(config):
    cfg = Config.fromfile(str(config))
    kernels = cfg.model.backbone.kernel_sizes
    for loader in ('train_dataloader', 'val_dataloader'):
        assert math.prod(kernels) == cfg[loader].dataset.seq_len
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) == PARAMS[config]


def test_configs_keep_mmpose_settings():
    vid = Config.fromfile(str(VID27))
    assert vid.codec == dict(type='VideoPoseLifting', num_keypoints=17,
                             zero_center=True, root_index=0,
                             remove_root=False)
    assert vid.model.backbone.use_stride_conv is True
    assert vid.model.head.loss == dict(type='MPJPELoss')
    assert vid.train_dataloader.batch_size == 128
    assert vid.param_scheduler[0]['gamma'] == 0.975
    assert vid.train_cfg.max_epochs == 160
    assert [e['mode'] for e in vid.val_evaluator] == ['mpjpe', 'p-mpjpe']
    assert vid.train_dataloader.dataset.pipeline[0]['type'] == \
        'RandomFlipAroundRoot'
    assert Config.fromfile(str(VID243)).model.backbone.num_blocks == 4
    img = Config.fromfile(str(IMAGE))
    assert img.codec['remove_root'] is True
    assert img.model.head.num_joints == 16
    assert img.model.head.loss == dict(type='MSELoss')
    assert img.model.backbone.dropout == 0.5
    assert img.train_dataloader.batch_size == 64
    assert img.train_cfg.max_epochs == 200
    assert len(img.codec['target_mean']) == 16
    assert len(img.codec['keypoints_mean']) == 17


def _train_tool():
    spec = importlib.util.spec_from_file_location('_lifting_train',
                                                  REPO / 'tools/train.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _options(h36m: Path, cameras: bool) -> list:
    opts = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
            'default_hooks.logger.interval=1', 'randomness.seed=0',
            'default_hooks.checkpoint.save_last=False',
            'default_hooks.checkpoint.save_optimizer=False',
            'model.backbone.stem_channels=64', 'model.head.in_channels=64']
    for loader in ('train_dataloader', 'val_dataloader'):
        opts += [f'{loader}.num_workers=0',
                 f'{loader}.persistent_workers=False',
                 f'{loader}.batch_size=2',
                 f'{loader}.dataset.data_root={h36m}',
                 f'{loader}.dataset.ann_file=test_h36m_body3d.npz',
                 f'{loader}.dataset.data_prefix.img=']
        if cameras:
            opts.append(f'{loader}.dataset.camera_param_file=cameras.pkl')
    return opts


@pytest.mark.parametrize('config', list(PARAMS), ids=lambda p: p.stem)
def test_config_trains_two_iterations(config, tmp_path, shared_data):
    work = tmp_path / 'work'
    opts = _options(shared_data / 'h36m', cameras=config != IMAGE)
    if config == VID27:
        # validate through the flip test too (VideoPoseLifting centres x)
        opts.append('model.test_cfg.flip_test=True')
    _train_tool().main([str(config), '--work-dir', str(work),
                        '--cfg-options'] + opts)
    (log, ) = work.glob('*/vis_data/scalars.json')
    records = [json.loads(x) for x in log.read_text().splitlines()]
    # 4 frames, batches of 2: two iterations with finite losses
    steps = [r for r in records if 'loss' in r]
    assert [r['iter'] for r in steps] == [1, 2]
    assert all(0 <= r['loss_pose3d'] < 1e6 for r in steps)
    (val, ) = [r for r in records if 'loss' not in r and 'step' in r]
    # metres on real poses: a random model is wrong by centimetres to
    # metres, never 0 and never kilometres
    assert 0 < val['MPJPE'] < 10 and 0 < val['P-MPJPE'] <= val['MPJPE']
    (ckpt, ) = work.glob('best_MPJPE_epoch_1.pth')
    state = safe_load(str(ckpt))['state_dict']
    joints = 16 if config == IMAGE else 17
    assert tuple(state['head.conv.weight'].shape) == (3 * joints, 64, 1)
