"""Recipe 6 of docs/customize_runtime.md: a user hook with a priority in
custom_hooks, EMAHook with posekit's ExpMomentumEMA, SyncBuffersHook."""
import math

import pytest
import torch
from mmengine.hooks import EMAHook

from posekit.engine.optim import ExpMomentumEMA
from posekit.utils.checkpoint import safe_load
from .recipe_utils import Recorder, build, recipe, syspath, train, user_module

# 2 samples in one batch: one iteration per epoch
ONE_PER_EPOCH = {'train_dataloader.dataset.num_samples': 2}


def test_user_hook_with_priority_runs_after_the_checkpoint_hook(tmp_path):
    syspath(user_module('my_hooks.py', tmp_path / 'user').parent)
    backup = tmp_path / 'backup'
    runner = build(tmp_path, recipe('hook-custom'), options=dict(
        ONE_PER_EPOCH, **{'custom_hooks.0.dest': str(backup),
                          'train_cfg.max_epochs': 2}))
    train(runner)
    order = [type(h).__name__ for h in runner.hooks]
    # PoseRunner swaps mmengine's CheckpointHook for its crash-safe subclass
    assert order.index('SafeCheckpointHook') < order.index(
        'CopyCheckpointHook')
    # after epoch n the hook found epoch n's checkpoint already written; at
    # NORMAL priority it would have copied nothing after epoch 1
    assert sorted(p.name for p in backup.iterdir()) == ['epoch_1.pth',
                                                        'epoch_2.pth']


def test_ema_hook_averages_with_exp_momentum(tmp_path):
    runner = build(tmp_path, recipe('hook-ema'),
                   options={'train_cfg.max_epochs': 2})
    rec = train(runner, Recorder(params=True))
    hook = next(h for h in runner.hooks if isinstance(h, EMAHook))
    ema = hook.ema_model
    assert isinstance(ema, ExpMomentumEMA)
    assert (ema.momentum, ema.gamma, ema.update_buffers) == (0.0002, 2000,
                                                             True)
    assert int(ema.steps) == 4
    name = 'head.final_layer.weight'
    # update 0 copies the weights; update s averages with
    # m = momentum + (1 - momentum) * exp(-(s + 1) / gamma)
    want = rec.params[0][name].double()
    for step, params in enumerate(rec.params[1:], start=1):
        m = 0.0002 + 0.9998 * math.exp(-(step + 1) / 2000)
        want = (1 - m) * want + m * params[name].double()
    got = ema.module.state_dict()[name].double()
    raw = rec.params[-1][name].double()
    gap = (raw - want).abs().max().item()
    assert gap > 1e-6  # the average differs measurably from the weights
    assert (got - want).abs().max().item() < gap / 100
    # the checkpoint's state_dict holds the average, ema_state_dict the raw
    ckpt = safe_load(str(tmp_path / 'work' / 'epoch_2.pth'))
    assert torch.equal(ckpt['state_dict'][name].double(), got)
    assert torch.equal(ckpt['ema_state_dict']['module.' + name].double(),
                       raw)


def test_exp_momentum_ema_formula_and_errors():
    model = torch.nn.Linear(2, 1, bias=False)
    ema = ExpMomentumEMA(model, momentum=0.1, gamma=2)
    start = model.weight.detach().clone()
    ema.update_parameters(model)  # step 0: copy
    with torch.no_grad():
        model.weight.add_(1.0)
    ema.update_parameters(model)  # step 1: m = 0.1 + 0.9 * exp(-1)
    m = 0.1 + 0.9 * math.exp(-1.0)
    torch.testing.assert_close(ema.module.weight, start + m)
    with pytest.raises(ValueError, match='gamma must be > 0, got 0'):
        ExpMomentumEMA(model, gamma=0)
    with pytest.raises(ValueError, match=r'momentum must be in \(0, 1\)'):
        ExpMomentumEMA(model, momentum=1.5)


def test_sync_buffers_hook_averages_every_buffer_each_epoch(
        tmp_path, monkeypatch):
    import mmengine.hooks.sync_buffer_hook as sync_module
    calls = []
    monkeypatch.setattr(
        sync_module, 'all_reduce_params',
        lambda params, op='sum', **kw: calls.append(
            (op, [id(p) for p in params])))
    runner = build(tmp_path, recipe('hook-sync-buffers'), options=dict(
        ONE_PER_EPOCH, **{'train_cfg.max_epochs': 2}))
    hook = next(h for h in runner.hooks
                if type(h).__name__ == 'SyncBuffersHook')
    # one process here: act as under a distributed launcher, with the
    # all-reduce recorded instead of sent
    hook.distributed = True
    train(runner)
    buffers = [id(b) for b in runner.model.buffers()]
    # running mean/var and count of 21 BNs, the preprocessor's mean/std
    assert len(buffers) == 3 * 21 + 2
    assert calls == [('mean', buffers), ('mean', buffers)]
