"""The metainfo fields each sample carries into the pipeline, copied fast.

Transforms read ``flip_indices``, ``upper_body_ids``, the OKS ``sigmas``
and so on from the sample itself, and may change them in place, so each
sample needs its own copy. ``copy.deepcopy`` of these lists and arrays
cost about 60 us per sample (a tenth of a top-down sample's pipeline
time); unpickling one stored blob gives the same fresh copy in about
10 us.
"""
import pickle
from typing import Mapping

PIPELINE_META_KEYS = ('dataset_name', 'flip_indices', 'flip_pairs',
                      'upper_body_ids', 'lower_body_ids',
                      'dataset_keypoint_weights', 'sigmas', 'skeleton_links')


class PipelineMeta:
    """A frozen snapshot of a dataset's ``PIPELINE_META_KEYS`` fields.

    Args:
        owner: the dataset class name, for error messages.
        metainfo: the parsed metainfo; later changes to it are not seen,
            so build the snapshot once the metainfo is final.

    Raises:
        KeyError: the metainfo lacks one of the keys (names it).
    """

    def __init__(self, owner: str, metainfo: Mapping) -> None:
        missing = [k for k in PIPELINE_META_KEYS if k not in metainfo]
        if missing:
            raise KeyError(f'{owner}: metainfo lacks {missing}, which the '
                           'pipeline reads from every sample')
        self.owner = owner
        self._blob = pickle.dumps({k: metainfo[k] for k in PIPELINE_META_KEYS},
                                  protocol=pickle.HIGHEST_PROTOCOL)

    def add_to(self, info: dict, idx: int) -> dict:
        """Merge a fresh copy of the fields into sample ``idx``'s info.

        Raises:
            KeyError: the info already holds one of the keys.
        """
        clash = [k for k in PIPELINE_META_KEYS if k in info]
        if clash:
            raise KeyError(f'{self.owner}: data info {idx} already has '
                           f'{clash[0]!r}, a key reserved for the metainfo')
        info.update(pickle.loads(self._blob))
        return info
