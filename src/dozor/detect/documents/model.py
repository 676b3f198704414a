"""What extraction returns: the text a model would read, and which parts a person cannot see."""

from __future__ import annotations

from dataclasses import dataclass, field


class DocumentError(ValueError):
    """The document cannot be read; the message is one line for the user."""


@dataclass(frozen=True)
class DocumentLimits:
    max_bytes: int = 64 * 1024 * 1024
    """Larger inputs are refused."""
    max_text_chars: int = 4 * 1024 * 1024
    """Extracted text beyond this is cut (a warning says so)."""
    max_depth: int = 256
    """Element nesting beyond this is read as plain text without styles."""
    max_pages: int = 500
    """PDF pages read."""
    max_member_bytes: int = 64 * 1024 * 1024
    """Largest XML part inflated from a .docx."""
    max_seconds: float = 30.0
    """Work stops after this (a warning says so)."""


@dataclass(frozen=True)
class HiddenText:
    text: str
    """The hidden text (whitespace collapsed)."""
    reason: str
    """Why a reader cannot see it: "white text on white", "font size 0.5pt", "display:none"."""
    where: str
    """Where it is: "page 2", "paragraph 14", "<div class=x>", "line 3"."""


@dataclass(frozen=True)
class Document:
    format: str
    """docx, pdf, html, markdown or text."""
    visible: str
    """Text a person sees."""
    hidden: tuple[HiddenText, ...]
    """Text a model reads but a person does not."""
    warnings: tuple[str, ...] = field(default=())
    """Limits reached, parts that could not be read."""

    @property
    def text(self) -> str:
        """Everything a model given this document would read: visible, then hidden."""
        if not self.hidden:
            return self.visible
        return self.visible + "\n\n" + "\n".join(h.text for h in self.hidden)


class _Collector:
    """Collects visible text and hidden runs, merging adjacent runs with the same reason."""

    def __init__(self, limits: DocumentLimits) -> None:
        self.limits = limits
        self.visible: list[str] = []
        self.hidden: list[list[str]] = []  # [text, reason, where]
        self.chars = 0
        self.truncated = False
        self._last_hidden_open = False

    def add(self, text: str, hidden_reason: str | None, where: str) -> None:
        if not text or self.truncated:
            return
        if self.chars + len(text) > self.limits.max_text_chars:
            text = text[: max(0, self.limits.max_text_chars - self.chars)]
            self.truncated = True
        self.chars += len(text)
        if hidden_reason is None:
            self.visible.append(text)
            if text.strip():
                self._last_hidden_open = False
            return
        last = self.hidden[-1] if self.hidden else None
        if last is not None and self._last_hidden_open and last[1] == hidden_reason:
            last[0] += text
        else:
            self.hidden.append([text, hidden_reason, where])
        self._last_hidden_open = True

    def breaks(self) -> None:
        """A block boundary: hidden runs on either side stay separate."""
        self.visible.append("\n")
        self._last_hidden_open = False

    def document(self, fmt: str, warnings: list[str]) -> Document:
        if self.truncated:
            warnings.append(f"text cut at {self.limits.max_text_chars} characters")
        hidden = tuple(
            HiddenText(" ".join(text.split()), reason, where)
            for text, reason, where in self.hidden
            if text.strip()
        )
        visible = "\n".join(line.strip() for line in "".join(self.visible).splitlines())
        while "\n\n\n" in visible:
            visible = visible.replace("\n\n\n", "\n\n")
        return Document(fmt, visible.strip(), hidden, tuple(warnings))
