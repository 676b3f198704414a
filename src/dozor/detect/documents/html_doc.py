"""Text of an HTML page, with the parts CSS and markup hide from a person.

The page is parsed with the standard library's tolerant `html.parser` (it never fetches,
runs scripts or resolves entities beyond HTML's own) and walked with a small cascade:
inline `style`, the `hidden` attribute, and simple rules from `<style>` blocks (`tag`,
`.class`, `#id`, `tag.class`; rules with combinators are ignored rather than guessed).
A browser engine would be exact, but it would also run the page; this is the part of CSS
that hiding tricks use: `display:none`, `visibility:hidden`, `opacity:0`, tiny or zero
font sizes, text the colour of its background, boxes moved off the page or clipped to
nothing, and comments.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from html.parser import HTMLParser

from dozor.detect.documents.colours import RGB, contrast, parse_css_colour, unreadable
from dozor.detect.documents.model import Document, DocumentLimits, _Collector

_VOID = frozenset(
    "area base br col embed hr img input link meta param source track wbr".split()
)
_BLOCK = frozenset(
    "address article aside blockquote br dd div dl dt fieldset figcaption figure footer form "
    "h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section table tbody td tfoot th thead "
    "tr ul title".split()
)
_SKIP = frozenset(("script", "style", "noscript", "svg", "math", "head", "object"))
_TINY_PX = 2.0
_OFF_PAGE_PX = -500.0
_LENGTH = re.compile(r"^(-?\d*\.?\d+)(px|pt|em|rem|%|vh|vw|cm|mm|in|pc)?$")
_UNIT_PX = {"px": 1.0, "pt": 4 / 3, "em": 16.0, "rem": 16.0, "cm": 37.8, "mm": 3.78,
            "in": 96.0, "pc": 16.0, None: 1.0}
_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_SIMPLE_SELECTOR = re.compile(r"^([a-z][a-z0-9]*)?((?:[.#][\w-]+)*)$", re.I)


@dataclass(frozen=True)
class _Style:
    hidden: str | None = None
    colour: RGB | None = None
    background: RGB = (1.0, 1.0, 1.0)
    font_px: float = 16.0


def _length_px(value: str, font_px: float) -> float | None:
    match = _LENGTH.match(value.strip().lower())
    if not match:
        return None
    number, unit = float(match.group(1)), match.group(2)
    if unit == "%":
        return font_px * number / 100
    if unit in ("vh", "vw"):
        return number * 10.0  # an 1000-pixel viewport is good enough for "off the page"
    if unit == "em":
        return number * font_px
    return number * _UNIT_PX[unit]


def parse_declarations(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in text.split(";")[:200]:
        name, sep, value = part.partition(":")
        if sep:
            out[name.strip().lower()] = value.replace("!important", "").strip().lower()
    return out


def _apply(style: _Style, decl: dict[str, str]) -> _Style:
    hidden = style.hidden
    font_px = style.font_px
    colour, background = style.colour, style.background
    if "font-size" in decl:
        size = _length_px(decl["font-size"], style.font_px)
        if size is not None:
            font_px = size
    if "font" in decl:  # shorthand: "0/0 a", "1px serif"
        first = decl["font"].split()[0].split("/")[0] if decl["font"].split() else ""
        size = _length_px(first, style.font_px)
        if size is not None:
            font_px = size
    for key in ("background-color", "background"):
        if key in decl:
            for token in _colour_tokens(decl[key]):
                parsed = parse_css_colour(token)
                if parsed and parsed[1] > 0.5:
                    background = parsed[0]
                    break
    if "color" in decl:
        parsed = parse_css_colour(decl["color"])
        if parsed:
            colour = parsed[0] if parsed[1] > 0.05 else background
            if parsed[1] <= 0.05:
                hidden = hidden or "transparent text"
    if hidden is None:
        hidden = _hiding(decl, font_px)
    return _Style(hidden, colour, background, font_px)


def _colour_tokens(value: str) -> list[str]:
    return re.findall(r"rgba?\([^)]*\)|#[0-9a-f]{3,8}\b|[a-z]+", value)


def _hiding(decl: dict[str, str], font_px: float) -> str | None:
    if decl.get("display", "").startswith("none"):
        return "display:none"
    if decl.get("visibility") in ("hidden", "collapse"):
        return "visibility:hidden"
    if "content-visibility" in decl and decl["content-visibility"] == "hidden":
        return "content-visibility:hidden"
    opacity = decl.get("opacity")
    if opacity is not None:
        try:
            if float(opacity.rstrip("%")) / (100 if opacity.endswith("%") else 1) <= 0.05:
                return "opacity:0"
        except ValueError:
            pass
    if font_px <= _TINY_PX:
        return f"font size {font_px:.3g}px"
    for key in ("left", "top", "text-indent", "margin-left", "margin-top", "right"):
        if key in decl:
            px = _length_px(decl[key].split()[0] if decl[key].split() else "", font_px)
            if px is not None and px <= _OFF_PAGE_PX:
                return f"moved off the page ({key}:{decl[key]})"
    if "transform" in decl and re.search(r"scale\(\s*0(\.0+)?\s*[,)]", decl["transform"]):
        return "transform:scale(0)"
    clip = decl.get("clip", "") + decl.get("clip-path", "")
    if re.search(r"rect\(\s*0(px)?[\s,]+0(px)?[\s,]+0(px)?[\s,]+0(px)?\s*\)", clip) or re.search(
        r"inset\(\s*50%", clip
    ):
        return "clipped to nothing"
    overflow_hidden = decl.get("overflow", "") == "hidden"
    for key in ("width", "height", "max-width", "max-height"):
        if key in decl and overflow_hidden:
            px = _length_px(decl[key], font_px)
            if px is not None and px <= 1:
                return f"zero-size box ({key}:{decl[key]})"
    return None


_Rule = tuple[str | None, frozenset[str], str | None, dict[str, str]]


def _parse_stylesheet(css: str) -> list[_Rule]:
    rules: list[_Rule] = []
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    for match in list(_RULE.finditer(css))[:5000]:
        decl = parse_declarations(match.group(2))
        for selector in match.group(1).split(","):
            sel = selector.strip()
            simple = _SIMPLE_SELECTOR.match(sel)
            if not sel or not simple:
                continue  # combinators, attributes, pseudo-classes: not guessed
            tag = simple.group(1).lower() if simple.group(1) else None
            classes = frozenset(re.findall(r"\.([\w-]+)", simple.group(2)))
            ids = re.findall(r"#([\w-]+)", simple.group(2))
            rules.append((tag, classes, ids[0] if ids else None, decl))
    return rules


class _PageParser(HTMLParser):
    def __init__(self, limits: DocumentLimits, rules: list[_Rule], started: float) -> None:
        super().__init__(convert_charrefs=True)
        self.limits = limits
        self.rules = rules
        self.started = started
        self.out = _Collector(limits)
        self.stack: list[tuple[str, _Style, str]] = [("#root", _Style(), "page")]
        self.skip_depth = 0
        self.warnings: list[str] = []
        self.line = 0

    # cascade ------------------------------------------------------------------------
    def _style_for(self, tag: str, attrs: dict[str, str], parent: _Style) -> _Style:
        decl: dict[str, str] = {}
        classes = set((attrs.get("class") or "").split())
        elem_id = attrs.get("id")
        for rule_tag, rule_classes, rule_id, rule_decl in self.rules:
            if rule_tag and rule_tag != tag:
                continue
            if rule_classes and not rule_classes <= classes:
                continue
            if rule_id and rule_id != elem_id:
                continue
            decl.update(rule_decl)
        if "style" in attrs:
            decl.update(parse_declarations(attrs["style"] or ""))
        if "bgcolor" in attrs:
            decl.setdefault("background-color", attrs["bgcolor"] or "")
        if tag == "font" and "color" in attrs:
            decl.setdefault("color", attrs["color"] or "")
        style = _apply(replace(parent, hidden=parent.hidden), decl)
        if style.hidden is None and "hidden" in attrs:
            style = replace(style, hidden="hidden attribute")
        if style.hidden is None and (attrs.get("aria-hidden") == "true" and decl
                                     and style.font_px <= _TINY_PX):
            style = replace(style, hidden="aria-hidden tiny text")
        return style

    @staticmethod
    def _where(tag: str, attrs: dict[str, str]) -> str:
        ident = attrs.get("id")
        cls = attrs.get("class")
        if ident:
            return f"<{tag} id={ident[:40]}>"
        if cls:
            return f"<{tag} class={cls[:40]}>"
        return f"<{tag}>"

    # parser callbacks ----------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = {k.lower(): (v or "") for k, v in attrs_list}
        if tag in _SKIP:
            if tag not in _VOID:
                self.skip_depth += 1
            return
        if tag == "input" and attrs.get("type", "").lower() == "hidden" and attrs.get("value"):
            self.out.add(attrs["value"] + " ", "hidden form field", self._where(tag, attrs))
            return
        if tag in _BLOCK:
            self.out.breaks()
        if tag in _VOID:
            return
        if len(self.stack) >= self.limits.max_depth:
            return  # deeper nesting is read as plain text of the deepest element kept
        parent = self.stack[-1][1]
        style = self._style_for(tag, attrs, parent)
        self.stack.append((tag, style, self._where(tag, attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        opened = len(self.stack) > 1 and self.stack[-1][0] == tag
        if tag not in _VOID and tag not in _SKIP and opened:
            self.stack.pop()
        elif tag in _SKIP and tag not in _VOID:
            self.skip_depth = max(0, self.skip_depth - 1)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
            return
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break
        if tag in _BLOCK:
            self.out.breaks()

    def handle_data(self, data: str) -> None:
        if self.skip_depth or not data:
            return
        _tag, style, where = self.stack[-1]
        reason = style.hidden
        colour = style.colour
        if reason is None and colour is not None and unreadable(colour, style.background):
            reason = (
                f"text colour matches its background (contrast "
                f"{contrast(colour, style.background):.2f}:1)"
            )
        self.out.add(data, reason, where)

    def handle_comment(self, data: str) -> None:
        if data.strip() and not data.strip().startswith(("[if", "<![endif")):
            self.out.breaks()
            self.out.add(data, "HTML comment", "comment")
            self.out.breaks()


def extract_html(text: str, limits: DocumentLimits, *, fmt: str = "html") -> Document:
    started = time.monotonic()
    sheets = re.findall(r"<style[^>]*>(.*?)</style\s*>", text[: limits.max_bytes], re.I | re.S)
    rules = _parse_stylesheet("\n".join(sheets)[:1_000_000])
    parser = _PageParser(limits, rules, started)
    warnings: list[str] = []
    step = 256 * 1024
    for i in range(0, len(text), step):
        if time.monotonic() - started > limits.max_seconds:
            warnings.append(f"stopped after {limits.max_seconds:.0f} s; the rest was not read")
            break
        parser.feed(text[i : i + step])
    else:
        parser.close()
    return parser.out.document(fmt, warnings + parser.warnings)
