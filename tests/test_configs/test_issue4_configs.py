"""The regression, SimCC, RLE and OneHand10K configs: the published
models build with the right number of parameters, and each config, shrunk
through --cfg-options (ResNet-18, 64x64 crops, batches of 2), trains two
iterations on the shared sample data and then validates on it."""
import importlib.util
import json
from pathlib import Path

import pytest
from mmengine.config import Config

from posekit.registry import MODELS
from posekit.utils.checkpoint import safe_load

REPO = Path(__file__).resolve().parents[2]
HAND_HM = REPO / ('configs/hand_2d_keypoint/topdown_heatmap/onehand10k/'
                  'td-hm_res50_8xb32-210e_onehand10k-256x256.py')
HAND_REG = REPO / ('configs/hand_2d_keypoint/topdown_regression/onehand10k/'
                   'td-reg_res50_8xb64-210e_onehand10k-256x256.py')
SIMCC = REPO / ('configs/body_2d_keypoint/simcc/coco/'
                'simcc_res50_8xb64-210e_coco-256x192.py')
RLE = REPO / ('configs/body_2d_keypoint/topdown_regression/coco/'
              'td-reg_res50_rle-8xb64-210e_coco-256x192.py')

# Hand-counted parameters. ResNet-50 without its classifier has 23,508,032;
# the deconvolution head 3 x 256-channel 4x4 deconvs (8,388,608 +
# 2 x 1,048,576 weights, 3 x 512 BN) plus a 1x1 conv to K maps
# (256 K + K); SimCC adds x/y linear layers from the 48x64 maps
# (3072 -> 384 and 3072 -> 512 bins); DeepPose a linear 2048 -> 2K and
# RLE a linear 2048 -> 4K plus the RealNVP flow of its loss (12 MLPs
# 2-64-64-2 of 4,482 parameters).
BACKBONE = 23_508_032
DECONVS = 8_388_608 + 2 * 1_048_576 + 3 * 512
PARAMS = {
    HAND_HM: BACKBONE + DECONVS + 257 * 21,
    HAND_REG: BACKBONE + 2049 * 42,
    SIMCC: BACKBONE + DECONVS + 257 * 17 + 3073 * 384 + 3073 * 512,
    RLE: BACKBONE + 2049 * 68 + 12 * 4_482,
}


def _train_tool():
    spec = importlib.util.spec_from_file_location('_issue4_train',
                                                  REPO / 'tools/train.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('config', list(PARAMS), ids=lambda p: p.stem)
def test_published_model_parameter_count(config):
    cfg = Config.fromfile(str(config))
    cfg.model.backbone.pop('init_cfg')  # no download in tests
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) == PARAMS[config]


def test_configs_keep_mmpose_settings():
    hand = Config.fromfile(str(HAND_REG))
    assert hand.codec == dict(type='RegressionLabel', input_size=(256, 256))
    assert hand.train_dataloader.dataset.type == 'OneHand10KDataset'
    assert [m['type'] for m in hand.val_evaluator] == [
        'PCKAccuracy', 'AUC', 'EPE']
    assert hand.val_evaluator[0]['thr'] == 0.2
    assert hand.optim_wrapper.optimizer.lr == 5e-4
    assert Config.fromfile(str(HAND_HM)).train_dataloader.batch_size == 32
    simcc = Config.fromfile(str(SIMCC))
    assert simcc.model.head.in_featuremap_size == (6, 8)
    assert simcc.optim_wrapper.optimizer.lr == 1e-3
    rle = Config.fromfile(str(RLE))
    assert rle.val_evaluator.score_mode == 'bbox_rle'
    assert rle.model.test_cfg == dict(flip_test=True, shift_coords=True)


# ------------------------------------------------------ shrunk training runs
def _common_options(data_root: Path, ann_file: str, head_in: str) -> list:
    opts = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
            'default_hooks.logger.interval=1', 'randomness.seed=0',
            # only the best checkpoint, weights only: less to write
            'default_hooks.checkpoint.save_last=False',
            'default_hooks.checkpoint.save_optimizer=False',
            'model.backbone.depth=18', 'model.backbone.init_cfg=None',
            f'model.head.in_channels={head_in}']
    for loader in ('train_dataloader', 'val_dataloader'):
        opts += [f'{loader}.num_workers=0',
                 f'{loader}.persistent_workers=False',
                 f'{loader}.batch_size=2', f'{loader}.dataset.indices=4',
                 f'{loader}.dataset.data_root={data_root}',
                 f'{loader}.dataset.ann_file={ann_file}',
                 f'{loader}.dataset.data_prefix.img=']
    return opts


