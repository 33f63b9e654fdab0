"""The bottom-up quickstart end to end, shrunk: train one epoch, evaluate
the checkpoint with tools/test.py and read its dumped predictions."""
import pickle
from pathlib import Path

import numpy as np

from posekit.utils.checkpoint import safe_load

CONFIG = (Path(__file__).resolve().parents[2] /
          'configs/quickstart/ae_res18-small_synthetic-256x192.py')


def test_bottomup_quickstart_trains_and_tests(tmp_path, tool, tiny_options):
    data_root = tmp_path / 'data'
    work = tmp_path / 'work'
    # tiny_options sets batch size 4 everywhere; bottom-up validation
    # takes whole images of different sizes, one at a time
    opts = tiny_options(data_root, epochs=1) + [
        'val_dataloader.batch_size=1', 'test_dataloader.batch_size=1']
    tool('train').main([str(CONFIG), '--work-dir', str(work),
                        '--cfg-options'] + opts)
    ckpt = safe_load(str(work / 'epoch_1.pth'))
    assert ckpt['meta']['epoch'] == 1
    # the AE head's last conv: 17 heatmaps + 17 tags
    assert ckpt['state_dict']['head.final_layer.weight'].shape[0] == 34

    out = tmp_path / 'preds.pkl'
    metrics = tool('test').main([
        str(CONFIG), str(work / 'epoch_1.pth'), '--work-dir',
        str(tmp_path / 'eval'), '--out', str(out), '--cfg-options'] + opts)
    assert set(metrics) >= {'coco/AP', 'coco/AP .5', 'coco/AR'}
    assert 0.0 <= metrics['coco/AP'] <= 1.0
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 2  # one entry per validation image
    for pred in preds:
        kpts = np.asarray(pred['pred_instances']['keypoints'])
        assert kpts.ndim == 3 and kpts.shape[1:] == (17, 2)
        assert pred['ori_shape'] == (96, 96)
