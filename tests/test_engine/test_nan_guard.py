"""The NaN guard (on by default in PoseRunner): a loss that turns NaN or
inf stops training with the loss term and the iteration named, before the
bad update, after saving the last good state."""
import math

import pytest
import torch

from posekit.engine.hooks import NaNGuardHook, NonFiniteLossError
from posekit.models.losses import KeypointMSELoss
from posekit.registry import MODELS
from posekit.utils.checkpoint import safe_load
from .recipe_utils import Recorder, build, recipe, train


@MODELS.register_module(name='_TestBadAtCallLoss', force=True)
class BadAtCallLoss(KeypointMSELoss):
    """KeypointMSELoss whose ``bad_call``-th value (1-based) is multiplied
    by ``factor`` (nan or inf)."""

    def __init__(self, bad_call: int = 3, factor: float = math.nan,
                 **kwargs):
        super().__init__(**kwargs)
        self.bad_call, self.factor, self.calls = bad_call, factor, 0

    def forward(self, *args, **kwargs):
        loss = super().forward(*args, **kwargs)
        self.calls += 1
        return loss * self.factor if self.calls == self.bad_call else loss


def bad_loss(factor=math.nan, bad_call=3) -> dict:
    """Options: 2 epochs of 2 iterations; the loss of iteration
    ``bad_call`` is multiplied by ``factor``."""
    return {'train_cfg.max_epochs': 2,
            'model.head.loss': dict(type='_TestBadAtCallLoss',
                                    use_target_weight=True,
                                    bad_call=bad_call, factor=factor)}


@pytest.mark.parametrize('factor,shown', [(math.nan, 'nan'),
                                          (math.inf, 'inf')])
def test_stops_at_iteration_3_and_keeps_the_state_after_2(tmp_path, factor,
                                                          shown):
    runner = build(tmp_path, options=bad_loss(factor))
    rec = Recorder(params=True)
    with pytest.raises(NonFiniteLossError) as info:
        train(runner, rec)
    err = info.value
    work = tmp_path / 'work'
    path = str(work / 'nan_guard_iter_2.pth')
    assert str(err).startswith(
        f'NaN guard: loss_kpt became non-finite (loss_kpt={shown}) at '
        f'iteration 3 (epoch 2). Training stopped before this update was '
        f'applied. The last good state (after iteration 2) was saved to '
        f'{path}; continue from it with --resume {path}.')
    assert 'nan_guard=dict(enable=False)' in str(err)
    assert (err.loss_names, err.iteration, err.checkpoint) == (
        ['loss_kpt'], 3, path)
    # the saved weights are those after iteration 2, all finite
    assert len(rec.params) == 2
    ckpt = safe_load(path)
    assert (ckpt['meta']['epoch'], ckpt['meta']['iter']) == (1, 2)
    for name, value in rec.params[1].items():
        assert torch.isfinite(ckpt['state_dict'][name]).all(), name
        assert torch.equal(ckpt['state_dict'][name], value), name
    # and the live model never took the bad step either
    for name, value in runner.model.named_parameters():
        assert torch.equal(value.detach(), rec.params[1][name]), name
    assert 'optimizer' in ckpt
    assert (work / 'last_checkpoint').read_text() == path
    assert 'parse_losses' not in vars(runner.model)  # uninstalled


def test_resume_from_the_saved_state_finishes_the_run(tmp_path):
    runner = build(tmp_path, options=bad_loss())
    with pytest.raises(NonFiniteLossError):
        train(runner)
    # same run, loss fixed, --resume (the newest checkpoint)
    again = build(tmp_path, options={'train_cfg.max_epochs': 2,
                                     'resume': True})
    rec = train(again)
    assert len(rec.lrs) == 2  # the two iterations of epoch 2
    final = safe_load(str(tmp_path / 'work' / 'epoch_2.pth'))
    assert (final['meta']['epoch'], final['meta']['iter']) == (2, 4)


def test_turned_off_the_nan_reaches_the_weights(tmp_path):
    runner = build(tmp_path, recipe('nan-guard-off'), options=bad_loss())
    assert not any(isinstance(h, NaNGuardHook) for h in runner.hooks)
    rec = train(runner, Recorder(params=True))
    assert len(rec.params) == 4  # trained to the end
    weight = rec.params[-1]['head.final_layer.weight']
    assert not torch.isfinite(weight).all()


def test_a_configured_guard_is_not_added_twice(tmp_path):
    runner = build(tmp_path, options=dict(
        bad_loss(bad_call=1),
        custom_hooks=[dict(type='NaNGuardHook', save_checkpoint=False)]))
    assert sum(isinstance(h, NaNGuardHook) for h in runner.hooks) == 1
    with pytest.raises(NonFiniteLossError, match='at iteration 1 '
                       r'\(epoch 1\)\. Training stopped before this update '
                       r'was applied\. Usual causes'):
        train(runner)
    assert not list((tmp_path / 'work').glob('*.pth'))


def test_bad_nan_guard_option_is_named(tmp_path):
    with pytest.raises(TypeError, match="nan_guard must be True, False or a "
                       r"dict such as dict\(enable=False\), got 'off'"):
        build(tmp_path, options={'nan_guard': 'off'})
