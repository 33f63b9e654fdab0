"""tools/analysis/analyze_logs.py on the json scalars of a real (tiny)
training run and on hand-written logs with known numbers."""
import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'


def _helpers():
    """This folder's conftest.py as a module (module-scoped fixtures
    cannot use its function-scoped fixtures)."""
    path = Path(__file__).with_name('conftest.py')
    spec = importlib.util.spec_from_file_location('_tools_conftest', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_h = _helpers()
QUICKSTART, load_tool = _h.QUICKSTART, _h.load_tool
tiny_quickstart_options = _h.tiny_quickstart_options


@pytest.fixture(scope='module')
def analyze():
    return load_tool('analysis/analyze_logs')


@pytest.fixture(scope='module')
def run_log(tmp_path_factory):
    """scalars.json of a 2-epoch quickstart run validated every epoch."""
    root = tmp_path_factory.mktemp('run')
    work = root / 'work'
    load_tool('train').main(
        [str(QUICKSTART), '--work-dir', str(work), '--cfg-options']
        + tiny_quickstart_options(root / 'data', epochs=2))
    logs = sorted(work.glob('*/vis_data/scalars.json'))
    assert len(logs) == 1
    return work, logs[0]


def read_records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def write_log(path, records):
    path.write_text(''.join(json.dumps(r) + '\n' for r in records))
    return str(path)


def test_plot_curve_of_a_real_run(run_log, analyze, tmp_path, capsys):
    work, log = run_log
    records = read_records(log)
    train = [r for r in records if 'loss_kpt' in r]
    val = [r for r in records if 'coco/AP' in r]
    # 2 epochs x 2 iterations logged every iteration, 2 validations
    assert len(train) == 4 and len(val) == 2

    out = tmp_path / 'curves.png'
    curves = analyze.main(['plot_curve', str(log), '--keys', 'loss_kpt',
                           'coco/AP', '--out', str(out)])
    data = out.read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) > 1000
    assert f'saved the curves to {out}' in capsys.readouterr().out

    loss = curves[(0, 'loss_kpt')]
    assert loss.x_label == 'iter'
    np.testing.assert_array_equal(loss.x, [r['iter'] for r in train])
    np.testing.assert_allclose(loss.y, [r['loss_kpt'] for r in train])
    ap = curves[(0, 'coco/AP')]
    assert ap.x_label == 'epoch'
    np.testing.assert_array_equal(ap.x, [1, 2])
    np.testing.assert_allclose(ap.y, [r['coco/AP'] for r in val])


def test_work_dir_epoch_axis_and_start_epoch(run_log, analyze, tmp_path):
    work, log = run_log
    train = [r for r in read_records(log) if 'loss_kpt' in r]
    # the work dir resolves to the run's scalars.json
    logs = analyze.load_json_logs([str(work)])
    assert logs[0].path == str(log)
    assert logs[0].stem == log.parent.parent.name  # the timestamp folder
    curves = analyze.plot_curve(logs, ['loss_kpt'], str(tmp_path / 'e.png'),
                                x_axis='epoch')
    by_epoch = curves[(0, 'loss_kpt')]
    np.testing.assert_array_equal(by_epoch.x, [1, 2])
    np.testing.assert_allclose(
        by_epoch.y, [(train[0]['loss_kpt'] + train[1]['loss_kpt']) / 2,
                     (train[2]['loss_kpt'] + train[3]['loss_kpt']) / 2])
    late = analyze.get_curves(logs, ['loss_kpt', 'coco/AP'], start_epoch=2)
    np.testing.assert_array_equal(late[(0, 'loss_kpt')].x, [3, 4])
    np.testing.assert_array_equal(late[(0, 'coco/AP')].x, [2])


