"""Register your own candidate module in a recipe and search over it beside CLEARER's two.

`dilated_parallel` is a parallel module whose residual blocks use dilated 3x3 convolutions (a larger
receptive field at the same cost). It follows `clearer.contracts.Candidate`, the contract of the
`clearer` space: built from the list of branch widths, it maps a list of branch tensors to a list of the
same shapes.
"""

from torch import nn

from clearer import CANDIDATES
from clearer.recipe import derive

from bsd import PROFILES, RECIPE


@CANDIDATES.register("dilated_parallel")
class DilatedParallel(nn.Module):
    """Each branch refines itself with a residual block of dilated (rate 2) 3x3 convolutions."""

    def __init__(self, widths: list[int]) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(w, w, 3, padding=2, dilation=2, bias=False),
                nn.BatchNorm2d(w),
                nn.ReLU(inplace=True),
                nn.Conv2d(w, w, 3, padding=2, dilation=2, bias=False),
                nn.BatchNorm2d(w),
            )
            for w in widths
        )

    def forward(self, xs):
        return [nn.functional.relu(x + block(x)) for block, x in zip(self.blocks, xs)]


RECIPE = derive(
    RECIPE,
    {
        "name": "custom_module",
        "space.candidates": ["parallel", "fusion", "dilated_parallel"],
    },
)
PROFILES = PROFILES
