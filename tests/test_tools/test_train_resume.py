"""The main job end to end, shrunk: train, resume, evaluate a checkpoint."""
import json

import torch

from posekit.utils.checkpoint import safe_load


def test_train_then_resume_then_test(tmp_path, tool, tiny_options,
                                     quickstart_config):
    train = tool('train')
    data_root = tmp_path / 'data'
    work = tmp_path / 'work'
    train.main([str(quickstart_config), '--work-dir', str(work), '--cfg-options']
               + tiny_options(data_root, epochs=1))
    first = work / 'epoch_1.pth'
    assert first.is_file()
    assert (work / 'last_checkpoint').read_text().strip().endswith(
        'epoch_1.pth')
    ck1 = safe_load(str(first))
    assert ck1['meta']['epoch'] == 1
    iters_per_epoch = ck1['meta']['iter']
    assert iters_per_epoch >= 2

    # a second run with a longer schedule resumes from epoch 1
    train.main([str(quickstart_config), '--work-dir', str(work), '--resume',
                '--cfg-options'] + tiny_options(data_root,
                                                           epochs=2))
    ck2 = safe_load(str(work / 'epoch_2.pth'))
    assert ck2['meta']['epoch'] == 2
    assert ck2['meta']['iter'] == 2 * iters_per_epoch
    # training went on from the resumed weights: they moved, and no
    # temporary files were left behind by the atomic writes
    moved = [not torch.equal(ck1['state_dict'][k], ck2['state_dict'][k])
             for k in ck1['state_dict'] if k.endswith('weight')]
    assert any(moved)
    assert not list(work.glob('.tmp-*'))

    test = tool('test')
    metrics = test.main([str(quickstart_config), str(work / 'epoch_2.pth'),
                         '--work-dir', str(tmp_path / 'eval'),
                         '--cfg-options'] + tiny_options(
                             data_root, epochs=2))
    assert 0.0 <= metrics['coco/AP'] <= 1.0
    assert set(metrics) >= {'coco/AP', 'coco/AP .5', 'coco/AR'}
    # the resume was logged from the checkpoint named in last_checkpoint
    logs = sorted(work.glob('*/vis_data/scalars.json'))
    assert logs, 'LocalVisBackend wrote no json scalars'
    first_line = json.loads(logs[-1].read_text().splitlines()[0])
    assert first_line['iter'] > iters_per_epoch
