"""Export a posekit model to ONNX, raw or with its post-processing."""
import os
import warnings
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from .config_info import TopdownExportInfo, topdown_export_info
from .graphs import export_module
from .runtime import require, simplifier, simplify_onnx

EXPORTERS = ('auto', 'dynamo', 'torchscript')


@dataclass
class ExportResult:
    """What was written: the file, the graph's input and output names,
    the exporter used (``'dynamo'`` or ``'torchscript'``) and, for a
    decoding export, the pre-/post-processing facts it was built with."""

    path: str
    input_names: List[str]
    output_names: List[str]
    exporter: str
    info: Optional[TopdownExportInfo] = None


def _check_shape(shape: Sequence[int]) -> Tuple[int, int, int, int]:
    try:
        shape = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        shape = ()
    if len(shape) != 4 or min(shape) < 1:
        raise ValueError(f'--shape must be four positive ints N C H W '
                         f'(e.g. 1 3 256 192), got {shape}')
    return shape


def _use_dynamo(exporter: str, opset: int) -> bool:
    """Whether ``exporter`` at ``opset`` means torch's dynamo exporter.

    Raises:
        ValueError: an unknown exporter, or dynamo below opset 18.
    """
    if exporter not in EXPORTERS:
        raise ValueError(f'exporter must be one of {EXPORTERS}, got '
                         f'{exporter!r}')
    if exporter == 'dynamo' and opset < 18:
        raise ValueError(
            f'the dynamo exporter writes opset 18 or newer, got opset '
            f'{opset}; use --opset 18 or --exporter torchscript')
    return exporter == 'dynamo' or (exporter == 'auto' and opset >= 18)


def _example_boxes(n: int, w: int, h: int, device) -> Tensor:
    """``n`` xyxy boxes of plausible sizes (values do not matter)."""
    size = torch.tensor([w, h], dtype=torch.float32, device=device)
    corner = torch.rand(n, 2, device=device) * size
    return torch.cat([corner, corner + size * (0.2 + torch.rand(
        n, 2, device=device))], 1)


def _metadata(model: nn.Module, info: Optional[TopdownExportInfo],
              input_names: List[str]) -> Dict[str, str]:
    """What a runtime needs to prepare inputs, as ONNX metadata."""
    meta = {'posekit_graph': 'topdown_decode' if info else 'raw',
            'input_format': 'float32 raw pixels 0..255 (N, C, H, W), '
            'channels as the test pipeline loads them (BGR for LoadImage, '
            'like cv2.imread); normalisation is inside the graph',
            'inputs': ','.join(input_names)}
    if info is not None:
        meta.update(input_size=f'{info.input_size[0]},{info.input_size[1]}',
                    bbox_padding=repr(info.bbox_padding),
                    use_udp=str(info.use_udp).lower(),
                    flip_test=str(bool((model.test_cfg or {}).get(
                        'flip_test', False))).lower())
    return meta


def _write_metadata(path: str, meta: Dict[str, str]) -> None:
    onnx = require('onnx')
    proto = onnx.load(path)
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, path)


