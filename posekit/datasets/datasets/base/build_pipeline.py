"""Building a dataset's ``pipeline`` list through posekit's TRANSFORMS.

mmengine's ``Compose`` would build dict entries with the root registry,
whose errors name neither the entry nor close matches; building them here
first gives posekit's key-path errors (``pipeline[2].type: unknown type
'TopDownAffine' ... Did you mean 'TopdownAffine'?``).
"""
from typing import Any, Callable, List, Optional, Sequence

from posekit.registry import TRANSFORMS, ConfigBuildError

__all__ = ['build_pipeline']


def _relocate(err: ConfigBuildError, index: int,
              transform_cfg: Any) -> ConfigBuildError:
    """Express ``err``'s key path as ``pipeline[index]...``."""
    rest = list(err.path)
    # An outermost posekit build prefixes its root key ('pipeline' for
    # transforms); nested inside another build (e.g. DATASETS.build) it
    # does not. Strip it so the index can go in between.
    if rest and rest[0] == 'pipeline' and 'pipeline' not in transform_cfg:
        rest = rest[1:]
    # cfg=None: an enclosing build (the dataset's) then only adds its own
    # root key in front, giving 'dataset.pipeline[2].type'.
    return ConfigBuildError(err.problem, ['pipeline', f'[{index}]'] + rest,
                            err.hint, None)


def build_pipeline(
        pipeline: Optional[Sequence[Any]]) -> List[Callable[[dict], Any]]:
    """Build each dict in ``pipeline`` with posekit's TRANSFORMS; keep
    callables as they are.

    Raises:
        ConfigBuildError: an entry's ``type`` (or a nested ``type``) is not
            registered; the message starts with ``pipeline[i]``.
        TypeError: ``pipeline`` is not a list, or an entry is neither a
            dict nor callable.
    """
    if pipeline is None:
        return []
    if isinstance(pipeline, (dict, str)) or not isinstance(pipeline,
                                                           Sequence):
        raise TypeError('pipeline must be a list of transform configs or '
                        f'callables, got {type(pipeline).__name__}')
    built = []
    for index, transform in enumerate(pipeline):
        if isinstance(transform, dict):
            try:
                built.append(TRANSFORMS.build(transform))
            except ConfigBuildError as err:
                raise _relocate(err, index, transform) from None
        elif callable(transform):
            built.append(transform)
        else:
            raise TypeError(f'pipeline[{index}] must be a transform config '
                            'dict or a callable, got '
                            f'{type(transform).__name__}: {transform!r}')
    return built
