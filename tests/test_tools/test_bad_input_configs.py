"""The bad-input table of docs/troubleshooting.md, config rows: parts of a
config that must agree (codec and affine input sizes, head and dataset
keypoint counts) are checked before building, naming both keys; and a
training run with ``skip_invalid=True`` reports its skipped samples at the
end of the epoch."""
import importlib
import json
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from posekit.apis.training import build_runner, load_config
from posekit.utils.config_checks import ConfigCheckError, check_config

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / 'configs/quickstart/td-hm_res18-small_synthetic-128x96.py'
BOTTOMUP = REPO / 'configs/quickstart/ae_res18-small_synthetic-256x192.py'
AFFINE = 'train_dataloader.dataset.pipeline[4]'  # TopdownAffine
TARGET = 'train_dataloader.dataset.pipeline[5]'  # GenerateTarget


@pytest.mark.parametrize('config', [QUICKSTART, BOTTOMUP],
                         ids=['topdown', 'bottomup'])
def test_quickstart_configs_pass(config):
    check_config(Config.fromfile(str(config)))


def test_affine_input_size_disagreeing_with_the_decoder():
    cfg = Config.fromfile(str(QUICKSTART))
    cfg.train_dataloader.dataset.pipeline[4].input_size = (192, 256)
    with pytest.raises(ConfigCheckError) as info:
        check_config(cfg)
    assert info.value.keys == (f'{AFFINE}.input_size',
                               'model.head.decoder.input_size')
    assert str(info.value) == (
        f'{AFFINE}.input_size is (192, 256) (TopdownAffine) but '
        'model.head.decoder.input_size is (96, 128); both are the network '
        'input size (w, h) and must be equal. Set them from one value, e.g. '
        "input_size=codec['input_size']")


def test_encoder_input_size_disagreeing_with_the_affine():
    cfg = Config.fromfile(str(QUICKSTART))
    cfg.train_dataloader.dataset.pipeline[5].encoder.input_size = (64, 64)
    with pytest.raises(ConfigCheckError) as info:
        check_config(cfg)
    assert info.value.keys == (f'{AFFINE}.input_size',
                               f'{TARGET}.encoder.input_size')
    assert 'is (96, 128) (TopdownAffine) but ' \
        f'{TARGET}.encoder.input_size is (64, 64)' in str(info.value)


def test_val_pipeline_affine_is_checked_too():
    cfg = Config.fromfile(str(QUICKSTART))
    cfg.val_dataloader.dataset.pipeline[2].input_size = (128, 96)
    with pytest.raises(ConfigCheckError, match=r'^val_dataloader\.dataset\.'
                       r'pipeline\[2\]\.input_size is \(128, 96\)'):
        check_config(cfg)


def test_head_out_channels_disagreeing_with_the_dataset():
    cfg = Config.fromfile(str(QUICKSTART))
    cfg.model.head.out_channels = 16
    with pytest.raises(ConfigCheckError) as info:
        check_config(cfg)
    assert info.value.keys == ('model.head.out_channels',
                               'train_dataloader.dataset')
    assert str(info.value) == (
        'model.head.out_channels is 16 but train_dataloader.dataset '
        "(SyntheticCocoDataset, metainfo 'configs/_base_/datasets/coco.py') "
        'has 17 keypoints; the head predicts one output per keypoint. Set '
        'model.head.out_channels=17, or use a dataset (metainfo) with 16 '
        'keypoints')


def test_bottomup_head_num_keypoints_is_checked():
    cfg = Config.fromfile(str(BOTTOMUP))
    head = cfg.model.head
    key = next(k for k in ('num_keypoints', 'out_channels') if k in head)
    head[key] = 14
    with pytest.raises(ConfigCheckError, match=rf'^model\.head\.{key} is 14 '
                       'but train_dataloader.dataset .* has 17 keypoints'):
        check_config(cfg)


def test_skipped_images_are_reported_at_the_end_of_the_epoch(
        tmp_path, tiny_options):
    # registers the hook (until posekit.engine.hooks imports it)
    importlib.import_module('posekit.engine.hooks.skipped_samples_hook')
    from posekit.datasets import SyntheticCocoDataset
    data = tmp_path / 'data'
    # generated with the arguments of tiny_options, then one image removed
    SyntheticCocoDataset(data_root=str(data), num_train=3, num_val=2,
                         image_size=(96, 96), seed=1)
    with open(data / 'annotations/person_keypoints_train.json') as f:
        ann = json.load(f)
    image = ann['images'][0]
    persons = sum(a['image_id'] == image['id'] for a in ann['annotations'])
    (data / 'images/train' / image['file_name']).unlink()

    cfg = load_config(str(QUICKSTART), tiny_options(data, epochs=1) + [
        'train_dataloader.dataset.skip_invalid=True'])
    cfg.work_dir = str(tmp_path / 'work')
    cfg.custom_hooks = [dict(type='SkippedSamplesHook')]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        runner = build_runner(cfg)
        runner.train()
    finally:
        torch.set_num_threads(threads)
    log = (Path(runner.log_dir) / f'{runner.timestamp}.log').read_text()
    dataset = runner.train_dataloader.dataset
    total = len(dataset)
    assert total == 7  # 7 persons in the 3 training images
    assert (f'epoch 1: SyntheticCocoDataset (ann_file '
            f"'{dataset.ann_file}'): skipped {persons} of {total} samples "
            f'because their image is missing ({persons}) or unreadable (0) '
            '(skip_invalid=True): image ') in log
    assert image['file_name'] in log
    # the report reset the count
    assert dataset.skipped_report() is None
