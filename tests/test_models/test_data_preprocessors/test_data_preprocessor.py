import pytest
import torch
from torch import nn

from posekit.registry import MODELS
from posekit.structures import PoseDataSample


@MODELS.register_module(name='_TestAddOne', force=True)
class AddOne(nn.Module):

    def forward(self, inputs, data_samples):
        return inputs + 1, data_samples


def build(**kwargs):
    return MODELS.build(dict(type='PoseDataPreprocessor', **kwargs))


def test_normalises_and_swaps_channels():
    pre = build(mean=[10., 20., 30.], std=[1., 2., 5.], bgr_to_rgb=True)
    img = torch.zeros(3, 2, 2, dtype=torch.uint8)
    img[0], img[1], img[2] = 100, 60, 40  # B, G, R
    out = pre(dict(inputs=[img, img.clone()],
                   data_samples=[PoseDataSample(), PoseDataSample()]))
    x = out['inputs']
    assert x.dtype == torch.float32 and tuple(x.shape) == (2, 3, 2, 2)
    # RGB order after the swap: (40 - 10) / 1, (60 - 20) / 2, (100 - 30) / 5
    assert x[1, :, 0, 0].tolist() == [30., 20., 14.]


def test_pads_to_divisor_and_records_shapes():
    pre = build(pad_size_divisor=8, pad_value=-1)
    samples = [PoseDataSample(), PoseDataSample()]
    out = pre(dict(inputs=[torch.ones(3, 4, 6, dtype=torch.uint8),
                           torch.ones(3, 9, 6, dtype=torch.uint8)],
                   data_samples=samples))
    assert tuple(out['inputs'].shape) == (2, 3, 16, 8)
    assert out['inputs'][0, 0, 4, 0].item() == -1.
    assert out['inputs'][0, 0, 3, 5].item() == 1.
    samples = out['data_samples']
    assert samples[0].batch_input_shape == (16, 8)
    assert samples[0].pad_shape == (8, 8)
    assert samples[1].pad_shape == (16, 8)


def test_batch_augments_run_only_in_training():
    pre = build(batch_augments=[dict(type='_TestAddOne')])
    data = dict(inputs=[torch.zeros(3, 2, 2, dtype=torch.uint8)],
                data_samples=[PoseDataSample()])
    assert pre(dict(data), training=False)['inputs'].sum().item() == 0
    assert pre(dict(data), training=True)['inputs'].sum().item() == 12


def test_missing_inputs_key():
    with pytest.raises(KeyError, match="data\\['inputs'\\]"):
        build()(dict(data_samples=[]))


def test_multiscale_inputs_are_batched_per_scale():
    from mmengine.dataset import pseudo_collate
    pre = build(mean=[1., 1., 1.], std=[2., 2., 2.])
    items = []
    for value in (3, 5):
        base = torch.full((3, 4, 6), value, dtype=torch.uint8)
        large = torch.full((3, 8, 12), value, dtype=torch.uint8)
        items.append(dict(inputs=[base, large],
                          data_samples=PoseDataSample()))
    out = pre(pseudo_collate(items))
    inputs = out['inputs']
    assert isinstance(inputs, list) and len(inputs) == 2
    assert tuple(inputs[0].shape) == (2, 3, 4, 6)
    assert tuple(inputs[1].shape) == (2, 3, 8, 12)
    # (5 - 1) / 2 for the second sample at both scales
    assert inputs[1][1, 0, 0, 0].item() == 2.
    assert inputs[0][0, 0, 0, 0].item() == 1.
    assert out['data_samples'][0].batch_input_shape == (4, 6)


def test_multiscale_batches_and_errors():
    pre = build()
    batches = [torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 8, 8)]
    out = pre(dict(inputs=batches, data_samples=[PoseDataSample()]))
    assert [tuple(x.shape) for x in out['inputs']] == [(1, 3, 4, 4),
                                                       (1, 3, 8, 8)]
    with pytest.raises(ValueError, match='for testing only'):
        pre(dict(inputs=batches, data_samples=[PoseDataSample()]),
            training=True)
    img = torch.zeros(3, 2, 2)
    with pytest.raises(ValueError, match=r'hold \[1, 2\] images'):
        pre(dict(inputs=[[img, img], [img]], data_samples=None))
