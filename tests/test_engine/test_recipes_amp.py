"""Recipe 9 of docs/customize_runtime.md: mixed precision (the
AmpOptimWrapper snippet and tools/train.py --amp) on CPU and, where there
is one, on CUDA; --auto-scale-lr with auto_scale_lr.base_batch_size."""
import pytest
import torch

from posekit.engine.optim import AmpOptimWrapper
from .recipe_utils import (Recorder, build, log_text, recipe, run_train_tool,
                           train, write_config)


def head_output_dtypes(runner) -> list:
    """Collects the dtype of the head's output at every forward."""
    dtypes = []
    runner.model.head.final_layer.register_forward_hook(
        lambda module, args, out: dtypes.append(out.dtype))
    return dtypes


def test_amp_bfloat16_snippet(tmp_path):
    runner = build(tmp_path, recipe('amp-bf16'))
    dtypes = head_output_dtypes(runner)
    rec = train(runner, Recorder(params=True))
    wrapper = runner.optim_wrapper
    assert isinstance(wrapper, AmpOptimWrapper)
    assert wrapper.cast_dtype == torch.bfloat16
    # two training forwards under autocast, then validation in float32
    assert dtypes == [torch.bfloat16, torch.bfloat16, torch.float32]
    name = 'head.final_layer.weight'
    assert not torch.equal(rec.initial[name], rec.params[-1][name])
    assert all(torch.isfinite(p).all() for p in rec.params[-1].values())


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_amp_snippet_on_cuda(tmp_path):
    runner = build(tmp_path, recipe('amp-bf16'),
                   options={'optim_wrapper.dtype': 'float16'})
    dtypes = head_output_dtypes(runner)
    rec = train(runner, Recorder(params=True))
    assert next(runner.model.parameters()).is_cuda
    assert dtypes[:2] == [torch.float16, torch.float16]
    assert type(runner.optim_wrapper.loss_scaler).__module__.startswith(
        'torch')
    assert all(torch.isfinite(p).all() for p in rec.params[-1].values())


def test_amp_flag_of_the_train_tool(tmp_path):
    config = write_config(tmp_path)
    runner = run_train_tool([str(config), '--work-dir',
                             str(tmp_path / 'work'), '--amp'])
    wrapper = runner.optim_wrapper
    assert type(wrapper).__name__ == 'AmpOptimWrapper'
    # CUDA: mmengine's default (float16); CPU: bfloat16
    want = None if torch.cuda.is_available() else torch.bfloat16
    assert wrapper.cast_dtype == want
    assert 'optimizer wrapper: AmpOptimWrapper' in log_text(runner)


def test_amp_rejects_a_cpu_dtype_it_cannot_autocast():
    if torch.cuda.is_available():
        pytest.skip('the CPU path is only taken without an accelerator')
    optimizer = torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"optim_wrapper.dtype='float64': "
                       r"CPU autocast supports \('bfloat16', 'float16'\)"):
        AmpOptimWrapper(optimizer=optimizer, dtype='float64')


def test_auto_scale_lr_flag_scales_by_the_total_batch(tmp_path):
    config = write_config(tmp_path, recipe('auto-scale-lr'))
    runner = run_train_tool([str(config), '--work-dir',
                             str(tmp_path / 'work'), '--auto-scale-lr'])
    # batch 2 on one device against base_batch_size 256
    lr = runner.optim_wrapper.optimizer.param_groups[0]['lr']
    assert abs(lr - 0.01 * 2 / 256) < 1e-15
    assert ('learning rate: 7.8125e-05 = 0.01 x 0.0078125 by auto_scale_lr '
            '(batch 2 / base_batch_size 256)') in log_text(runner)


def test_auto_scale_lr_needs_the_flag_or_enable(tmp_path):
    runner = build(tmp_path, recipe('auto-scale-lr'))
    rec = train(runner)
    assert rec.lrs == [[0.01], [0.01]]
    assert ('learning rate: 0.01 (not scaled; --auto-scale-lr would scale '
            'it for base_batch_size 256)') in log_text(runner)
