"""A backbone defined outside posekit, imported by the config through
custom_imports, trains through tools/train.py with the head's in_channels
left to the model check."""
import sys
import textwrap

from posekit.apis.training import load_config
from posekit.utils.checkpoint import safe_load

MODULE = 'posekit_test_user_backbone'

SOURCE = '''
import torch.nn as nn

from posekit.models import BaseBackbone
from posekit.registry import MODELS


@MODELS.register_module()
class UserPatchNet(BaseBackbone):
    """One stride-32 patch convolution: (B, 3, H, W) -> (B, width, H/32,
    W/32)."""

    def __init__(self, width=12, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.patch = nn.Conv2d(3, width, kernel_size=32, stride=32)
        self.norm = nn.BatchNorm2d(width)

    def forward(self, x):
        return (self.norm(self.patch(x)).relu(), )
'''


def test_custom_backbone_via_custom_imports(tmp_path, monkeypatch, tool,
                                            tiny_options, quickstart_config):
    (tmp_path / f'{MODULE}.py').write_text(textwrap.dedent(SOURCE))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, MODULE, raising=False)

    cfg = load_config(str(quickstart_config),
                      tiny_options(tmp_path / 'data', epochs=1))
    cfg.custom_imports = dict(imports=[MODULE], allow_failed_imports=False)
    cfg.model.backbone = dict(type='UserPatchNet', width=12)
    cfg.model.head.in_channels = 'auto'
    path = tmp_path / 'user_config.py'
    cfg.dump(str(path))

    work = tmp_path / 'work'
    tool('train').main([str(path), '--work-dir', str(work)])
    ckpt = safe_load(str(work / 'epoch_1.pth'))
    assert ckpt['meta']['iter'] >= 2
    weights = ckpt['state_dict']
    assert tuple(weights['backbone.patch.weight'].shape) == (12, 3, 32, 32)
    # 'auto' became the backbone's 12 output channels
    assert tuple(weights['head.deconv_layers.0.weight'].shape) == (12, 8, 4,
                                                                   4)
    assert MODULE in sys.modules
