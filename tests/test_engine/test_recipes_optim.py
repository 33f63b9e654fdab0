"""Recipes 1-4 of docs/customize_runtime.md: optimizers by name, a user
optimizer through custom_imports, paramwise_cfg, constructors (a user's
and layer-wise lr decay), gradient clipping and accumulation. Each test
trains the recipe for a few iterations and checks what the optimizer
really did."""
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from .recipe_utils import (Recorder, build, param_names_of_groups, recipe,
                           syspath, train, user_module)


def group_of(runner, name):
    """The optimizer param group holding parameter ``name``."""
    for group, names in zip(runner.optim_wrapper.optimizer.param_groups,
                            param_names_of_groups(runner)):
        if name in names:
            return group
    raise KeyError(name)


def norm_param_names(model):
    return {f'{m_name}.{p_name}' for m_name, m in model.named_modules()
            if isinstance(m, _BatchNorm)
            for p_name, _ in m.named_parameters(recurse=False)}


def test_adam_by_name(tmp_path):
    runner = build(tmp_path, recipe('optim-adam'))
    rec = train(runner)
    optimizer = runner.optim_wrapper.optimizer
    assert type(optimizer) is torch.optim.Adam
    assert rec.lrs == [[5e-4], [5e-4]]
    # Adam's moments exist for the parameters it stepped
    state = optimizer.state[runner.model.head.final_layer.weight]
    assert int(state['step']) == 2 and 'exp_avg_sq' in state


def test_adamw_by_name(tmp_path):
    runner = build(tmp_path, recipe('optim-adamw'))
    rec = train(runner)
    optimizer = runner.optim_wrapper.optimizer
    assert type(optimizer) is torch.optim.AdamW
    group = optimizer.param_groups[0]
    assert group['betas'] == (0.9, 0.999)
    assert rec.weight_decays == [[0.05], [0.05]]
    assert rec.lrs == [[5e-4], [5e-4]]


def test_sgd_nesterov_replaces_the_inherited_optimizer(tmp_path):
    # the base config's optimizer is SGD(lr=0.01) without momentum
    runner = build(tmp_path, recipe('optim-sgd-nesterov'))
    rec = train(runner)
    group = runner.optim_wrapper.optimizer.param_groups[0]
    assert (group['momentum'], group['nesterov'],
            group['weight_decay']) == (0.9, True, 1e-4)
    assert rec.lrs == [[0.02], [0.02]]
    state = runner.optim_wrapper.optimizer.state[
        runner.model.head.final_layer.weight]
    assert state['momentum_buffer'] is not None


def test_user_optimizer_from_custom_imports(tmp_path):
    syspath(user_module('my_optimizers.py', tmp_path / 'user').parent)
    runner = build(tmp_path, recipe('optim-custom-import'))
    rec = train(runner, Recorder(params=True))
    assert type(runner.optim_wrapper.optimizer).__name__ == 'SignSGD'
    # every element moved by exactly lr = 1e-3 or, without a gradient
    # (zero-initialised residual branches), not at all
    before, after = rec.initial, rec.params[0]
    moved = torch.cat([(after[k] - before[k]).abs().flatten()
                       for k in before])
    at_lr = (moved - 1e-3).abs() < 1e-6
    assert bool((at_lr | (moved == 0)).all())
    assert int(at_lr.sum()) > 1000


def test_paramwise_backbone_lr_mult(tmp_path):
    runner = build(tmp_path, recipe('paramwise-backbone-lr'))
    rec = train(runner)
    names = param_names_of_groups(runner)
    for step in rec.lrs:
        for lr, group_names in zip(step, names):
            want = 0.001 if group_names[0].startswith('backbone.') else 0.01
            assert abs(lr - want) < 1e-12, group_names
    assert {round(lr, 6) for lr in rec.lrs[0]} == {0.001, 0.01}


def test_paramwise_no_decay_on_norms_and_biases(tmp_path):
    runner = build(tmp_path, recipe('paramwise-no-decay'))
    train(runner)
    norms = norm_param_names(runner.model)
    assert len(norms) == 2 * 21  # stem, 16 block and 4 downsample BNs
    for name, _ in runner.model.named_parameters():
        decay = group_of(runner, name)['weight_decay']
        no_decay = name in norms or name.endswith('.bias')
        assert decay == (0.0 if no_decay else 1e-4), name


def test_user_constructor_backbone_lr_and_no_decay(tmp_path):
    syspath(user_module('my_constructors.py', tmp_path / 'user').parent)
    runner = build(tmp_path, recipe('constructor-custom'))
    train(runner)
    norms = norm_param_names(runner.model)
    for name, _ in runner.model.named_parameters():
        group = group_of(runner, name)
        lr = 1e-4 if name.startswith('backbone.') else 1e-3
        decay = 0.0 if name in norms or name.endswith('.bias') else 0.05
        assert abs(group['lr'] - lr) < 1e-12, name
        assert group['weight_decay'] == decay, name
    # the combination plain paramwise_cfg cannot give: a backbone norm
    # with the backbone rate and no decay
    assert 'backbone.layer1.0.bn1.weight' in norms


def test_layer_decay_constructor_on_resnet(tmp_path):
    runner = build(tmp_path, recipe('constructor-layer-decay'))
    rec = train(runner)
    depth = {'backbone.conv1.weight': 0, 'backbone.bn1.weight': 0,
             'backbone.layer1.0.conv1.weight': 1,
             'backbone.layer2.1.conv2.weight': 2,
             'backbone.layer3.0.downsample.0.weight': 3,
             'backbone.layer4.1.bn2.bias': 4, 'head.final_layer.weight': 5}
    for name, layer_id in depth.items():
        group = group_of(runner, name)
        assert abs(group['lr'] - 5e-4 * 0.75 ** (5 - layer_id)) < 1e-12
    # 1-D parameters get no weight decay, the others the base 0.1
    assert group_of(runner, 'backbone.bn1.weight')['weight_decay'] == 0.0
    assert group_of(runner, 'head.final_layer.bias')['weight_decay'] == 0.0
    assert group_of(runner, 'backbone.conv1.weight')['weight_decay'] == 0.1
    # and these are the rates the optimizer stepped with
    stem = param_names_of_groups(runner).index(['backbone.conv1.weight'])
    assert abs(rec.lrs[1][stem] - 5e-4 * 0.75 ** 5) < 1e-12


def test_clip_grad_caps_the_norm_the_optimizer_sees(tmp_path):
    # a large loss weight makes the raw gradient norm far above 35
    runner = build(tmp_path, recipe('grad-clip'),
                   options={'model.head.loss.loss_weight': 1e4})
    rec = train(runner)
    raw = runner.message_hub.get_scalar('train/grad_norm').current()
    assert raw > 1000
    assert len(rec.step_grad_norms) == 2
    for norm in rec.step_grad_norms:
        assert abs(norm - 35.0) < 35.0 * 1e-4


def test_gradient_accumulation_steps_every_second_iteration(tmp_path):
    runner = build(tmp_path, recipe('grad-accumulation'),
                   options={'train_cfg.max_epochs': 2})
    rec = train(runner, Recorder(params=True))
    assert len(rec.step_grad_norms) == 2  # 4 iterations, 2 optimizer steps
    weight = 'head.final_layer.weight'
    seq = [rec.initial[weight]] + [p[weight] for p in rec.params]
    changed = [not torch.equal(a, b) for a, b in zip(seq, seq[1:])]
    assert changed == [False, True, False, True]
