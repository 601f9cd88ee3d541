"""BatchNorm whose batch statistics span all processes, on any device (torch's SyncBatchNorm is GPU-only).

With it, N processes of batch B compute what one process of batch N·B computes, so data-parallel runs
match single-process runs up to floating-point rounding.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_fn
from torch import Tensor, nn


class GlobalBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d with mean/variance all-reduced over the default process group in training."""

    def forward(self, x: Tensor) -> Tensor:
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        xf = x.float()
        count = torch.tensor([xf.numel() / xf.shape[1]], device=x.device)
        local = torch.cat([xf.sum((0, 2, 3)), (xf * xf).sum((0, 2, 3)), count])
        total = dist_fn.all_reduce(local)  # differentiable: gradients flow back to every process
        c = x.shape[1]
        n = total[-1]
        mean = total[:c] / n
        var = (total[c : 2 * c] / n - mean * mean).clamp_min(0)
        with torch.no_grad():
            self.num_batches_tracked += 1
            m = self.momentum
            self.running_mean.mul_(1 - m).add_(m * mean.detach())
            self.running_var.mul_(1 - m).add_(m * var.detach() * n / (n - 1))
        y = (xf - mean[None, :, None, None]) * torch.rsqrt(var + self.eps)[None, :, None, None]
        if self.affine:
            y = y * self.weight[None, :, None, None] + self.bias[None, :, None, None]
        return y.to(x.dtype)


def globalize_batchnorm(model: nn.Module) -> nn.Module:
    """Swap every BatchNorm2d in `model` (in place) for GlobalBatchNorm2d, keeping parameters/buffers."""
    for name, child in model.named_children():
        if type(child) is nn.BatchNorm2d:
            new = GlobalBatchNorm2d(
                child.num_features, child.eps, child.momentum, child.affine, child.track_running_stats
            )
            new.load_state_dict(child.state_dict())
            setattr(model, name, new.to(next(child.buffers()).device))
        else:
            globalize_batchnorm(child)
    return model
