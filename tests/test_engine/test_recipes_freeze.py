"""Recipe 10 of docs/customize_runtime.md: frozen stages and norm_eval,
load_from a checkpoint whose head differs, and a Pretrained init of the
backbone from a whole-model checkpoint with prefix='backbone.'; posekit
logs a listing of what was loaded."""
import re

import torch
from mmengine.config import Config

from posekit.registry import MODELS
from .recipe_utils import Recorder, build, log_text, recipe, train, \
    write_config

# the path the recipes name, relative to the working directory
PRETRAIN = 'work_dirs/td-hm_res18_pretrain/epoch_210.pth'


def donor_state_dict(tmp_path, **head) -> dict:
    """The state dict of another model of the recipes' base architecture
    (freshly initialised, so its weights differ from the trained run's),
    with ``head`` arguments changed."""
    cfg = Config.fromfile(str(write_config(tmp_path / 'donor_cfg')))
    cfg.model.head.update(head)
    model = MODELS.build(cfg.model)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def save_at_recipe_path(tmp_path, monkeypatch, state_dict) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / PRETRAIN
    path.parent.mkdir(parents=True)
    torch.save(dict(state_dict=state_dict, meta=dict()), path)


def test_frozen_stages_and_norm_eval(tmp_path):
    runner = build(tmp_path, recipe('freeze-stages'))
    rec = train(runner, Recorder(params=True))
    final = rec.params[-1]
    frozen = ('backbone.conv1.', 'backbone.bn1.', 'backbone.layer1.',
              'backbone.layer2.')
    params = dict(runner.model.named_parameters())
    n_frozen = 0
    for name, param in params.items():
        if name.startswith(frozen):
            n_frozen += 1
            assert not param.requires_grad, name
            assert torch.equal(final[name], rec.initial[name]), name
    # stem conv + BN; per stage 2 blocks of 2 conv + BN, a downsample
    assert n_frozen == 3 + 2 * (2 * 6 + 3)
    # the stages after them train
    for name in ('backbone.layer3.0.downsample.0.weight',
                 'backbone.layer4.1.bn2.weight', 'head.final_layer.weight'):
        assert params[name].requires_grad
        assert not torch.equal(final[name], rec.initial[name]), name
    # norm_eval: no batch norm of the backbone updated its statistics
    buffers = dict(runner.model.named_buffers())
    stats = [k for k in buffers
             if k.startswith('backbone.') and 'running_' in k]
    assert len(stats) == 2 * 21
    for name in stats:
        assert torch.equal(buffers[name], rec.initial_buffers[name]), name


def test_load_from_lists_what_did_not_fit(tmp_path, monkeypatch):
    donor = donor_state_dict(tmp_path, out_channels=5)
    donor['head.extra.weight'] = torch.ones(2)
    save_at_recipe_path(tmp_path, monkeypatch, donor)
    runner = build(tmp_path, recipe('load-from'))
    rec = train(runner, Recorder(params=True))
    for name, value in rec.initial.items():
        if name.startswith('backbone.'):
            assert torch.equal(value, donor[name]), name
    assert rec.initial['head.final_layer.weight'].shape == (3, 32, 1, 1)
    n_model = len(runner.model.state_dict())
    log = log_text(runner)
    assert (f'checkpoint {PRETRAIN}: {n_model - 2} of {n_model} tensors '
            'loaded\n'
            '  unexpected in the checkpoint, ignored (1):\n'
            '    head.extra.weight\n'
            '  shape mismatch, not loaded (2):\n'
            '    head.final_layer.bias: checkpoint (5,), model (3,)\n'
            '    head.final_layer.weight: checkpoint (5, 32, 1, 1), model '
            '(3, 32, 1, 1)') in log


def test_pretrained_backbone_from_a_whole_model_checkpoint(tmp_path,
                                                           monkeypatch):
    donor = donor_state_dict(tmp_path)
    # a partial checkpoint: no last stage
    donor = {k: v for k, v in donor.items()
             if not k.startswith('backbone.layer4.')}
    save_at_recipe_path(tmp_path, monkeypatch, donor)
    runner = build(tmp_path, recipe('pretrained-backbone'))
    rec = train(runner, Recorder(params=True))
    loaded = [k for k in rec.initial if k in donor]
    assert len(loaded) > 40
    for name in loaded:
        if name.startswith('backbone.'):
            assert torch.equal(rec.initial[name], donor[name]), name
        else:  # the head is not part of the backbone's init
            assert not torch.equal(rec.initial[name], donor[name]), name
    backbone = runner.model.backbone.state_dict()
    missing = sorted(f'backbone.{k}' for k in backbone
                     if k.startswith('layer4.')
                     and not k.endswith('num_batches_tracked'))
    n_missing = sum(k.startswith('layer4.') for k in backbone)
    log = log_text(runner)
    head = (f"model.backbone.init_cfg Pretrained {PRETRAIN} (prefix "
            f"'backbone.'): {len(backbone) - n_missing} of {len(backbone)} "
            'tensors loaded\n'
            f'  missing from the checkpoint, left as initialised '
            f'({len(missing)}):\n')
    assert head + ''.join(f'    {k}\n' for k in missing) in log
    assert not re.search(r'unexpected in the checkpoint', log)
