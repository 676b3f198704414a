"""Text of a PDF, with characters drawn so that no one can see them.

pdfminer.six interprets the page content (it never runs JavaScript or opens embedded
files) and hands over each character with its font size, position and fill colour. Its
layout objects do not carry the text render mode, so the aggregator below records the
mode in force when each string is drawn. A character is hidden when it is drawn in
render mode 3 or 7 (invisible, clip only), at 1.5 pt or less, outside the page box, or in
a colour unreadable on the filled rectangle beneath it (white when there is none).
"""

from __future__ import annotations

import io
import logging
import time
from typing import Any

from dozor.detect.documents.colours import RGB, contrast, unreadable
from dozor.detect.documents.model import Document, DocumentError, DocumentLimits, _Collector

_TINY_PT = 1.5
_WHITE: RGB = (1.0, 1.0, 1.0)


def _rgb(colour: Any) -> RGB | None:
    """pdfminer's fill colour (gray, RGB, CMYK tuple or number) as RGB."""
    if colour is None:
        return None
    if isinstance(colour, (int, float)):
        colour = (colour,)
    if not isinstance(colour, (tuple, list)) or not all(
        isinstance(c, (int, float)) for c in colour
    ):
        return None
    c = [min(1.0, max(0.0, float(v))) for v in colour]
    if len(c) == 1:
        return (c[0], c[0], c[0])
    if len(c) == 3:
        return (c[0], c[1], c[2])
    if len(c) == 4:
        k = c[3]
        return ((1 - c[0]) * (1 - k), (1 - c[1]) * (1 - k), (1 - c[2]) * (1 - k))
    return None


def extract_pdf(data: bytes, limits: DocumentLimits) -> Document:
    try:
        from pdfminer.converter import PDFPageAggregator
        from pdfminer.layout import LAParams, LTAnno, LTChar, LTContainer, LTRect
        from pdfminer.pdfdocument import PDFDocument
        from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
        from pdfminer.pdfpage import PDFPage
        from pdfminer.pdfparser import PDFParser
    except ImportError:
        raise DocumentError(
            "reading PDF needs pdfminer.six: pip install 'dozor[guard]'"
        ) from None
    logging.getLogger("pdfminer").setLevel(logging.ERROR)

    class Aggregator(PDFPageAggregator):  # type: ignore[misc]
        """Remembers the text render mode of each drawn character."""

        render_mode = 0

        def render_string(self, textstate: Any, seq: Any, ncs: Any, graphicstate: Any) -> None:
            self.render_mode = int(getattr(textstate, "render", 0) or 0)
            super().render_string(textstate, seq, ncs, graphicstate)

        def render_char(self, *args: Any, **kwargs: Any) -> float:
            advance: float = super().render_char(*args, **kwargs)
            item = self.cur_item._objs[-1] if self.cur_item._objs else None
            if item is not None:
                item.dozor_render = self.render_mode  # type: ignore[attr-defined]
            return advance

    started = time.monotonic()
    out = _Collector(limits)
    warnings: list[str] = []
    try:
        parser = PDFParser(io.BytesIO(data))
        document = PDFDocument(parser)
        if not document.is_extractable:
            warnings.append("the PDF forbids text extraction; its text was read anyway")
        manager = PDFResourceManager(caching=True)
        device = Aggregator(manager, laparams=LAParams())
        interpreter = PDFPageInterpreter(manager, device)
        for number, page in enumerate(PDFPage.create_pages(document), start=1):
            if number > limits.max_pages:
                warnings.append(f"only the first {limits.max_pages} pages were read")
                break
            if time.monotonic() - started > limits.max_seconds:
                warnings.append(f"stopped after {limits.max_seconds:.0f} s at page {number}")
                break
            interpreter.process_page(page)
            layout = device.get_result()
            x0, y0, x1, y1 = (float(v) for v in page.mediabox)
            rects = [
                (obj.bbox, _rgb(obj.non_stroking_color))
                for obj in layout if isinstance(obj, LTRect) and obj.fill
            ]

            def background(cx: float, cy: float,
                           rects: list[tuple[Any, RGB | None]] = rects) -> RGB:
                colour = _WHITE
                for (rx0, ry0, rx1, ry1), fill in rects:  # later rectangles paint over
                    if fill is not None and rx0 <= cx <= rx1 and ry0 <= cy <= ry1:
                        colour = fill
                return colour

            def reason_for(ch: Any, page_box: tuple[float, float, float, float] = (x0, y0, x1, y1)
                           ) -> str | None:
                mode = getattr(ch, "dozor_render", 0)
                if mode in (3, 7):
                    return "invisible text (render mode 3)" if mode == 3 else \
                        "clip-only text (render mode 7)"
                if ch.size <= _TINY_PT:
                    return f"font size {ch.size:.2g}pt"
                px0, py0, px1, py1 = page_box
                if ch.x1 < px0 or ch.x0 > px1 or ch.y1 < py0 or ch.y0 > py1:
                    return "outside the page"
                fill = _rgb(getattr(ch.graphicstate, "ncolor", None))
                bg = background((ch.x0 + ch.x1) / 2, (ch.y0 + ch.y1) / 2)
                if fill is not None and unreadable(fill, bg):
                    ratio = contrast(fill, bg)
                    return f"text colour matches its background (contrast {ratio:.2f}:1)"
                return None

            def walk(obj: Any, where: str) -> None:
                previous: str | None = None
                for child in obj:
                    if isinstance(child, LTChar):
                        previous = reason_for(child)
                        out.add(child.get_text(), previous, where)
                    elif isinstance(child, LTAnno):
                        out.add(child.get_text(), previous, where)
                    elif isinstance(child, LTContainer):
                        walk(child, where)
                        out.breaks()

            walk(layout, f"page {number}")
            out.breaks()
    except DocumentError:
        raise
    except Exception as exc:  # noqa: BLE001 - pdfminer raises many kinds on damaged files
        if out.chars == 0:
            raise DocumentError(f"cannot read the PDF ({type(exc).__name__})") from None
        warnings.append(f"the PDF is damaged after what was read ({type(exc).__name__})")
    return out.document("pdf", warnings)
