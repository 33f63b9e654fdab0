"""The one check every transform runs on the keys it reads."""
from typing import Iterable, Mapping, Optional

# Where a key usually comes from, so an error can say what to add.
_PRODUCERS = {
    'img': 'LoadImage',
    'img_shape': 'LoadImage',
    'img_path': 'the dataset',
    'bbox': 'the dataset',
    'keypoints': 'the dataset',
    'keypoints_visible': 'the dataset',
    'flip_indices': 'the dataset metainfo',
    'upper_body_ids': 'the dataset metainfo',
    'lower_body_ids': 'the dataset metainfo',
    'bbox_center': 'GetBBoxCenterScale',
    'bbox_scale': 'GetBBoxCenterScale',
    'input_size': 'TopdownAffine',
    'transformed_keypoints': 'TopdownAffine',
}


class MissingKeyError(KeyError):
    """A transform's input lacks a key; ``str()`` is the full sentence
    (a plain ``KeyError`` would print it quoted)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''


def check_required_keys(results: Mapping, keys: Iterable[str],
                        transform: object,
                        producers: Optional[Mapping[str, str]] = None
                        ) -> None:
    """Raise :class:`MissingKeyError` unless every key of ``keys`` is in
    ``results``.

    The message names ``transform`` (an instance or a name), the first
    missing key, what usually provides it, and the keys that are present.
    """
    missing = [k for k in keys if k not in results]
    if not missing:
        return
    name = transform if isinstance(transform, str) else \
        type(transform).__name__
    key = missing[0]
    source = (producers or {}).get(key, _PRODUCERS.get(key))
    hint = f' (it is usually set by {source})' if source else ''
    others = (f'; also missing: {", ".join(repr(k) for k in missing[1:])}'
              if len(missing) > 1 else '')
    raise MissingKeyError(
        f'{name} needs the key {key!r} in its input{hint}, but it is '
        f'missing{others}. Keys present: {sorted(map(str, results))}')
