"""tools/analysis/print_config.py: the merged config, overrides applied."""
import pytest
from mmengine.config import Config


def test_prints_merged_config_with_override(tool, quickstart_config,
                                            capsys, tmp_path):
    print_config = tool('analysis/print_config')
    text = print_config.main([str(quickstart_config), '--cfg-options',
                              'train_cfg.max_epochs=7',
                              'model.backbone.depth=34'])
    out = capsys.readouterr().out
    # the override, and a key that only the _base_ file sets
    assert 'max_epochs=7' in out and 'max_epochs=5' not in out
    assert "default_scope = 'posekit'" in out
    # the printed text is a config that reads back to the same values
    path = tmp_path / 'merged.py'
    path.write_text(text)
    merged = Config.fromfile(str(path))
    assert merged.train_cfg.max_epochs == 7
    assert merged.model.backbone.depth == 34
    assert merged.default_hooks.timer.type == 'IterTimerHook'
    assert merged.val_dataloader.batch_size == 64


def test_missing_file_and_bad_override(tool, quickstart_config, tmp_path):
    print_config = tool('analysis/print_config')
    missing = tmp_path / 'nope.py'
    with pytest.raises(SystemExit,
                       match=f'config file {missing} does not exist'):
        print_config.main([str(missing)])
    with pytest.raises(SystemExit, match="expects KEY=VALUE, got 'depth'"):
        print_config.main([str(quickstart_config), '--cfg-options',
                           'depth'])
