"""Mix Transformer (MiT), the encoder of SegFormer (Xie et al., 2021).

Four stages, each an overlapping patch embedding (strided conv + LN),
transformer layers whose attention shrinks keys/values with a strided
conv ("spatial reduction"), and a Mix-FFN with a depthwise 3x3 conv in
place of position embeddings, then an LN. Parameter names follow MMSeg's
``MixVisionTransformer`` (``layers.{i}.0.projection``,
``layers.{i}.1.{j}.attn.attn.in_proj_weight``, ``...ffn.layers.{0,1,4}``,
``layers.{i}.2``), so SegFormer checkpoints trained with MMSeg load.
"""
from typing import Sequence, Tuple

from mmcv.cnn.bricks.drop import DropPath
from torch import Tensor, nn

from posekit.registry import MODELS
from posekit.utils.typing import OptMultiConfig
from ...backbones.base_backbone import BaseBackbone

# variant -> num_layers per stage (every other setting is shared)
MIT_ARCHS = {'mit-b0': (2, 2, 2, 2), 'mit-b1': (2, 2, 2, 2),
             'mit-b2': (3, 4, 6, 3), 'mit-b3': (3, 4, 18, 3),
             'mit-b4': (3, 8, 27, 3), 'mit-b5': (3, 6, 40, 3)}
# b0 is the only variant with narrower stages
MIT_EMBED_DIMS = {'mit-b0': 32}


def _to_tokens(x: Tensor) -> Tensor:
    """``(B, C, H, W) -> (B, H*W, C)``."""
    return x.flatten(2).transpose(1, 2)


def _to_map(x: Tensor, hw: Tuple[int, int]) -> Tensor:
    """``(B, H*W, C) -> (B, C, H, W)``."""
    return x.transpose(1, 2).reshape(x.shape[0], -1, hw[0], hw[1])


class OverlapPatchEmbed(nn.Module):
    """Conv(kernel, stride, padding=kernel // 2) + LN; returns tokens
    ``(B, h*w, C)`` and ``(h, w)``."""

    def __init__(self, in_channels: int, embed_dims: int, kernel_size: int,
                 stride: int, eps: float = 1e-6):
        super().__init__()
        self.projection = nn.Conv2d(in_channels, embed_dims, kernel_size,
                                    stride=stride, padding=kernel_size // 2)
        self.norm = nn.LayerNorm(embed_dims, eps=eps)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tuple[int, int]]:
        x = self.projection(x)
        return self.norm(_to_tokens(x)), (x.shape[2], x.shape[3])


class EfficientMultiheadAttention(nn.Module):
    """Multi-head attention whose keys/values come from the token map
    shrunk by ``sr_ratio`` (strided conv + LN); tokens in and out
    ``(B, N, C)``."""

    def __init__(self, embed_dims: int, num_heads: int, sr_ratio: int = 1,
                 qkv_bias: bool = True, attn_drop: float = 0.,
                 eps: float = 1e-6):
        super().__init__()
        self.attn = nn.MultiheadAttention(embed_dims, num_heads,
                                          dropout=attn_drop, bias=qkv_bias,
                                          batch_first=True)
        self.sr_ratio = sr_ratio
        if sr_ratio > 1:
            self.sr = nn.Conv2d(embed_dims, embed_dims, sr_ratio,
                                stride=sr_ratio)
            self.norm = nn.LayerNorm(embed_dims, eps=eps)

    def forward(self, x: Tensor, hw: Tuple[int, int]) -> Tensor:
        kv = x
        if self.sr_ratio > 1:
            kv = self.norm(_to_tokens(self.sr(_to_map(x, hw))))
        return self.attn(x, kv, kv, need_weights=False)[0]


class MixFFN(nn.Module):
    """1x1 conv (C -> hidden), depthwise 3x3 conv, GELU, dropout, 1x1 conv
    (hidden -> C), dropout; tokens in and out ``(B, N, C)``."""

    def __init__(self, embed_dims: int, hidden: int, drop: float = 0.):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(embed_dims, hidden, 1),
            nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden),
            nn.GELU(), nn.Dropout(drop), nn.Conv2d(hidden, embed_dims, 1),
            nn.Dropout(drop))

    def forward(self, x: Tensor, hw: Tuple[int, int]) -> Tensor:
        return _to_tokens(self.layers(_to_map(x, hw)))