def export_onnx(model: nn.Module, output_file: str,
                input_shape: Sequence[int] = (1, 3, 256, 192),
                cfg: Any = None, with_decode: bool = False,
                dynamic_batch: bool = False, opset: int = 17,
                exporter: str = 'auto', simplify: bool = False,
                bbox_padding: Optional[float] = None,
                flip_indices: Optional[Sequence[int]] = None
                ) -> ExportResult:
    """Export ``model`` (put in eval mode) to ``output_file``.

    Without ``with_decode`` the graph maps ``input`` (float raw pixels
    ``(N, C, H, W)``) to the head's raw outputs. With it (top-down models
    only) it maps ``input`` and ``bbox`` (``(N, 4)`` xyxy, image pixels)
    to ``keypoints`` ``(N, K, 2)`` in image pixels and ``scores`` ``(N,
    K)``. See ``docs/deployment.md``.

    Args:
        model: a posekit pose estimator.
        output_file: the ``.onnx`` path (its folder is created).
        input_shape: ``(N, C, H, W)`` of the input; ``(W, H)`` must be the
            crop size of the config's TopdownAffine for ``with_decode``.
        cfg: the model's config (Config or dict): the test pipeline's box
            padding and crop size, the dataset's flip indices. Defaults to
            ``model.cfg`` (set by ``posekit.apis.init_model``).
        with_decode: include the post-processing
            (:class:`~posekit.export.graphs.TopdownDecodeModel`).
        dynamic_batch: make N a dynamic axis.
        opset: ONNX opset version.
        exporter: ``'dynamo'`` (``torch.onnx.export(dynamo=True)``, opset
            >= 18), ``'torchscript'`` (``dynamo=False``, the legacy
            exporter) or ``'auto'``: dynamo for opset >= 18, TorchScript
            below (dynamo writes opset 18, and its conversion down to 17
            fails on these graphs).
        simplify: run onnxslim (or onnx-simplifier) on the result.
        bbox_padding / flip_indices: override what ``cfg`` gives.

    Raises:
        ImportError: onnx, onnxscript (dynamo) or, with ``simplify``, a
            simplifier is missing; the message names the pip command.
        UnsupportedModelError: the model cannot be exported this way (the
            message lists what is supported).
        ValueError: a bad shape, exporter/opset pair or crop size.
    """
    require('onnx')
    dynamo = _use_dynamo(exporter, opset)
    if dynamo:
        require('onnxscript', 'the dynamo ONNX exporter')
    if simplify:
        simplifier()  # fail before the export rather than after it
    n, c, h, w = _check_shape(input_shape)
    if dynamic_batch:
        n = max(n, 2)  # a batch of 1 would be traced as a constant
    device = next(model.parameters()).device
    pixels = torch.rand(n, c, h, w, device=device) * 255
    info = None
    if with_decode:
        if cfg is None:
            cfg = getattr(model, 'cfg', None)
        info = topdown_export_info(cfg, (w, h), model)
        if bbox_padding is not None:
            info.bbox_padding = float(bbox_padding)
        if flip_indices is not None:
            info.flip_indices = [int(i) for i in flip_indices]
        module = export_module(model, True, info.input_size,
                               info.bbox_padding, info.flip_indices)
        module.to(device).eval()   # the graph's own buffers too
        args = (pixels, _example_boxes(n, w, h, device))
        input_names, output_names = ['input', 'bbox'], ['keypoints',
                                                        'scores']
    else:
        module = export_module(model, False, (w, h)).to(device).eval()
        args = (pixels, )
        input_names = ['input']
        with torch.no_grad():
            count = len(module(pixels))
        output_names = module.output_names()
        if len(output_names) != count:
            output_names = [f'output{i}' for i in range(count)]
    axes = {name: {0: 'batch'} for name in input_names + output_names}
    kwargs = dict(input_names=input_names, output_names=output_names,
                  opset_version=opset, dynamo=dynamo,
                  dynamic_axes=axes if dynamic_batch else None)
    if dynamo:
        # weights inside the .onnx file rather than a separate .data file
        # (fine below ONNX's 2 GB limit); no progress printing
        kwargs.update(external_data=False, verbose=False, report=False)
    os.makedirs(os.path.dirname(os.path.abspath(output_file)),
                exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        # the legacy exporter's deprecation and tracer warnings
        warnings.simplefilter('ignore')
        torch.onnx.export(module, args, output_file, **kwargs)
    if simplify:
        simplify_onnx(output_file)
    _write_metadata(output_file, _metadata(model, info, input_names))
    return ExportResult(path=output_file, input_names=input_names,
                        output_names=output_names,
                        exporter='dynamo' if dynamo else 'torchscript',
                        info=info)


__all__ = ['export_onnx', 'ExportResult', 'EXPORTERS']
