"""Text of a Word .docx file, with runs that Word shows to nobody.

A .docx is a zip of XML parts. The parts are parsed with defusedxml (no DTDs, no entity
expansion, no external references) after a size check on each member, and the run
properties that hide text are resolved through Word's cascade (document defaults,
paragraph style, character style with `basedOn` chains, then direct formatting):
`w:vanish` and `w:specVanish` (hidden), font sizes of 2 pt or less, and text whose colour
is unreadable on the run's shading, the paragraph's shading or the page background.
python-docx is not used: it does not resolve that cascade and would load every part.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET  # type: ignore[import-untyped]

from dozor.detect.documents.colours import RGB, contrast, parse_hex, unreadable
from dozor.detect.documents.model import Document, DocumentError, DocumentLimits, _Collector

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_PARTS = ("word/document.xml",)
_EXTRA_PARTS_PREFIX = ("word/header", "word/footer", "word/footnotes", "word/endnotes")
_TINY_HALF_POINTS = 4  # 2 pt
_HIGHLIGHT = {
    "white": (1.0, 1.0, 1.0), "black": (0.0, 0.0, 0.0), "yellow": (1.0, 1.0, 0.0),
    "lightGray": (0.75, 0.75, 0.75), "darkGray": (0.5, 0.5, 0.5),
}
_RunProps = dict[str, Any]


def _read_member(zf: zipfile.ZipFile, name: str, limits: DocumentLimits) -> bytes:
    info = zf.getinfo(name)
    if info.file_size > limits.max_member_bytes:
        raise DocumentError(f"{name} inflates to {info.file_size} bytes, over the limit")
    with zf.open(info) as f:
        data = f.read(limits.max_member_bytes + 1)
    if len(data) > limits.max_member_bytes:
        raise DocumentError(f"{name} inflates beyond the limit")
    return data


def _parse(data: bytes) -> Element:
    try:
        return SafeET.fromstring(data)  # type: ignore[no-any-return]
    except Exception as exc:  # noqa: BLE001 - defusedxml and expat raise several kinds
        raise DocumentError(f"malformed XML in the document ({type(exc).__name__})") from None


def _on(el: Element | None) -> bool:
    if el is None:
        return False
    return el.get(W + "val", "true").lower() not in ("0", "false", "off")


def _props(rpr: Element | None) -> _RunProps:
    if rpr is None:
        return {}
    out: _RunProps = {}
    for key in ("vanish", "specVanish", "webHidden"):
        el = rpr.find(W + key)
        if el is not None:
            out[key] = _on(el)
    colour = rpr.find(W + "color")
    if colour is not None:
        out["color"] = colour.get(W + "val", "auto")
    size = rpr.find(W + "sz")
    if size is not None:
        try:
            out["sz"] = int(size.get(W + "val", "0"))
        except ValueError:
            pass
    shd = rpr.find(W + "shd")
    if shd is not None and shd.get(W + "fill") not in (None, "auto"):
        out["shd"] = shd.get(W + "fill")
    highlight = rpr.find(W + "highlight")
    if highlight is not None and highlight.get(W + "val") in _HIGHLIGHT:
        out["highlight"] = highlight.get(W + "val")
    return out


class _Styles:
    def __init__(self, root: Element | None) -> None:
        self.defaults: _RunProps = {}
        self.by_id: dict[str, tuple[str | None, _RunProps]] = {}
        if root is None:
            return
        doc_defaults = root.find(f"{W}docDefaults/{W}rPrDefault/{W}rPr")
        self.defaults = _props(doc_defaults)
        for style in root.iter(W + "style"):
            style_id = style.get(W + "styleId")
            if not style_id:
                continue
            based = style.find(W + "basedOn")
            self.by_id[style_id] = (
                based.get(W + "val") if based is not None else None,
                _props(style.find(W + "rPr")),
            )

    def resolve(self, style_id: str | None) -> _RunProps:
        chain: list[_RunProps] = []
        seen: set[str] = set()
        while style_id and style_id in self.by_id and style_id not in seen and len(seen) < 32:
            seen.add(style_id)
            based, props = self.by_id[style_id]
            chain.append(props)
            style_id = based
        out: _RunProps = {}
        for props in reversed(chain):
            out.update(props)
        return out


def _hidden_reason(props: _RunProps, background: RGB) -> str | None:
    if props.get("vanish") or props.get("specVanish"):
        return "hidden text (w:vanish)"
    if props.get("webHidden"):
        return "hidden text (w:webHidden)"
    size = props.get("sz")
    if size is not None and size <= _TINY_HALF_POINTS:
        return f"font size {size / 2:g}pt"
    colour = props.get("color")
    rgb = parse_hex(colour) if isinstance(colour, str) and colour != "auto" else None
    run_bg = background
    if "highlight" in props:
        run_bg = _HIGHLIGHT[props["highlight"]]
    elif "shd" in props:
        run_bg = parse_hex(props["shd"]) or background
    if rgb is not None and unreadable(rgb, run_bg):
        return f"text colour matches its background (contrast {contrast(rgb, run_bg):.2f}:1)"
    return None


def _walk_part(root: Element, styles: _Styles, page_bg: RGB, out: _Collector,
               part: str) -> None:
    paragraph = 0
    for p in root.iter(W + "p"):
        paragraph += 1
        ppr = p.find(W + "pPr")
        p_style = None
        p_bg = page_bg
        if ppr is not None:
            ps = ppr.find(W + "pStyle")
            p_style = ps.get(W + "val") if ps is not None else None
            shd = ppr.find(W + "shd")
            if shd is not None:
                p_bg = parse_hex(shd.get(W + "fill", "auto")) or page_bg
        base = dict(styles.defaults)
        base.update(styles.resolve(p_style))
        where = f"{part} paragraph {paragraph}"
        for run in p.iter(W + "r"):
            rpr = run.find(W + "rPr")
            props = dict(base)
            if rpr is not None:
                rs = rpr.find(W + "rStyle")
                if rs is not None:
                    props.update(styles.resolve(rs.get(W + "val")))
            props.update(_props(rpr))
            reason = _hidden_reason(props, p_bg)
            pieces = []
            for child in run:
                if child.tag == W + "t" and child.text:
                    pieces.append(child.text)
                elif child.tag == W + "tab":
                    pieces.append("\t")
                elif child.tag in (W + "br", W + "cr"):
                    pieces.append("\n")
            out.add("".join(pieces), reason, where)
        out.breaks()


def extract_docx(data: bytes, limits: DocumentLimits) -> Document:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DocumentError(f"not a readable .docx (zip: {exc})") from None
    with zf:
        names = set(zf.namelist())
        if "word/document.xml" not in names:
            raise DocumentError("not a Word document: the zip has no word/document.xml")
        try:
            styles = _Styles(
                _parse(_read_member(zf, "word/styles.xml", limits))
                if "word/styles.xml" in names else None
            )
            parts = list(_PARTS) + sorted(
                n for n in names if n.startswith(_EXTRA_PARTS_PREFIX) and n.endswith(".xml")
            )[:64]
            out = _Collector(limits)
            warnings: list[str] = []
            for part in parts:
                root = _parse(_read_member(zf, part, limits))
                background = root.find(W + "background")
                page_bg = (1.0, 1.0, 1.0)
                if background is not None:
                    page_bg = parse_hex(background.get(W + "color", "FFFFFF")) or page_bg
                label = "body" if part == "word/document.xml" else part.split("/")[-1][:-4]
                _walk_part(root, styles, page_bg, out, label)
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
            raise DocumentError(f"cannot read the .docx ({type(exc).__name__}: {exc})") from None
    return out.document("docx", warnings)
