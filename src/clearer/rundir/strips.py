"""Sample strips: input | output | clean side by side, separated, each captioned (e.g. with its PSNR)."""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image, ImageDraw, ImageFont

from ..data.images import to_uint8
from ..writing import write_file

GAP = 6  # pixels of separator between panels
GAP_GRAY = 160  # a mid-light gray: visible against dark and white image borders


def _font(height: int) -> ImageFont.ImageFont:
    """Pillow's bundled font at a size readable on the panel (a bitmap font where FreeType is missing)."""
    try:
        return ImageFont.load_default(size=height)
    except (TypeError, OSError):  # Pillow without FreeType
        return ImageFont.load_default()


def strip_image(panels: list[torch.Tensor], captions: list[str]) -> Image.Image:
    """One picture of [C,H,W] panels in [0,1] side by side, with a caption bar above each panel.

    Why captions on a bar instead of over the image: text over noise is unreadable and hides the
    pixels the strip is meant to show.
    """
    arrays = [to_uint8(p) for p in panels]
    mode = "RGB" if any(a.ndim == 3 for a in arrays) else "L"
    images = [Image.fromarray(a).convert(mode) for a in arrays]
    height = max(im.height for im in images)
    size = max(11, min(24, height // 14))
    bar = size + 8
    width = sum(im.width for im in images) + GAP * (len(images) - 1)
    white, gray = (255, 255, 255) if mode == "RGB" else 255, (GAP_GRAY,) * 3 if mode == "RGB" else GAP_GRAY
    canvas = Image.new(mode, (width, height + bar), gray)
    font, black = _font(size), (0, 0, 0) if mode == "RGB" else 0
    x = 0
    for image, caption in zip(images, captions):
        label = Image.new(mode, (image.width, bar), white)  # its own bar: long text is cut at the panel
        ImageDraw.Draw(label).text((4, 3), caption, fill=black, font=font)
        canvas.paste(label, (x, 0))
        canvas.paste(image, (x, bar))
        x += image.width + GAP
    return canvas


def save_strip(path: Path, panels: list[torch.Tensor], captions: list[str]) -> Path:
    """Write a captioned strip as PNG (atomically); returns the path."""
    image = strip_image(panels, captions)
    return write_file(path, lambda tmp: image.save(tmp, format="PNG"))
