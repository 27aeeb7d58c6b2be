"""Text on frames and the side-by-side layout, drawn with Pillow (a matplotlib dependency).

Text sits on a dark box so it stays readable on the bright floor and sky; the font scales with
the frame height so a 64x48 test video and a 640x480 one both get legible captions. Panels keep
their size: a video of K panels is exactly K * width pixels wide.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

WHITE = (255, 255, 255)
YELLOW = (255, 220, 60)


@lru_cache(maxsize=8)
def font(size: int) -> Any:
    """Pillow's bundled scalable font (a bitmap font where FreeType is missing)."""
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ImportError, OSError):  # old Pillow or no FreeType
        return ImageFont.load_default()


def font_size(height: int) -> int:
    return max(8, height // 22)


def draw_lines(
    frame: np.ndarray, lines: list[str], top: bool = True, color: tuple[int, int, int] = WHITE
) -> np.ndarray:
    """Write `lines` at the top-left (or bottom-left) corner of an RGB frame; returns a new one."""
    from PIL import Image, ImageDraw

    lines = [line for line in lines if line]
    if not lines:
        return frame
    image = Image.fromarray(frame)
    draw = ImageDraw.Draw(image, "RGBA")
    face = font(font_size(frame.shape[0]))
    pad = max(1, frame.shape[0] // 80)
    line_h = int(face.getbbox("Ag")[3]) + pad
    block_w = max(int(draw.textlength(line, font=face)) for line in lines) + 2 * pad
    block_h = line_h * len(lines) + pad
    y0 = 0 if top else frame.shape[0] - block_h
    draw.rectangle((0, y0, block_w, y0 + block_h), fill=(0, 0, 0, 150))
    for i, line in enumerate(lines):
        draw.text((pad, y0 + pad + i * line_h), line, font=face, fill=color)
    return np.asarray(image)


def dim(frame: np.ndarray) -> np.ndarray:
    """A darkened copy: the panel's episode has ended (fell over or ran out of steps)."""
    return (frame.astype(np.uint16) * 2 // 5).astype(np.uint8)


def side_by_side(frames: list[np.ndarray]) -> np.ndarray:
    """Panels left to right, best lineage first."""
    return np.concatenate(frames, axis=1)
