"""A card number drawn for a phone screen or paper: a QR code (segno, pure Python) and a Code 128 barcode
(domain/code128.py), both as inline SVG written on the server, so a page needs no script and no image request.

Both hold the card number exactly as the till's identify field takes it (`lookup_candidates` reads it as a card)."""

from __future__ import annotations

import io

import segno
from markupsafe import Markup, escape

from coalition.domain.code128 import QUIET_MODULES, encode_b

BAR_MODULE_PX = 2
BAR_HEIGHT_PX = 80


def qr_svg(data: str, *, title: str, scale: int = 6, css_class: str = "qr") -> Markup:
    """`data` as a QR code (error correction M: a scuffed screen or print still reads), as an SVG element."""
    code = segno.make(data, error="m", micro=False)
    out = io.BytesIO()
    code.save(
        out,
        kind="svg",
        xmldecl=False,
        svgns=True,
        nl=False,
        scale=scale,
        title=title,
        svgclass=css_class,
        omitsize=True,
    )
    svg = out.getvalue().decode("utf-8")
    # an image with a name for screen readers (segno writes the title; role and label are added here)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{escape(title)}" ', 1)
    return Markup(svg)


def barcode_svg(text: str, *, title: str, css_class: str = "barcode") -> Markup:
    """`text` as a Code 128-B barcode (with its quiet zones) as an SVG element; the text is written under it."""
    code = encode_b(text)
    width = (code.modules + 2 * QUIET_MODULES) * BAR_MODULE_PX
    height = BAR_HEIGHT_PX + 22
    rects = "".join(
        f'<rect x="{(QUIET_MODULES + start) * BAR_MODULE_PX}" y="0" width="{bar * BAR_MODULE_PX}" '
        f'height="{BAR_HEIGHT_PX}"/>'
        for start, bar in code.bars()
    )
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{escape(css_class)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" data-widths="{code.widths}">'
        f"<title>{escape(title)}</title>"
        f'<rect width="{width}" height="{height}" fill="#fff"/><g fill="#000">{rects}</g>'
        f'<text x="{width // 2}" y="{height - 4}" text-anchor="middle" font-family="monospace" font-size="16">'
        f"{escape(text)}</text></svg>"
    )
