from .transforms import flip_indices_from_pairs, flip_keypoints

__all__ = ['flip_keypoints', 'flip_indices_from_pairs']
