import pytest
import torch.nn as nn

from posekit.registry import (KEYPOINT_CODECS, MODELS, ConfigBuildError,
                              build_from_cfg)


@MODELS.register_module()
class _RegTestOuter(nn.Module):

    def __init__(self, backbone, heads=()):
        super().__init__()
        self.backbone = MODELS.build(backbone)
        self.heads = nn.ModuleList(MODELS.build(h) for h in heads)


@MODELS.register_module()
class _RegTestLeaf(nn.Module):

    def __init__(self, width=1):
        super().__init__()
        self.width = width


def test_nested_build_succeeds():
    model = MODELS.build(dict(type='_RegTestOuter',
                              backbone=dict(type='_RegTestLeaf', width=3)))
    assert model.backbone.width == 3


def test_unknown_nested_type_names_key_registry_and_close_names():
    with pytest.raises(ConfigBuildError) as info:
        MODELS.build(dict(type='_RegTestOuter',
                          backbone=dict(type='_RegTestLeef')))
    msg = str(info.value)
    assert msg.startswith('model.backbone.type: unknown type '
                          "'_RegTestLeef'")
    assert 'posekit::model registry' in msg
    assert "Did you mean '_RegTestLeaf'" in msg
    assert info.value.key_path == 'model.backbone.type'


def test_unknown_type_inside_a_list_gets_its_index():
    with pytest.raises(ConfigBuildError) as info:
        MODELS.build(dict(type='_RegTestOuter',
                          backbone=dict(type='_RegTestLeaf'),
                          heads=[dict(type='_RegTestLeaf'),
                                 dict(type='NoSuchHead')]))
    assert str(info.value).startswith('model.heads[1].type: unknown type')


def test_missing_type_names_the_key():
    with pytest.raises(ConfigBuildError) as info:
        MODELS.build(dict(type='_RegTestOuter', backbone=dict(width=2)))
    assert str(info.value).startswith("model.backbone: missing key 'type'")


def test_error_is_still_a_key_error_and_non_dict_is_type_error():
    with pytest.raises(KeyError):
        KEYPOINT_CODECS.build(dict(type='NotACodec'))
    with pytest.raises(TypeError, match='builds from a dict'):
        build_from_cfg(['type', 'x'], MODELS)
