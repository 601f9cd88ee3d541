"""Small convolution blocks shared by the candidate modules."""
from __future__ import annotations

from torch import Tensor, nn


def conv_bn(c_in: int, c_out: int, kernel: int = 3, stride: int = 1, relu: bool = True) -> nn.Sequential:
    """conv -> BatchNorm (-> ReLU): the unit every multi-scale module is made of."""
    layers: list[nn.Module] = [
        nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(c_out)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class ResidualBlock(nn.Module):
    """conv-BN-ReLU-conv-BN plus the input, then ReLU (the 'basic block' of ResNet/HRNet)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(conv_bn(width, width), conv_bn(width, width, relu=False))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(x + self.body(x))
