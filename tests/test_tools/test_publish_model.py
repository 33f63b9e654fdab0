import numpy as np
import pytest
import torch

from posekit.utils.checkpoint import safe_load


def training_checkpoint(path):
    state = {'backbone.conv1.0.weight': torch.ones(2, 3),
             'head.final_layer.bias': torch.zeros(4),
             'auxiliary_head.teacher_backbone.layers.0.0.norm.weight':
                 torch.ones(8),
             'auxiliary_head.feature_transforms.weight': torch.ones(5)}
    torch.save(dict(meta=dict(epoch=3, iter=30,
                              dataset_meta=dict(sigmas=np.ones(17))),
                    state_dict=state,
                    optimizer=dict(state={}, param_groups=[dict(lr=0.1)]),
                    message_hub=dict(log_scalars={})), path)
    return state


def test_drop_auxiliary_writes_inference_weights(tmp_path, tool):
    publish = tool('misc/publish_model')
    src, out = tmp_path / 'epoch_3.pth', tmp_path / 'pub' / 'model.pth'
    state = training_checkpoint(src)
    summary = publish.main([str(src), str(out), '--drop-auxiliary'])
    assert summary['kept'] == 2 and summary['dropped'] == 2
    ckpt = safe_load(str(out))
    assert set(ckpt) == {'meta', 'state_dict'}
    assert list(ckpt['state_dict']) == ['backbone.conv1.0.weight',
                                        'head.final_layer.bias']
    assert torch.equal(ckpt['state_dict']['backbone.conv1.0.weight'],
                       state['backbone.conv1.0.weight'])
    assert ckpt['meta']['epoch'] == 3
    assert len(summary['sha256']) == 64
    assert [p.name for p in out.parent.iterdir()] == ['model.pth']


def test_without_flag_keeps_auxiliary_weights(tmp_path, tool):
    publish = tool('misc/publish_model')
    src, out = tmp_path / 'in.pth', tmp_path / 'out.pth'
    training_checkpoint(src)
    publish.main([str(src), str(out)])
    ckpt = safe_load(str(out))
    assert 'optimizer' not in ckpt and 'message_hub' not in ckpt
    assert 'auxiliary_head.feature_transforms.weight' in ckpt['state_dict']


def test_bare_state_dict_and_bad_inputs(tmp_path, tool):
    publish = tool('misc/publish_model')
    bare = tmp_path / 'bare.pth'
    torch.save({'head.w': torch.ones(1), 'auxiliary_head.w': torch.ones(1)},
               bare)
    publish.main([str(bare), str(tmp_path / 'o.pth'), '--drop-auxiliary'])
    assert list(safe_load(str(tmp_path / 'o.pth'))['state_dict']) == [
        'head.w']
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        publish.main([str(tmp_path / 'missing.pth'), str(tmp_path / 'x')])
    torch.save({'epoch': 1}, tmp_path / 'meta_only.pth')
    with pytest.raises(ValueError, match="no state_dict.*'epoch'"):
        publish.main([str(tmp_path / 'meta_only.pth'),
                      str(tmp_path / 'y.pth')])
    assert not (tmp_path / 'y.pth').exists()