class MiTLayer(nn.Module):
    """Pre-norm transformer layer: ``x + attn(norm1(x))``, then
    ``x + ffn(norm2(x))``, each branch with drop-path."""

    def __init__(self, embed_dims: int, num_heads: int, mlp_ratio: int,
                 sr_ratio: int, qkv_bias: bool, drop_rate: float,
                 attn_drop_rate: float, drop_path_rate: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(embed_dims, eps=1e-6)
        self.attn = EfficientMultiheadAttention(
            embed_dims, num_heads, sr_ratio, qkv_bias, attn_drop_rate)
        self.norm2 = nn.LayerNorm(embed_dims, eps=1e-6)
        self.ffn = MixFFN(embed_dims, mlp_ratio * embed_dims, drop_rate)
        self.drop = nn.Dropout(drop_rate)
        self.drop_path = DropPath(drop_path_rate) \
            if drop_path_rate > 0 else nn.Identity()

    def forward(self, x: Tensor, hw: Tuple[int, int]) -> Tensor:
        x = x + self.drop_path(self.drop(self.attn(self.norm1(x), hw)))
        return x + self.drop_path(self.ffn(self.norm2(x), hw))


@MODELS.register_module()
class MixVisionTransformer(BaseBackbone):
    """SegFormer's MiT encoder: ``(B, in_channels, H, W)`` -> the stage
    outputs named by ``out_indices``, stage i having ``embed_dims *
    num_heads[i]`` channels at stride ``prod(strides[:i + 1])`` (MiT-B2/B3:
    64, 128, 320, 512 channels at 1/4, 1/8, 1/16, 1/32).

    Args (MMSeg's names and defaults):
        in_channels: input channels.
        embed_dims: base width; stage i is ``embed_dims * num_heads[i]``.
        num_stages: number of stages.
        num_layers: transformer layers per stage (B2: 3, 4, 6, 3; B3: 3,
            4, 18, 3).
        num_heads: attention heads per stage.
        patch_sizes / strides: patch-embedding conv kernel and stride per
            stage.
        sr_ratios: key/value spatial-reduction ratio per stage.
        out_indices: stages whose outputs are returned.
        mlp_ratio: Mix-FFN hidden width over the stage width.
        qkv_bias: biases in the query/key/value projection.
        drop_rate / attn_drop_rate: dropout after attention and in the FFN
            / on the attention weights.
        drop_path_rate: stochastic depth, rising linearly over all layers
            from 0 to this value.
        init_cfg: mmengine initialisation config.

    Raises:
        ValueError: per-stage lists whose lengths differ from
            ``num_stages``, or ``out_indices`` outside the stages.
    """

    def __init__(self, in_channels: int = 3, embed_dims: int = 64,
                 num_stages: int = 4,
                 num_layers: Sequence[int] = (3, 4, 6, 3),
                 num_heads: Sequence[int] = (1, 2, 4, 8),
                 patch_sizes: Sequence[int] = (7, 3, 3, 3),
                 strides: Sequence[int] = (4, 2, 2, 2),
                 sr_ratios: Sequence[int] = (8, 4, 2, 1),
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 mlp_ratio: int = 4, qkv_bias: bool = True,
                 drop_rate: float = 0., attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0., init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        per_stage = dict(num_layers=num_layers, num_heads=num_heads,
                         patch_sizes=patch_sizes, strides=strides,
                         sr_ratios=sr_ratios)
        bad = {k: len(v) for k, v in per_stage.items()
               if len(v) != num_stages}
        if bad:
            raise ValueError(f'MixVisionTransformer has num_stages='
                             f'{num_stages} but these lists have other '
                             f'lengths: {bad}')
        if not out_indices or any(i not in range(num_stages)
                                  for i in out_indices):
            raise ValueError(f'out_indices {tuple(out_indices)} must be '
                             f'stages in 0..{num_stages - 1}')
        self.out_indices = tuple(out_indices)
        self.out_channels = tuple(embed_dims * h for h in num_heads)
        total = sum(num_layers)
        # python floats: works on the meta device too
        rates = [drop_path_rate * j / max(total - 1, 1) for j in range(total)]
        self.layers = nn.ModuleList()
        first = 0
        for i, depth in enumerate(num_layers):
            dims = self.out_channels[i]
            blocks = nn.ModuleList(
                MiTLayer(dims, num_heads[i], mlp_ratio, sr_ratios[i],
                         qkv_bias, drop_rate, attn_drop_rate, rates[first + j])
                for j in range(depth))
            self.layers.append(nn.ModuleList([
                OverlapPatchEmbed(in_channels, dims, patch_sizes[i],
                                  strides[i]),
                blocks, nn.LayerNorm(dims, eps=1e-6)]))
            in_channels = dims
            first += depth

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Stage outputs ``(B, C_i, H_i, W_i)`` for ``out_indices``."""
        outs = []
        for i, (embed, blocks, norm) in enumerate(self.layers):
            x, hw = embed(x)
            for block in blocks:
                x = block(x, hw)
            x = _to_map(norm(x), hw)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)


def build_mit(arch: str, **kwargs) -> MixVisionTransformer:
    """The SegFormer encoder ``arch`` ('mit-b0'..'mit-b5'); ``kwargs``
    override the shared settings.

    Raises:
        ValueError: unknown ``arch``.
    """
    if arch not in MIT_ARCHS:
        raise ValueError(f'unknown MiT arch {arch!r}; valid: '
                         f'{sorted(MIT_ARCHS)}')
    cfg = dict(embed_dims=MIT_EMBED_DIMS.get(arch, 64),
               num_layers=MIT_ARCHS[arch], num_heads=(1, 2, 5, 8))
    cfg.update(kwargs)
    return MixVisionTransformer(**cfg)
