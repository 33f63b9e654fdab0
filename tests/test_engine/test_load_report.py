"""load_report: counts and listings of a checkpoint load."""
import torch
from torch import nn

from posekit.engine.runner.load_report import load_report


def _model():
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))


def test_all_matched():
    state = _model().state_dict()
    text, ok = load_report('ckpt.pth', state, state)
    assert ok and text == 'ckpt.pth: 7 of 7 tensors loaded, all keys matched'


def test_a_filled_in_batch_counter_is_not_counted_as_loaded():
    model = _model()
    loaded = {k: v for k, v in model.state_dict().items()
              if k.startswith('0.')}                    # conv only
    result = model.load_state_dict(loaded, strict=False)
    # torch lists the BN weights and stats as missing, not the counter
    assert '1.num_batches_tracked' not in result.missing_keys
    text, ok = load_report('ckpt.pth', model.state_dict(), loaded,
                           missing=list(result.missing_keys),
                           unexpected=list(result.unexpected_keys))
    assert not ok
    assert text.startswith('ckpt.pth: 2 of 7 tensors loaded\n')
    assert ('missing from the checkpoint, left as initialised (4):\n'
            '    1.bias\n    1.running_mean\n    1.running_var\n'
            '    1.weight') in text


def test_nothing_matched_names_the_prefixes():
    model = _model()
    loaded = {'encoder.weight': torch.zeros(2)}
    result = model.load_state_dict(loaded, strict=False)
    text, ok = load_report('x.pth', model.state_dict(), loaded,
                           missing=list(result.missing_keys),
                           unexpected=list(result.unexpected_keys))
    assert not ok and 'x.pth: 0 of 7 tensors loaded' in text
    assert 'the checkpoint keys start with encoder., the model keys ' \
        'with 0., 1.' in text
