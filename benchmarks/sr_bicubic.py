"""The bicubic rows of the SR tables, and how exactly clearer's imresize reproduces the benchmarks' LR files.

For each scale and set it prints: how many LR pixels our MATLAB-compatible downscale of the HR files gets
wrong and by how much (Set5/Set14, against the released LR files), and the Y-PSNR/SSIM (`sr` protocol) of
bicubic upsampling of the LR inputs (Set5/Set14: their LR files; BSD100: LR made by our downscale),
beside torch's bicubic for contrast. Needs CLEARER_DATA; a few seconds per scale.

    python benchmarks/sr_bicubic.py
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from clearer.data.bicubic import imresize
from clearer.data.super_resolution import bicubic, bsd100, set5, set14
from clearer.metrics import get_protocol, quantize8


def main() -> None:
    print(
        "| scale | set | LR pixels differing (max, grey levels) | bicubic Y-PSNR | bicubic Y-SSIM | torch bicubic Y-PSNR |"
    )
    print("|---:|---|---|---:|---:|---:|")
    for scale in (2, 3, 4):
        protocol = get_protocol("sr").at_scale(scale)
        for name, pairs in (("Set5", set5(scale=scale)), ("Set14", set14(scale=scale)), ("BSD100", None)):
            if pairs is not None:
                loaded = pairs.load(3)
                wrong = [imresize(hr.double(), 1 / scale, quantize=True).float() - lr for lr, hr in loaded]
                differing = sum(int((w.abs() > 0.5 / 255).sum()) for w in wrong)
                total = sum(w.numel() for w in wrong)
                worst = max(float(w.abs().max()) * 255 for w in wrong)
                match = f"{differing} of {total} ({worst:.0f})"
            else:
                down = bicubic(scale=scale)
                loaded = [(down(protocol.prepare(hr)), protocol.prepare(hr)) for hr in bsd100().load(3)]
                match = "(made by imresize)"
            ours, theirs = [], []
            for lr, hr in loaded:
                ours.append(protocol.measure(imresize(lr, scale, quantize=True), hr, color="y"))
                up = F.interpolate(lr[None], scale_factor=scale, mode="bicubic")[0]
                theirs.append(protocol.measure(quantize8(up), hr, color="y"))
            psnr = np.mean([m["psnr"] for m in ours])
            ssim = np.mean([m["ssim"] for m in ours])
            torch_psnr = np.mean([m["psnr"] for m in theirs])
            print(f"| ×{scale} | {name} | {match} | {psnr:.2f} | {ssim:.4f} | {torch_psnr:.2f} |")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
