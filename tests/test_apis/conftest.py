"""Tiny quickstart models and synthetic data for the inference-API tests."""
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
TOPDOWN = REPO / 'configs/quickstart/td-hm_res18-small_synthetic-128x96.py'
BOTTOMUP = REPO / 'configs/quickstart/ae_res18-small_synthetic-256x192.py'
LIFT_DIR = REPO / 'configs/body_3d_keypoint'
VIDEO_LIFT = LIFT_DIR / ('video_pose_lift/h36m/'
                         'video-pose-lift_tcn-27frm-supv_8xb128-160e_h36m.py')
IMAGE_LIFT = LIFT_DIR / ('image_pose_lift/h36m/'
                         'image-pose-lift_tcn_8xb64-200e_h36m.py')

# a narrow ResNet-18 (8 base channels: 64 channels out of the last stage)
# and an 8-channel deconvolution head
NARROW = {'model.backbone.base_channels': 8,
          'model.backbone.stem_channels': 8,
          'model.head.in_channels': 64,
          'model.head.deconv_out_channels': (8, 8, 8)}
# synthetic data: 2 val images of 96 x 80 (w, h), generated in a tmp folder
SYNTHETIC = dict(num_train=1, num_val=2, image_size=(96, 80), seed=3)


def data_options(data_root: Path) -> dict:
    opts = {}
    for loader in ('val_dataloader', 'test_dataloader'):
        opts[f'{loader}.dataset.data_root'] = str(data_root)
        opts.update({f'{loader}.dataset.{k}': v
                     for k, v in SYNTHETIC.items()})
    return opts


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory) -> Path:
    """A generated synthetic COCO folder (both quickstarts read it)."""
    from posekit.datasets.datasets.synthetic.storage import \
        ensure_synthetic_coco
    root = tmp_path_factory.mktemp('synthetic') / 'coco'
    ensure_synthetic_coco(str(root), max_persons=4, side_tint=0.3,
                          **SYNTHETIC)
    return root


@pytest.fixture(scope='session')
def topdown_options(synthetic_root) -> dict:
    return {**NARROW, **data_options(synthetic_root)}


@pytest.fixture(scope='session')
def bottomup_options(synthetic_root) -> dict:
    return {**NARROW, **data_options(synthetic_root)}


@pytest.fixture(scope='session')
def topdown_model(topdown_options):
    """The top-down quickstart, narrow, random weights, eval mode."""
    from posekit.apis import init_model
    torch.manual_seed(0)
    return init_model(str(TOPDOWN), cfg_options=topdown_options)


@pytest.fixture
def coco_image(shared_data) -> Path:
    path = shared_data / 'coco' / '000000196141.jpg'
    if not path.is_file():
        pytest.skip(f'sample image {path} is absent')
    return path


class Configs:
    """Config paths of the models these tests build."""
    topdown = str(TOPDOWN)
    bottomup = str(BOTTOMUP)
    video_lift = str(VIDEO_LIFT)
    image_lift = str(IMAGE_LIFT)


@pytest.fixture(scope='session')
def configs() -> Configs:
    return Configs()


@pytest.fixture
def narrow() -> dict:
    """cfg_options for the narrow ResNet-18 of the quickstarts."""
    return dict(NARROW)
