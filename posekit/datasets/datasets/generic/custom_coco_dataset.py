"""A COCO-format keypoint dataset whose keypoints are defined by the user's
metainfo file (e.g. the one tools/dataset_converters/dlc2coco.py writes)."""
from typing import List, Optional

from posekit.registry import DATASETS
from ..base import BaseCocoStyleDataset

__all__ = ['CustomCocoDataset']


@DATASETS.register_module()
class CustomCocoDataset(BaseCocoStyleDataset):
    """Any COCO-format keypoint file with a user-given keypoint definition.

    Unlike the named datasets it has no built-in ``METAINFO``:
    ``metainfo=dict(from_file='path/to/dataset_info.py')`` (or a
    ``dataset_info`` dict) is required. When the file's categories list
    keypoint names, they must be those of the metainfo, in its order, so a
    metainfo file of another dataset is caught before training.

    Other arguments are those of :class:`BaseCocoStyleDataset`.

    Raises:
        ValueError: ``metainfo`` is missing or empty, or its keypoint names
            differ from the annotation file's category keypoints.
        TypeError: ``metainfo`` is not a dict.
    """

    METAINFO: dict = dict()

    def __init__(self,
                 ann_file: str = '',
                 bbox_file: Optional[str] = None,
                 data_mode: str = 'topdown',
                 metainfo: Optional[dict] = None,
                 **kwargs):
        if metainfo is None or (isinstance(metainfo, dict) and not metainfo):
            raise ValueError(
                'CustomCocoDataset needs the keypoint definition of your '
                "data: pass metainfo=dict(from_file='path/to/"
                "dataset_info.py') (a file defining dataset_info = "
                'dict(dataset_name=..., keypoint_info=..., '
                'skeleton_info=..., joint_weights=..., sigmas=...); '
                'tools/dataset_converters/dlc2coco.py writes one), got '
                f'metainfo={metainfo!r}')
        if not isinstance(metainfo, dict):
            raise TypeError('CustomCocoDataset: metainfo must be a dict '
                            "such as dict(from_file='dataset_info.py'), got "
                            f'{type(metainfo).__name__}')
        super().__init__(ann_file=ann_file, bbox_file=bbox_file,
                         data_mode=data_mode, metainfo=metainfo, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the annotation file and check its keypoint names against
        the metainfo."""
        data_list = super().load_data_list()
        names = [self._metainfo['keypoint_id2name'][i]
                 for i in range(self._metainfo['num_keypoints'])]
        for category in self._metainfo.get('CLASSES', []):
            listed = category.get('keypoints')
            if listed and list(listed) != names:
                raise ValueError(
                    f'CustomCocoDataset: annotation file {self.ann_file} '
                    f"names the keypoints of category {category.get('name')!r}"
                    f' {list(listed)}, but the metainfo '
                    f"({self._metainfo['dataset_name']!r}) has {names}; use "
                    'the metainfo file written for this annotation file')
        return data_list
