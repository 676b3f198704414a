"""Colours as documents write them, and when text is too close to its background to read.

Hidden-text attacks use white-on-white or a shade one step off the background, so an
exact match is not enough: WCAG's contrast ratio is the measure of readability that
designers already use, and text under `MIN_CONTRAST` against its background is treated
as hidden (black on white is 21, WCAG asks 4.5 for body text; 1.2 is unreadable).
"""

from __future__ import annotations

import re

RGB = tuple[float, float, float]

MIN_CONTRAST = 1.25

_NAMED = {
    "white": (1.0, 1.0, 1.0), "black": (0.0, 0.0, 0.0), "red": (1.0, 0.0, 0.0),
    "green": (0.0, 0.5, 0.0), "blue": (0.0, 0.0, 1.0), "yellow": (1.0, 1.0, 0.0),
    "gray": (0.5, 0.5, 0.5), "grey": (0.5, 0.5, 0.5), "silver": (0.75, 0.75, 0.75),
    "whitesmoke": (0.96, 0.96, 0.96), "snow": (1.0, 0.98, 0.98), "ivory": (1.0, 1.0, 0.94),
    "ghostwhite": (0.97, 0.97, 1.0), "azure": (0.94, 1.0, 1.0), "linen": (0.98, 0.94, 0.9),
    "lightgray": (0.83, 0.83, 0.83), "lightgrey": (0.83, 0.83, 0.83),
    "gainsboro": (0.86, 0.86, 0.86), "navy": (0.0, 0.0, 0.5), "maroon": (0.5, 0.0, 0.0),
}
_FUNC = re.compile(r"rgba?\(\s*([^)]*)\)", re.I)


def parse_css_colour(value: str) -> tuple[RGB, float] | None:
    """(rgb in 0..1, alpha) for a CSS colour; None for what is not understood."""
    text = value.strip().lower()
    if text in ("transparent",):
        return (0.0, 0.0, 0.0), 0.0
    if text in _NAMED:
        return _NAMED[text], 1.0
    if text.startswith("#"):
        rgb = parse_hex(text[1:])
        return (rgb, 1.0) if rgb is not None else None
    match = _FUNC.fullmatch(text)
    if match:
        parts = [p for p in re.split(r"[\s,/]+", match.group(1)) if p]
        if len(parts) < 3:
            return None
        try:
            channels = [
                float(p[:-1]) / 100 if p.endswith("%") else float(p) / 255 for p in parts[:3]
            ]
            alpha = 1.0
            if len(parts) > 3:
                a = parts[3]
                alpha = float(a[:-1]) / 100 if a.endswith("%") else float(a)
        except ValueError:
            return None
        r, g, b = (min(1.0, max(0.0, c)) for c in channels)
        return (r, g, b), min(1.0, max(0.0, alpha))
    return None


def parse_hex(text: str) -> RGB | None:
    """RRGGBB or RGB hex (Word writes `FFFFFF`; `auto` and others give None)."""
    text = text.strip()
    if len(text) == 3:
        text = "".join(c * 2 for c in text)
    if len(text) == 8:  # RRGGBBAA
        text = text[:6]
    if len(text) != 6:
        return None
    try:
        value = int(text, 16)
    except ValueError:
        return None
    return ((value >> 16) / 255, ((value >> 8) & 255) / 255, (value & 255) / 255)


def _linear(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(rgb: RGB) -> float:
    r, g, b = (_linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: RGB, b: RGB) -> float:
    """WCAG contrast ratio, 1 (same) to 21 (black on white)."""
    la, lb = luminance(a), luminance(b)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


def unreadable(text_colour: RGB, background: RGB) -> bool:
    return contrast(text_colour, background) < MIN_CONTRAST
