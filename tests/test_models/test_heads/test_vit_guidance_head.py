import pytest
import torch

from posekit.models.heads.guidance import MixVisionTransformer
from posekit.models.heads.guidance import vit_guidance_head as vgh
from posekit.registry import MODELS

C = 8  # student base_channels: x_out 32 ch, x5 64 ch, x3 32 ch


def n_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.fixture
def tiny_teacher(monkeypatch):
    """Replace the MiT teacher by a one-layer-per-stage, narrow one (8, 16,
    40, 64 channels) so checkpoint files stay small."""
    def build(arch, **kwargs):
        return MixVisionTransformer(embed_dims=8, num_layers=(1, 1, 1, 1),
                                    num_heads=(1, 2, 5, 8))
    monkeypatch.setattr(vgh, 'build_mit', build)


def guidance_head(**kwargs):
    cfg = dict(type='VitGuidanceHead', base_channels=C, num_classes=5,
               teacher_arch='mit-b2')
    cfg.update(kwargs)
    return MODELS.build(cfg)


def student_feats(batch=2, size=64):
    """SCTNet-like (x3, x5, x_out) for a ``size`` input."""
    s = size
    return (torch.rand(batch, 4 * C, s // 16, s // 16, requires_grad=True),
            torch.rand(batch, 8 * C, s // 32, s // 32, requires_grad=True),
            torch.rand(batch, 4 * C, s // 8, s // 8, requires_grad=True))


def test_published_teacher_and_adapter_sizes():
    with torch.device('meta'):
        small = MODELS.build(dict(type='VitGuidanceHead', base_channels=32,
                                  num_classes=150))
        base = MODELS.build(dict(type='VitGuidanceHead', base_channels=64,
                                 num_classes=19))
    assert small.teacher_arch == 'mit-b2'
    assert n_params(small.teacher_backbone) == 24_196_288
    assert base.teacher_arch == 'mit-b3'
    assert n_params(base.teacher_backbone) == 44_072_128
    # four 1x1 projections + fusion (no conv bias, BN) + classifier
    seg_150 = 1024 * 256 + 4 * 512 + 1024 * 256 + 512 + 256 * 150 + 150
    assert n_params(small.teacher_head) == seg_150
    assert n_params(base.teacher_head) == seg_150 - 256 * 131 - 131
    assert n_params(base.feature_transforms) == 256 * 1024 + 1024
    assert n_params(base.convstage4) == 512 * 512 + 512
    assert n_params(base.convstage3) == 256 * 320 + 320


def test_teacher_is_frozen_in_eval_and_gets_no_gradient(tiny_teacher):
    head = guidance_head()
    head.train()
    assert not head.teacher_backbone.training
    assert not head.teacher_head.training
    assert head.feature_transforms.training
    assert all(not p.requires_grad for p in head.teacher_backbone.parameters())
    feats = student_feats()
    losses = head.loss(feats, [None, None], inputs=torch.rand(2, 3, 64, 64))
    assert set(losses) == {'loss_guidance'}
    assert losses['loss_guidance'].ndim == 0
    losses['loss_guidance'].backward()
    teacher = list(head.teacher_backbone.parameters()) + \
        list(head.teacher_head.parameters())
    assert all(p.grad is None for p in teacher)
    # the student side learns, also through the teacher's fusion conv
    assert head.feature_transforms.weight.grad.abs().sum() > 0
    assert head.convstage4.weight.grad.abs().sum() > 0
    assert all(f.grad is not None and f.grad.abs().sum() > 0 for f in feats)


def test_forward_pairs_shapes(tiny_teacher):
    head = guidance_head().train()
    teacher, student = head(student_feats(), torch.rand(2, 3, 64, 64))
    # logits and fused feature at 1/4, stage 4 at 1/32, stage 3 at 1/16
    assert [tuple(t.shape) for t in teacher] == [
        (2, 5, 16, 16), (2, 256, 16, 16), (2, 64, 2, 2), (2, 40, 4, 4)]
    assert [tuple(s.shape) for s in student] == [
        tuple(t.shape) for t in teacher]


def test_loss_needs_inputs_and_matching_features(tiny_teacher):
    head = guidance_head()
    with pytest.raises(ValueError, match='needs the input batch'):
        head.loss(student_feats(), [None, None])
    x3, x5, x_out = student_feats()
    with pytest.raises(ValueError, match=r'x_out \(feats\[-1\]\) with 32 '
                       'channels.*check in_index'):
        head.loss((x3, x5, x5), [None], inputs=torch.rand(2, 3, 64, 64))
    with pytest.raises(ValueError, match='points past the 2'):
        head.loss((x5, x_out), [None], inputs=torch.rand(2, 3, 64, 64))


def test_match_channel_stats():
    torch.manual_seed(0)
    student = torch.randn(2, 3, 4, 4) * 5 + 1
    teacher = torch.randn(2, 3, 4, 4) * torch.tensor([1., 2., 3.]).view(
        1, 3, 1, 1) + torch.tensor([-1., 0., 4.]).view(1, 3, 1, 1)
    out = vgh.match_channel_stats(student, teacher)
    dims = (0, 2, 3)
    torch.testing.assert_close(out.mean(dims), teacher.mean(dims))
    torch.testing.assert_close(out.std(dims), teacher.std(dims),
                               rtol=1e-4, atol=1e-4)


def save_teacher(head, path, layout):
    enc = head.teacher_backbone.state_dict()
    dec = head.teacher_head.state_dict()
    if layout == 'sctnet':
        state = {f'auxiliary_head.1.teacher_backbone.{k}': v
                 for k, v in enc.items()}
        state.update({f'auxiliary_head.1.teacher_head.{k}': v
                      for k, v in dec.items()})
        state['backbone.conv1.0.weight'] = torch.zeros(1)  # the student
    else:  # MMSeg SegFormer
        state = {f'backbone.{k}': v for k, v in enc.items()}
        state.update({f'decode_head.{k}': v for k, v in dec.items()})
    torch.save(dict(meta=dict(epoch=1), state_dict=state), path)


@pytest.mark.parametrize('layout', ['sctnet', 'mmseg'])
def test_teacher_checkpoint_layouts_load(tiny_teacher, tmp_path, layout):
    torch.manual_seed(1)
    source = guidance_head()
    path = tmp_path / 'teacher.pth'
    save_teacher(source, path, layout)
    torch.manual_seed(2)
    head = guidance_head(teacher_checkpoint=str(path))
    for a, b in zip(source.teacher_backbone.state_dict().values(),
                    head.teacher_backbone.state_dict().values()):
        assert torch.equal(a, b)
    assert torch.equal(source.teacher_head.conv_seg.weight,
                       head.teacher_head.conv_seg.weight)
    # an init_cfg that re-initialises convs does not clobber the teacher
    head = guidance_head(teacher_checkpoint=str(path),
                         init_cfg=dict(type='Constant', layer='Conv2d',
                                       val=0.5))
    head.init_weights()
    assert torch.equal(head.teacher_head.conv_seg.weight,
                       source.teacher_head.conv_seg.weight)
    assert torch.all(head.feature_transforms.weight == 0.5)
    assert not head.teacher_head.conv_seg.weight.requires_grad


def test_teacher_checkpoint_errors(tiny_teacher, tmp_path):
    missing = tmp_path / 'nope.pth'
    with pytest.raises(FileNotFoundError, match='teacher_checkpoint .*nope'):
        guidance_head(teacher_checkpoint=str(missing))
    path = tmp_path / 'teacher.pth'
    save_teacher(guidance_head(), path, 'mmseg')
    with pytest.raises(ValueError, match=r'conv_seg.weight: file \(5, 256, '
                       r'1, 1\) vs model \(7, 256, 1, 1\).*num_classes'):
        guidance_head(teacher_checkpoint=str(path), num_classes=7)
    torch.save({'head.w': torch.zeros(1)}, tmp_path / 'other.pth')
    with pytest.raises(KeyError, match="no teacher weights.*'backbone."):
        guidance_head(teacher_checkpoint=str(tmp_path / 'other.pth'))


def test_bad_configs_are_named():
    with pytest.raises(ValueError, match='teacher_checkpoint='):
        guidance_head(init_cfg=dict(type='Pretrained', checkpoint='t.pth'))
    with pytest.raises(ValueError, match="one of \\('mit-b2', 'mit-b3'\\)"):
        guidance_head(teacher_arch='mit-b9')
    with pytest.raises(ValueError, match='no default teacher for '
                       'base_channels=8'):
        guidance_head(teacher_arch=None)
    with pytest.raises(RuntimeError, match='training-only'):
        with torch.device('meta'):
            guidance_head().predict()
