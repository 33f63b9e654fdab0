"""MultilevelPixelData: per-pixel fields of several resolutions at once.

Bottom-up models with several output resolutions (HigherHRNet predicts at
1/4 and 1/2 of the input) are trained with one target map per level. A
field here is a list over levels; level ``l`` of every field is a
``(C_l, h_l, w_l)`` array or tensor, and all fields share the level count
and each level's ``(h_l, w_l)``. Indexing a level gives a plain
``PixelData`` of that level.
"""
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.structures import BaseDataElement, PixelData

_Map = Union[np.ndarray, torch.Tensor]


def _as_level(name: str, level: int, value: Any) -> _Map:
    """Check one level of a field; a 2D map gets a channel axis."""
    if not isinstance(value, (np.ndarray, torch.Tensor)):
        raise TypeError(f'MultilevelPixelData: level {level} of field '
                        f'{name!r} must be a numpy array or a tensor, got '
                        f'{type(value).__name__}')
    if value.ndim == 2:
        return value[None]
    if value.ndim != 3:
        raise ValueError(f'MultilevelPixelData: level {level} of field '
                         f'{name!r} must be (C, h, w) or (h, w), got shape '
                         f'{tuple(value.shape)}')
    return value


class MultilevelPixelData(BaseDataElement):
    """Per-pixel data with one map per level for every field.

    Each data field is a list of ``L`` maps ``(C, h_l, w_l)`` (numpy arrays
    or tensors; ``(h_l, w_l)`` maps get a channel axis). ``len(data)`` and
    :attr:`nlevel` are ``L``; ``data[l]`` is a ``PixelData`` with level
    ``l`` of every field (and the metainfo); ``data['name']`` is the list.
    ``to_tensor()``, ``to()``, ``cpu()``, ``cuda()``, ``detach()`` and
    ``numpy()`` act on every level.

    Raises:
        TypeError: a field is not a non-empty list/tuple of arrays/tensors.
        ValueError: a field has a different number of levels than the
            others, a level that is not 2D/3D, or a level whose (h, w)
            differs from the same level of the other fields.
    """

    def set_field(self, value: Any, name: str,
                  dtype: Optional[Union[type, Tuple[type, ...]]] = None,
                  field_type: str = 'data') -> None:
        # Attribute assignment and set_data both end here, so every data
        # field is checked once.
        if field_type == 'data':
            value = self._check_levels(name, value)
        super().set_field(value, name, dtype=dtype, field_type=field_type)

    def _check_levels(self, name: str, value: Any) -> List[_Map]:
        if not isinstance(value, (list, tuple)) or not value:
            raise TypeError(
                f'MultilevelPixelData: field {name!r} must be a non-empty '
                f'list of per-level maps (C, h, w), got '
                f'{type(value).__name__}'
                + (' of length 0' if isinstance(value, (list, tuple))
                   else ''))
        levels = [_as_level(name, i, v) for i, v in enumerate(value)]
        others = [k for k in self._data_fields if k != name]
        if others:
            ref = others[0]
            sizes = self._sizes(ref)
            if len(levels) != len(sizes):
                raise ValueError(
                    f'MultilevelPixelData: field {name!r} has '
                    f'{len(levels)} levels but field {ref!r} has '
                    f'{len(sizes)}; every field needs one map per level')
            for i, (lv, size) in enumerate(zip(levels, sizes)):
                if tuple(lv.shape[-2:]) != size:
                    raise ValueError(
                        f'MultilevelPixelData: level {i} of field {name!r} '
                        f'is {tuple(lv.shape[-2:])} (h, w) but level {i} of '
                        f'field {ref!r} is {size}')
        return levels

    def _sizes(self, name: str) -> List[Tuple[int, int]]:
        return [tuple(lv.shape[-2:]) for lv in getattr(self, name)]

    @property
    def nlevel(self) -> Optional[int]:
        """Number of levels, or None while there is no field."""
        keys = self.keys()
        return len(getattr(self, keys[0])) if keys else None

    @property
    def shape(self) -> Optional[Tuple[Tuple[int, int], ...]]:
        """(h, w) of each level, or None while there is no field."""
        keys = self.keys()
        return tuple(self._sizes(keys[0])) if keys else None

    def __len__(self) -> int:
        return self.nlevel or 0

    def __getitem__(self, item: Union[int, str]) -> Union[PixelData, list]:
        """``data[l]``: level ``l`` as a PixelData; ``data['name']``: the
        field's list. Raises IndexError/KeyError/TypeError."""
        if isinstance(item, str):
            if item not in self._data_fields:
                raise KeyError(f'MultilevelPixelData has no field {item!r};'
                               f' fields: {sorted(self._data_fields)}')
            return getattr(self, item)
        if isinstance(item, (int, np.integer)) and not isinstance(item,
                                                                 bool):
            num = len(self)
            if not -num <= item < num:
                raise IndexError(f'MultilevelPixelData: level {item} is out '
                                 f'of range for {num} levels')
            return PixelData(metainfo=self.metainfo,
                             **{k: v[item] for k, v in self.items()})
        raise TypeError(f'MultilevelPixelData is indexed by a level (int) '
                        f'or a field name (str), got {type(item).__name__}')

    def levels(self) -> List[PixelData]:
        """Every level as a PixelData, level 0 first."""
        return [self[i] for i in range(len(self))]

    def _map(self, fn: Callable[[_Map], _Map],
             kinds: Tuple[type, ...]) -> 'MultilevelPixelData':
        """A new instance with ``fn`` applied to every level map of type
        ``kinds`` (other maps are kept as they are)."""
        out = self.__class__(metainfo=self.metainfo)
        for key, value in self.items():
            out.set_field([fn(v) if isinstance(v, kinds) else v
                           for v in value], key)
        return out

    def to_tensor(self) -> 'MultilevelPixelData':
        """numpy levels -> tensors (sharing memory)."""
        return self._map(torch.from_numpy, (np.ndarray, ))

    def to(self, *args, **kwargs) -> 'MultilevelPixelData':
        """``Tensor.to(*args, **kwargs)`` on every tensor level."""
        return self._map(lambda t: t.to(*args, **kwargs), (torch.Tensor, ))

    def cpu(self) -> 'MultilevelPixelData':
        return self._map(lambda t: t.cpu(), (torch.Tensor, ))

    def cuda(self) -> 'MultilevelPixelData':
        return self._map(lambda t: t.cuda(), (torch.Tensor, ))

    def detach(self) -> 'MultilevelPixelData':
        return self._map(lambda t: t.detach(), (torch.Tensor, ))

    def numpy(self) -> 'MultilevelPixelData':
        """Tensor levels -> numpy arrays (on the CPU)."""
        return self._map(lambda t: t.detach().cpu().numpy(),
                         (torch.Tensor, ))


__all__: Sequence[str] = ['MultilevelPixelData']
