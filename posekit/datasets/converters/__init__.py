"""Converters from other annotation tools' formats to COCO keypoint files
plus a ``dataset_info`` metainfo file (pure functions; the command-line
front ends live in ``tools/dataset_converters/``)."""
from .dataset_info import (build_dataset_info, format_dataset_info,
                           infer_flip_pairs, write_dataset_info)
from .dlc import (convert_dlc_project, dlc_labels_to_coco,
                  find_collected_data, load_dlc_config, split_coco)
from .dlc_csv import DLCFormatError, DLCLabels, read_collected_data

__all__ = [
    'build_dataset_info', 'format_dataset_info', 'infer_flip_pairs',
    'write_dataset_info', 'convert_dlc_project', 'dlc_labels_to_coco',
    'find_collected_data', 'load_dlc_config', 'split_coco', 'DLCFormatError',
    'DLCLabels', 'read_collected_data'
]
