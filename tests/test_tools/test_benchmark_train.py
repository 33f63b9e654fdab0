"""tools/analysis/benchmark_train.py on the tiny quickstart (no timing
assertions: only that the figures exist, are positive and are compared)."""
import re

import pytest
import torch


def _run(tool, quickstart_config, tiny_options, tmp_path, *extra):
    bench = tool('analysis/benchmark_train')
    return bench.main([str(quickstart_config), '--iters', '2', '--warmup',
                       '1', '--device', 'cpu', *extra, '--cfg-options',
                       *tiny_options(tmp_path / 'data', 1)])


def test_reports_three_figures_and_the_limit(tool, quickstart_config,
                                             tiny_options, tmp_path, capsys):
    result = _run(tool, quickstart_config, tiny_options, tmp_path)
    out = capsys.readouterr().out
    for key in ('data', 'model', 'both'):
        assert result[key] > 0
    printed = {name: float(value) for name, value in re.findall(
        r'(data pipeline alone|model step alone|both together):\s+'
        r'([0-9.]+) samples/s', out)}
    assert set(printed) == {'data pipeline alone', 'model step alone',
                            'both together'}
    assert all(v > 0 for v in printed.values())
    slower = 'data pipeline' if result['data'] < result['model'] \
        else 'model step'
    assert result['limit'] == slower
    assert f'limited by: {slower}' in out
    # tiny_options: batch_size=4, num_workers=0
    assert result['batch_size'] == 4 and result['num_workers'] == 0


def test_amp_and_channels_last_options(tool, quickstart_config, tiny_options,
                                       tmp_path, capsys):
    result = _run(tool, quickstart_config, tiny_options, tmp_path, '--amp',
                  '--channels-last')
    out = capsys.readouterr().out
    assert result['options'] == {'channels_last': True}
    assert 'amp bf16 True, channels_last=True' in out
    assert result['both'] > 0


def test_bad_arguments(tool, quickstart_config, capsys):
    bench = tool('analysis/benchmark_train')
    with pytest.raises(SystemExit):
        bench.parse_args([str(quickstart_config), '--iters', '0'])
    assert '--iters must be >= 1' in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason='needs a machine '
                    'without CUDA')
def test_cuda_without_cuda(tool, quickstart_config, tmp_path):
    bench = tool('analysis/benchmark_train')
    args = bench.parse_args([str(quickstart_config), '--device', 'cuda'])
    with pytest.raises(RuntimeError, match='--device cuda: torch sees no '
                       'CUDA device'):
        bench.benchmark(args, str(tmp_path))
