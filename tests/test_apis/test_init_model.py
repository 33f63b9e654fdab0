"""init_model: config handling, checkpoint loading through the safe loader,
dataset meta information, and the errors for bad checkpoints."""
import warnings

import pytest
import torch
from mmengine.config import Config

from posekit.apis import CheckpointMismatchError, init_model
from posekit.utils.checkpoint import UnsafeCheckpointError


def _save(model, path, **meta):
    torch.save({'state_dict': model.state_dict(), 'meta': meta}, path)
    return str(path)


def test_options_as_a_list_and_eval_mode(configs):
    listed = ['model.backbone.base_channels=8',
              'model.backbone.stem_channels=8', 'model.head.in_channels=64',
              'model.head.deconv_out_channels=(8,8,8)']
    model = init_model(configs.topdown, cfg_options=listed)
    # 8 base channels: the last ResNet-18 stage has 8 * 8 = 64 channels
    assert model.backbone.layer4[-1].conv2.out_channels == 64
    assert model.head.final_layer.in_channels == 8
    assert model.head.final_layer.out_channels == 17
    assert not model.training
    assert model.cfg.model.backbone.base_channels == 8
    assert model.dataset_meta['num_keypoints'] == 17
    assert model.dataset_meta['dataset_name'] == 'coco'
    assert model.dataset_meta['flip_indices'][:3] == [0, 2, 1]


def test_config_object_is_not_modified_and_auto_channels_filled(
        configs, narrow):
    cfg = Config.fromfile(configs.topdown)
    options = {**narrow, 'model.head.in_channels': 'auto'}
    model = init_model(cfg, cfg_options=options)
    assert model.cfg.model.head.in_channels == 64
    assert model.head.deconv_layers[0].in_channels == 64
    assert model.cfg.model.test_cfg.drop_auxiliary is True
    assert 'drop_auxiliary' not in cfg.model.test_cfg
    assert cfg.model.backbone.base_channels == 32


def test_checkpoint_weights_and_meta_are_loaded(tmp_path, configs, narrow):
    torch.manual_seed(1)
    source = init_model(configs.topdown, cfg_options=narrow)
    meta = dict(source.dataset_meta, dataset_name='from_checkpoint')
    path = _save(source, tmp_path / 'ckpt.pth', dataset_meta=meta)
    torch.manual_seed(2)  # other random weights unless the load works
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter('always')
        model = init_model(configs.topdown, path, cfg_options=narrow)
    # an exact match warns nothing about the checkpoint
    assert not [w for w in record if 'ckpt.pth' in str(w.message)]
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
    assert model.dataset_meta['dataset_name'] == 'from_checkpoint'


def test_auxiliary_head_weights_are_ignored(tmp_path, configs, narrow):
    aux = dict(type='HeatmapHead', in_channels=64, out_channels=17,
               deconv_out_channels=(8, ), deconv_kernel_sizes=(4, ),
               loss=dict(type='KeypointMSELoss'),
               decoder=dict(type='MSRAHeatmap', input_size=(96, 128),
                            heatmap_size=(12, 16), sigma=2))
    options = {**narrow, 'model.auxiliary_head': aux,
               'model.test_cfg.drop_auxiliary': False}
    trained = init_model(configs.topdown, cfg_options=options)
    assert any(k.startswith('auxiliary_head.')
               for k in trained.state_dict())
    path = _save(trained, tmp_path / 'with_aux.pth')
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter('always')
        model = init_model(configs.topdown, path,
                           cfg_options={**narrow, 'model.auxiliary_head': aux})
    # auxiliary_head.* keys are neither loaded nor reported
    assert not [w for w in record if 'with_aux.pth' in str(w.message)]
    assert not hasattr(model, 'auxiliary_head')


def test_missing_checkpoint_names_the_path(tmp_path, configs, narrow):
    path = tmp_path / 'nowhere' / 'epoch_3.pth'
    with pytest.raises(FileNotFoundError, match=str(path)):
        init_model(configs.topdown, str(path), cfg_options=narrow)


class _WritesMarker:

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, 'w'))


def test_code_running_checkpoint_is_refused(tmp_path, configs, narrow):
    marker = tmp_path / 'marker'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'payload': _WritesMarker(str(marker))},
               path)
    with pytest.raises(UnsafeCheckpointError, match='evil.pth'):
        init_model(configs.topdown, str(path), cfg_options=narrow)
    assert not marker.exists()


def test_unreadable_checkpoint_names_the_file(tmp_path, configs, narrow):
    path = tmp_path / 'notes.pth'
    path.write_text('not a checkpoint')
    with pytest.raises(IOError, match='notes.pth could not be read'):
        init_model(configs.topdown, str(path), cfg_options=narrow)


def test_renamed_keys_are_listed(tmp_path, configs, narrow):
    model = init_model(configs.topdown, cfg_options=narrow)
    state = model.state_dict()
    state['head.final.weight'] = state.pop('head.final_layer.weight')
    path = tmp_path / 'renamed.pth'
    torch.save({'state_dict': state}, path)
    with pytest.warns(UserWarning) as record:
        init_model(configs.topdown, str(path), cfg_options=narrow)
    (message, ) = [str(w.message) for w in record
                   if 'renamed.pth' in str(w.message)]
    assert ('missing from the checkpoint, left as initialised (1):\n'
            '    head.final_layer.weight') in message
    assert ('unexpected in the checkpoint, ignored (1):\n'
            '    head.final.weight') in message


def test_foreign_checkpoint_is_an_error(tmp_path, configs, narrow):
    path = tmp_path / 'other.pth'
    torch.save({'state_dict': {'encoder.weight': torch.zeros(2),
                               'decoder.bias': torch.zeros(2)}}, path)
    with pytest.raises(CheckpointMismatchError) as info:
        init_model(configs.topdown, str(path), cfg_options=narrow)
    text = str(info.value)
    assert 'other.pth has none of the model' in text
    assert ('unexpected in the checkpoint, ignored (2):\n'
            '    decoder.bias\n    encoder.weight') in text
    assert 'the checkpoint keys start with decoder., encoder.' in text


def test_shape_mismatch_is_an_error(tmp_path, configs, narrow):
    wide = init_model(configs.topdown, cfg_options={
        **narrow, 'model.head.deconv_out_channels': (8, 8, 16)})
    path = _save(wide, tmp_path / 'wide.pth')
    with pytest.raises(CheckpointMismatchError,
                       match=r'(?s)wide.pth does not fit .*size mismatch for '
                       r'head.deconv_layers'):
        init_model(configs.topdown, path, cfg_options=narrow)
