from .amp_optim_wrapper import AmpOptimWrapper
from .exp_momentum_ema import ExpMomentumEMA
from .layer_decay_constructor import (LayerDecayOptimWrapperConstructor,
                                      backbone_layer_ids)

__all__ = ['AmpOptimWrapper', 'ExpMomentumEMA',
           'LayerDecayOptimWrapperConstructor', 'backbone_layer_ids']
