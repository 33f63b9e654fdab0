"""RealNVP: the 2-D normalising flow that RLE uses as its learned error
density (Dinh et al., "Density estimation using Real NVP", 2017)."""
import math

import torch
from torch import Tensor, nn


def _scale_net() -> nn.Sequential:
    # Tanh bounds the log-scale so exp(-s) cannot explode early in training.
    return nn.Sequential(nn.Linear(2, 64), nn.LeakyReLU(), nn.Linear(64, 64),
                         nn.LeakyReLU(), nn.Linear(64, 2), nn.Tanh())


def _translation_net() -> nn.Sequential:
    return nn.Sequential(nn.Linear(2, 64), nn.LeakyReLU(), nn.Linear(64, 64),
                         nn.LeakyReLU(), nn.Linear(64, 2))


class RealNVP(nn.Module):
    """Six affine coupling layers on 2-D points with a standard normal
    prior.

    Layer ``i`` keeps the coordinate where ``mask[i]`` is 1 and maps the
    other one ``u`` to ``u * exp(s_i) + t_i``, with ``s_i``/``t_i`` MLPs
    (2-64-64-2, LeakyReLU) of the kept coordinate. The masks alternate
    ``(0, 1)``, ``(1, 0)``. :meth:`log_prob` inverts the layers, so the
    density of a point ``x`` is ``N(z; loc, cov) * |dz/dx|``.

    Parameters and buffers carry the names of MMPose's ``RealNVP``
    (``loc``, ``cov``, ``mask``, ``s.{i}.{0,2,4}``, ``t.{i}.{0,2,4}``), so
    RLE checkpoints load.
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer('loc', torch.zeros(2))
        self.register_buffer('cov', torch.eye(2))
        self.register_buffer(
            'mask', torch.tensor([[0., 1.], [1., 0.]] * 3))
        self.s = nn.ModuleList(_scale_net() for _ in range(len(self.mask)))
        self.t = nn.ModuleList(
            _translation_net() for _ in range(len(self.mask)))
        self.init_weights()

    def init_weights(self) -> None:
        """Near-zero weights (Xavier with gain 0.01): the flow starts
        close to the identity, so the loss starts near the prior's."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight, gain=0.01)

    def backward_p(self, x: Tensor) -> tuple:
        """Map points ``x`` ``(M, 2)`` to the latent space.

        Returns ``(z (M, 2), log|det dz/dx| (M,))``.
        """
        z = x
        log_det = x.new_zeros(x.shape[0])
        for i in reversed(range(len(self.mask))):
            keep = self.mask[i]
            free = 1 - keep
            z_kept = z * keep
            s = self.s[i](z_kept) * free
            t = self.t[i](z_kept) * free
            z = z_kept + free * (z - t) * torch.exp(-s)
            log_det = log_det - s.sum(dim=1)
        return z, log_det

    def prior_log_prob(self, z: Tensor) -> Tensor:
        """Log density of ``z`` ``(M, 2)`` under ``N(loc, cov)`` ``(M,)``."""
        chol = torch.linalg.cholesky(self.cov)
        # Whitened points L^-1 (z - loc), one column per point.
        white = torch.linalg.solve_triangular(chol, (z - self.loc).T,
                                              upper=False)
        half_log_det = chol.diagonal().log().sum()
        return (-0.5 * white.pow(2).sum(dim=0) - half_log_det -
                math.log(2 * math.pi))

    def log_prob(self, x: Tensor) -> Tensor:
        """Log density ``(M,)`` of points ``x`` ``(M, 2)`` under the flow.

        Raises:
            ValueError: ``x`` is not ``(M, 2)``.
        """
        if x.ndim != 2 or x.shape[1] != 2:
            raise ValueError('RealNVP.log_prob expects points of shape '
                             f'(M, 2), got {tuple(x.shape)}')
        z, log_det = self.backward_p(x)
        return self.prior_log_prob(z) + log_det


__all__ = ['RealNVP']
