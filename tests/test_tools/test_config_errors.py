"""A wrong config stops tools/train.py with a message naming the key."""
import pytest

from posekit.registry import ConfigBuildError


def test_unknown_backbone_type_names_key_and_suggestion(
        tmp_path, tool, tiny_options, quickstart_config):
    train = tool('train')
    opts = tiny_options(tmp_path / 'data', epochs=1)
    with pytest.raises(ConfigBuildError) as info:
        train.main([str(quickstart_config), '--work-dir',
                    str(tmp_path / 'w'), '--cfg-options'] + opts +
                   ['model.backbone.type=ResNett'])
    msg = str(info.value)
    assert msg.startswith("model.backbone.type: unknown type 'ResNett'")
    assert 'posekit::model' in msg and "'ResNet'" in msg


def test_unknown_transform_names_pipeline_index(tmp_path, tool, tiny_options,
                                                quickstart_config):
    train = tool('train')
    opts = tiny_options(tmp_path / 'data', epochs=1)
    with pytest.raises(ConfigBuildError) as info:
        train.main([str(quickstart_config), '--work-dir',
                    str(tmp_path / 'w'), '--cfg-options'] + opts +
                   ['train_dataloader.dataset.pipeline.1.type=GetBBoxCentre'])
    msg = str(info.value)
    assert 'pipeline[1].type' in msg
    assert "'GetBBoxCenterScale'" in msg


def test_missing_config_file_is_named(tmp_path, tool):
    with pytest.raises(FileNotFoundError, match='nope.py'):
        tool('train').main([str(tmp_path / 'nope.py')])
