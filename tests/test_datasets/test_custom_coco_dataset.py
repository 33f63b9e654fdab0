"""CustomCocoDataset, and the generic custom config trained for two
iterations on the converted DeepLabCut open-field project."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from posekit.datasets import CustomCocoDataset
from posekit.datasets.converters import convert_dlc_project
from posekit.registry import DATASETS

REPO = Path(__file__).resolve().parents[2]
GENERIC = REPO / 'configs/custom/td-hm_res18_custom-coco.py'


@pytest.fixture(scope='module')
def converted(shared_data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp('openfield_coco')
    convert_dlc_project(shared_data / 'dlc_openfield', out)
    return out


def _dataset(root: Path, **kwargs):
    kwargs.setdefault('metainfo', dict(from_file=str(root /
                                                     'dataset_info.py')))
    return CustomCocoDataset(data_root=str(root),
                             ann_file='annotations/train.json',
                             data_prefix=dict(img='images/'), **kwargs)


def _tool(relative: str):
    path = REPO / relative
    spec = importlib.util.spec_from_file_location(f'_tool_{path.stem}',
                                                  path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_metainfo_is_required(converted):
    with pytest.raises(ValueError, match=r"CustomCocoDataset needs .*"
                       r"metainfo=dict\(from_file="):
        CustomCocoDataset(data_root=str(converted),
                          ann_file='annotations/train.json')
    with pytest.raises(ValueError, match='got metainfo={}'):
        DATASETS.build(dict(type='CustomCocoDataset', metainfo={},
                            data_root=str(converted),
                            ann_file='annotations/train.json'))
    with pytest.raises(TypeError, match='must be a dict.*got str'):
        _dataset(converted, metainfo='dataset_info.py')


def test_reads_converted_frames(converted):
    dataset = _dataset(converted)
    raw = json.loads((converted / 'annotations/train.json').read_text())
    assert len(dataset) == len(raw['annotations']) == 93
    assert dataset.metainfo['num_keypoints'] == 4
    assert dataset.metainfo['flip_indices'] == [0, 2, 1, 3]
    info = dataset.get_data_info(5)
    ann = raw['annotations'][5]
    np.testing.assert_allclose(
        info['keypoints'][0],
        np.array(ann['keypoints'], np.float32).reshape(4, 3)[:, :2])
    image = next(i for i in raw['images'] if i['id'] == ann['image_id'])
    assert info['img_path'] == str(converted / 'images' /
                                   image['file_name'])
    assert Path(info['img_path']).is_file()


def test_keypoint_names_must_match_the_annotation_file(converted, tmp_path):
    wrong = tmp_path / 'other_info.py'
    wrong.write_text(
        'dataset_info = dict(dataset_name="other", keypoint_info={'
        + ', '.join(f'{i}: dict(name="{n}", id={i})'
                    for i, n in enumerate('abcd'))
        + '}, joint_weights=[1.0] * 4, sigmas=[0.05] * 4)\n')
    with pytest.raises(ValueError) as err:
        _dataset(converted, metainfo=dict(from_file=str(wrong)))
    message = str(err.value)
    assert 'train.json' in message
    assert "['snout', 'leftear', 'rightear', 'tailbase']" in message
    assert "['a', 'b', 'c', 'd']" in message


def _tiny_options(root: Path) -> list:
    """Shrink the generic config: a narrow model, 8 training instances in
    batches of 4 (2 iterations), 4 validation instances, no workers."""
    opts = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
            'model.backbone.base_channels=8', 'model.head.in_channels=64',
            'model.head.out_channels=4',
            'model.head.deconv_out_channels=(8,8,8)',
            'param_scheduler.0.end=2', 'default_hooks.logger.interval=1',
            'default_hooks.checkpoint.interval=1',
            'train_dataloader.dataset.indices=8',
            'val_dataloader.dataset.indices=4',
            'test_dataloader.dataset.indices=4']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.num_workers=0',
                 f'{loader}.persistent_workers=False',
                 f'{loader}.batch_size=4',
                 f'{loader}.dataset.data_root={root}',
                 f'{loader}.dataset.metainfo.from_file='
                 f'{root / "dataset_info.py"}']
    return opts


def _mean_pose_rmse(root: Path, num_train: int, num_val: int) -> float:
    """The baseline written from the json files alone: mean keypoint offset
    from the crop-box centre in units of the square 1.25x padded box."""
    def boxes_and_points(split, num):
        anns = json.loads((root / f'annotations/{split}.json').read_text())[
            'annotations'][:num]
        x0, y0, w, h = np.array([a['bbox'] for a in anns]).T
        # the dataset clips boxes to the last pixel (639, 479), as MMPose
        x1, y1 = np.minimum(x0 + w, 639), np.minimum(y0 + h, 479)
        center = np.stack([x0 + x1, y0 + y1], 1) / 2
        # 256x256 input: square crops of the 1.25x padded box
        side = 1.25 * np.maximum(x1 - x0, y1 - y0)
        pts = np.array([a['keypoints'] for a in anns]).reshape(num, 4, 3)
        return center, side, pts[..., :2]

    c, s, p = boxes_and_points('train', num_train)
    mean = ((p - c[:, None]) / s[:, None, None]).mean(0)
    c, s, p = boxes_and_points('val', num_val)
    pred = c[:, None] + mean[None] * s[:, None, None]
    return float(np.sqrt((((pred - p) ** 2).sum(-1)).mean()))


def test_generic_config_trains_two_iterations(converted, tmp_path):
    work = tmp_path / 'work'
    options = _tiny_options(converted)
    _tool('tools/train.py').main([str(GENERIC), '--work-dir', str(work),
                                  '--cfg-options'] + options)
    assert (work / 'epoch_1.pth').is_file()
    log = sorted(work.glob('*/vis_data/scalars.json'))[-1]
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    train_lines = [x for x in lines if 'loss_kpt' in x]
    assert [x['iter'] for x in train_lines] == [1, 2]
    val = [x for x in lines if 'PCK' in x]
    assert len(val) == 1 and 0.0 <= val[0]['PCK'] <= 1.0
    assert 0.0 <= val[0]['coco/AP'] <= 1.0
    assert val[0]['EPE'] > 0

    results = _tool('tools/analysis/eval_dlc_baseline.py').main(
        [str(GENERIC), str(work / 'epoch_1.pth'), '--out',
         str(tmp_path / 'r.json'), '--cfg-options'] + options)
    assert (results['num_train'], results['num_val']) == (8, 4)
    assert results['num_keypoints'] == 16  # every point is labelled
    baseline = results['mean_pose_baseline']
    assert baseline['rmse'] == pytest.approx(
        _mean_pose_rmse(converted, 8, 4), rel=1e-6)
    # the script's model predictions are those the runner validated with
    assert results['model']['mean_error'] == pytest.approx(val[0]['EPE'],
                                                           rel=1e-4)
    for r in (baseline, results['model']):
        # a root mean square is never below the mean
        assert r['rmse'] >= r['mean_error'] > 0
        assert 0.0 <= r['pck'] <= 1.0
    assert json.loads((tmp_path / 'r.json').read_text())['thr'] == 0.2
