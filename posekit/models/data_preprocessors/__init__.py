"""Data preprocessors."""
from .data_preprocessor import PoseDataPreprocessor

__all__ = ['PoseDataPreprocessor']
