"""Which samples of a dataset show the same image."""
from typing import Iterable, Mapping, Sequence

import numpy as np


def image_groups(infos: Iterable[Mapping]) -> np.ndarray:
    """One int64 per data info: equal values for equal ``img_id`` (or, for
    infos without one, equal ``img_path``), numbered in order of first
    appearance.

    Raises:
        KeyError: an info has neither key (names its position).
    """
    codes: dict = {}
    out = []
    for i, info in enumerate(infos):
        key = info.get('img_id')
        if key is None:
            key = info.get('img_path')
        if key is None:
            raise KeyError(f'data info {i} has neither img_id nor img_path, '
                           'so its image cannot be told apart from the '
                           "others'")
        out.append(codes.setdefault(key, len(codes)))
    return np.asarray(out, dtype=np.int64)


__all__: Sequence[str] = ['image_groups']