def _codec_options(codec: list, affine: int, target: int) -> list:
    """Shrink the codec wherever the config copied it: the head's decoder,
    the GenerateTarget encoder and the TopdownAffine input sizes (the
    test loader is a separate copy of the val loader once the options are
    merged, and the config check compares all three with the decoder)."""
    opts = [f'train_dataloader.dataset.pipeline.{affine}.input_size=(64,64)',
            'val_dataloader.dataset.pipeline.2.input_size=(64,64)',
            'test_dataloader.dataset.pipeline.2.input_size=(64,64)']
    opts += [f'model.head.decoder.{c}' for c in codec]
    opts += [f'train_dataloader.dataset.pipeline.{target}.encoder.{c}'
             for c in codec]
    return opts


def _coco_options(coco: Path) -> list:
    return ['val_dataloader.dataset.bbox_file=None',
            f'val_evaluator.ann_file={coco / "test_coco.json"}']


def _train(config: Path, options: list, work: Path) -> list:
    _train_tool().main([str(config), '--work-dir', str(work),
                        '--cfg-options'] + options)
    (log, ) = work.glob('*/vis_data/scalars.json')
    return [json.loads(line) for line in log.read_text().splitlines()]


def _check_run(records: list, work: Path, best: str, key: str,
               shape: tuple) -> dict:
    """Two finite training steps, one validation; the best checkpoint
    (named after the config's save_best metric) holds ``key`` of
    ``shape``. Returns the validation record."""
    steps = [r for r in records if 'loss' in r]
    assert [r['iter'] for r in steps] == [1, 2]
    assert all(abs(r['loss_kpt']) < 1e6 for r in steps)
    (val, ) = [r for r in records if 'loss' not in r and 'step' in r]
    (ckpt, ) = work.glob(f'best_{best}_epoch_1.pth')
    state = safe_load(str(ckpt))['state_dict']
    assert tuple(state[key].shape) == shape
    return val


def _check_hand_metrics(val: dict) -> None:
    assert set(val) >= {'PCK', 'AUC', 'EPE'}
    assert 0 <= val['PCK'] <= 1 and 0 <= val['AUC'] <= 1
    # predictions stay in the padded box, so errors are image-sized at most
    assert 0 < val['EPE'] < 1000


def test_hand_heatmap_config_trains_and_validates(tmp_path, shared_data):
    hand = shared_data / 'onehand10k'
    codec = ['input_size=(64,64)', 'heatmap_size=(16,16)', 'sigma=1']
    opts = (_common_options(hand, 'test_onehand10k.json', '512') +
            _codec_options(codec, affine=4, target=5))
    records = _train(HAND_HM, opts, tmp_path / 'work')
    val = _check_run(records, tmp_path / 'work', 'AUC',
                     'head.final_layer.weight', (21, 256, 1, 1))
    _check_hand_metrics(val)


def test_hand_regression_config_trains_and_validates(tmp_path, shared_data):
    hand = shared_data / 'onehand10k'
    opts = (_common_options(hand, 'test_onehand10k.json', '512') +
            _codec_options(['input_size=(64,64)'], affine=4, target=5))
    records = _train(HAND_REG, opts, tmp_path / 'work')
    val = _check_run(records, tmp_path / 'work', 'AUC', 'head.fc.weight',
                     (42, 512))
    _check_hand_metrics(val)


def test_simcc_config_trains_and_validates(tmp_path, shared_data):
    coco = shared_data / 'coco'
    opts = (_common_options(coco, 'test_coco.json', '512') +
            _codec_options(['input_size=(64,64)'], affine=5, target=6) +
            _coco_options(coco) +
            # 64 / 32 = 2 cells each way; 2 * 64 SimCC bins per axis
            ['model.head.input_size=(64,64)',
             'model.head.in_featuremap_size=(2,2)'])
    records = _train(SIMCC, opts, tmp_path / 'work')
    # three deconvolutions grow 2x2 to 16x16 = 256 features
    val = _check_run(records, tmp_path / 'work', 'coco_AP',
                     'head.mlp_head_x.weight', (128, 256))
    assert 0 <= val['coco/AP'] <= 1


def test_rle_config_trains_and_validates(tmp_path, shared_data):
    coco = shared_data / 'coco'
    opts = (_common_options(coco, 'test_coco.json', '512') +
            _codec_options(['input_size=(64,64)'], affine=5, target=6) +
            _coco_options(coco))
    records = _train(RLE, opts, tmp_path / 'work')
    val = _check_run(records, tmp_path / 'work', 'coco_AP', 'head.fc.weight',
                     (68, 512))
    assert 0 <= val['coco/AP'] <= 1