def test_unknown_key_lists_the_keys_there(run_log, analyze, tmp_path):
    _, log = run_log
    logs = analyze.load_json_logs([str(log)])
    with pytest.raises(KeyError) as info:
        analyze.plot_curve(logs, ['loss_kpt', 'coco/APP'],
                           str(tmp_path / 'x.png'))
    message = info.value.args[0]
    assert "key 'coco/APP' is in none of the logs" in message
    assert "'loss_kpt'" in message and "'coco/AP'" in message
    assert not (tmp_path / 'x.png').exists()
    with pytest.raises(ValueError, match=r'one name per log and key \(2 = '
                       r'1 logs x 2 keys\), got 1'):
        analyze.plot_curve(logs, ['loss_kpt', 'coco/AP'],
                           str(tmp_path / 'x.png'), legend=['only one'])


def test_cal_train_time_of_a_real_run(run_log, analyze):
    _, log = run_log
    train = [r for r in read_records(log) if 'iter' in r]
    # each epoch's first record is an outlier: what is left is iteration 2
    # of epoch 1 and iteration 4 (2 of epoch 2)
    t1, t2 = train[1]['time'], train[3]['time']
    result = analyze.cal_train_time(analyze.load_json_log(str(log)))
    assert result.mean_iter_time == pytest.approx((t1 + t2) / 2)
    assert result.std_over_epochs == pytest.approx(abs(t1 - t2) / 2)
    assert {result.slowest_epoch, result.fastest_epoch} == {1, 2}
    assert result.slowest_time == pytest.approx(max(t1, t2))


def test_cal_train_time_hand_written_log(analyze, tmp_path, capsys):
    times = {1: [0.9, 0.2, 0.4], 2: [1.2, 0.3, 0.3, 0.6], 3: [1.0, 0.5]}
    records, it = [], 0
    for epoch, ts in times.items():
        for t in ts:
            it += 1
            records.append(dict(lr=0.1, time=t, loss=1.0, epoch=epoch,
                                iter=it, step=it))
        records.append({'coco/AP': 0.5, 'time': 9.0, 'step': epoch})
    path = write_log(tmp_path / 'run.json', records)

    analyze.main(['cal_train_time', path])
    out = capsys.readouterr().out
    # without first records: epoch means 0.3, 0.4, 0.5; 6 records, sum 2.3
    assert 'slowest epoch 3, average time is 0.5000 s/iter' in out
    assert 'fastest epoch 1, average time is 0.3000 s/iter' in out
    assert 'time std over epochs is 0.0816' in out
    assert 'average iter time: 0.3833 s/iter' in out

    [with_all] = analyze.main(['cal_train_time', path, '--include-outliers'])
    # epoch means 0.5, 0.6, 0.75; 9 records, sum 5.4
    assert (with_all.slowest_epoch, with_all.fastest_epoch) == (3, 1)
    assert with_all.slowest_time == pytest.approx(0.75)
    assert with_all.fastest_time == pytest.approx(0.5)
    assert with_all.mean_iter_time == pytest.approx(0.6)
    assert with_all.std_over_epochs == pytest.approx(
        math.sqrt(((0.5 - 0.6166667) ** 2 + (0.6 - 0.6166667) ** 2
                   + (0.75 - 0.6166667) ** 2) / 3), rel=1e-5)


def test_bad_logs_are_named(analyze, tmp_path):
    single = write_log(tmp_path / 'single.json',
                       [dict(time=0.1, epoch=e, iter=e, step=e)
                        for e in (1, 2)])
    with pytest.raises(ValueError, match='every epoch has one logged '
                       'iteration.*--include-outliers'):
        analyze.cal_train_time(analyze.load_json_log(single))
    old = write_log(tmp_path / 'old.json',
                    [dict(mode='train', epoch=1, iter=10, time=0.1)])
    with pytest.raises(ValueError, match='old.json line 1 has a "mode" key'):
        analyze.load_json_log(old)
    with pytest.raises(FileNotFoundError, match='without vis_data'):
        analyze.load_json_log(str(tmp_path))
