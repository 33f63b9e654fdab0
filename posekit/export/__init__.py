"""ONNX export of posekit models, optionally with the post-processing
(flip test, decoding, mapping to image pixels) inside the graph."""
from .config_info import TopdownExportInfo, topdown_export_info
from .graphs import (SUPPORTED, RawExportModel, TopdownDecodeModel,
                     UnsupportedModelError, check_decode_supported)
from .onnx_export import EXPORTERS, ExportResult, export_onnx
from .runtime import onnx_session, run_onnx, simplify_onnx
from .verify import verify_decode, verify_raw

__all__ = ['export_onnx', 'ExportResult', 'EXPORTERS', 'onnx_session',
           'run_onnx', 'simplify_onnx', 'RawExportModel',
           'TopdownDecodeModel', 'UnsupportedModelError',
           'check_decode_supported', 'SUPPORTED', 'TopdownExportInfo',
           'topdown_export_info', 'verify_decode', 'verify_raw']
