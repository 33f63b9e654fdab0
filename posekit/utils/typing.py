"""Type aliases shared across posekit."""
from typing import Dict, List, Optional, Tuple, Union

from mmengine.config import ConfigDict
from mmengine.structures import InstanceData, PixelData
from torch import Tensor

ConfigType = Union[ConfigDict, dict]
OptConfigType = Optional[ConfigType]
MultiConfig = Union[ConfigType, List[ConfigType]]
OptMultiConfig = Optional[MultiConfig]

Features = Union[Tuple[Tensor], List[Tuple[Tensor]]]
InstanceList = List[InstanceData]
PixelDataList = List[PixelData]
Predictions = Union[InstanceList, Tuple[InstanceList, PixelDataList]]
ForwardResults = Union[Dict[str, Tensor], list, Tuple[Tensor], Tensor]
SampleList = list
OptSampleList = Optional[list]

__all__ = ['ConfigType', 'OptConfigType', 'MultiConfig', 'OptMultiConfig',
           'Features', 'InstanceList', 'PixelDataList', 'Predictions',
           'ForwardResults', 'SampleList', 'OptSampleList']
