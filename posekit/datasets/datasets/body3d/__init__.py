from .camera_params import RestrictedUnpickler, load_camera_params
from .h36m_dataset import Human36mDataset, parse_h36m_imgname

__all__ = ['Human36mDataset', 'parse_h36m_imgname', 'RestrictedUnpickler',
           'load_camera_params']
