import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / 'configs/quickstart/td-hm_res18-small_synthetic-128x96.py'


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tools_conftest():
    """tests/test_tools/conftest.py as a module (its quickstart helpers)."""
    return _load(REPO / 'tests' / 'test_tools' / 'conftest.py',
                 '_tools_conftest_browse')


def _load_browse_dataset():
    return _load(REPO / 'tools' / 'misc' / 'browse_dataset.py',
                 '_tool_browse')


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    """The tool, tiny quickstart cfg-options (3 train / 2 val generated
    96x96 images) and the val dataset built with the same options."""
    from posekit.apis.training import load_config
    from posekit.registry import DATASETS
    root = tmp_path_factory.mktemp('browse')
    opts = _tools_conftest().tiny_quickstart_options(root / 'data',
                                                     epochs=1)
    cfg = load_config(str(QUICKSTART), opts)
    dataset_cfg = cfg.val_dataloader.dataset
    dataset_cfg.pipeline[-1]['pack_transformed'] = True
    val = DATASETS.build(dataset_cfg)
    return _load_browse_dataset(), opts, val, root


def _last_visible(keypoints, visible):
    """Index and (x, y) pixel of the last visible keypoint: it is drawn
    last, so nothing covers it."""
    k = int(np.flatnonzero(visible > 0.3)[-1])
    x, y = np.floor(keypoints[k] + 0.5).astype(int)
    return k, x, y


def test_original_mode_draws_ground_truth_on_the_image(setup):
    tool, opts, val, root = setup
    written = tool.main([str(QUICKSTART), '--phase', 'val', '--mode',
                         'original', '--output-dir', str(root / 'orig'),
                         '--cfg-options', *opts])
    assert len(written) == len(val) == 5
    info = val.get_data_info(0)
    drawn = cv2.imread(written[0])[..., ::-1]
    assert drawn.shape == (96, 96, 3)
    k, x, y = _last_visible(info['keypoints'][0],
                            info['keypoints_visible'][0])
    assert tuple(drawn[y, x]) == tuple(val.metainfo['keypoint_colors'][k])


def test_transformed_mode_draws_the_model_input(setup):
    tool, opts, val, root = setup
    written = tool.main([str(QUICKSTART), '--phase', 'val', '--output-dir',
                         str(root / 'val'), '--max-items', '2',
                         '--cfg-options', *opts])
    assert len(written) == 2
    drawn = cv2.imread(written[0])[..., ::-1]
    assert drawn.shape == (128, 96, 3)  # the 96x128 input crop
    gt = val[0]['data_samples'].gt_instances
    k, x, y = _last_visible(gt.transformed_keypoints[0],
                            gt.keypoints_visible[0])
    assert tuple(drawn[y, x]) == tuple(val.metainfo['keypoint_colors'][k])


def test_transformed_training_samples_get_a_heatmap_row(setup):
    tool, opts, _, root = setup
    written = tool.main([str(QUICKSTART), '--output-dir',
                         str(root / 'train'), '--max-items', '1',
                         '--cfg-options', *opts])
    drawn = cv2.imread(written[0])[..., ::-1].astype(int)
    # input crop above, its encoded target heatmaps (jet, blended) below
    assert drawn.shape == (256, 96, 3)
    heat = drawn[128:]
    hot = (heat[..., 0] > heat[..., 2] + 60).sum()  # red-dominant pixels
    assert 0 < hot < heat.shape[0] * heat.shape[1] / 2


def test_unknown_phase_is_rejected(setup):
    tool, opts, _, root = setup
    with pytest.raises(SystemExit):
        tool.main([str(QUICKSTART), '--phase', 'training',
                   '--cfg-options', *opts])
