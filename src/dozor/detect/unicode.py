"""Hidden and confusable Unicode: what a human does not see but a model reads.

Attackers hide instructions from people and from keyword filters with characters that
render as nothing (zero-width spaces, soft hyphens), with Unicode *tag* characters
(U+E0000-E007F, invisible copies of ASCII that many models still read), with bytes
smuggled in runs of variation selectors, with bidi controls that reorder what is shown
("Trojan Source"), and with look-alike letters from another script (``pаypal`` with a
Cyrillic ``а``, ``ignоre`` with a Cyrillic ``о``).

Two entry points, used by the guard, the injection detector and the red team alike:

* `normalize` returns the text a detector should read: tag characters decoded into the
  visible ASCII they encode, variation-selector payloads decoded, invisible and bidi
  characters removed, NFKC applied (fullwidth and mathematical letters become plain
  ones), and look-alike letters folded *inside mixed-script words only*, so ordinary
  Russian or Greek text is never changed.
* `inspect_unicode` reports what was hidden and where (offsets in the original text).

Why our own: the Unicode confusables table (UTS #39) maps thousands of characters and
folds whole words of any script to a Latin skeleton, which damages Russian text; the
guard needs the few dozen Cyrillic/Greek letters that are really used to disguise
Latin words (and Latin letters inside Russian words), decided per word by its script.
Everything is linear in the text, with a fast path for ASCII.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

MAX_CHARS = 2_000_000
"""Longer texts are inspected and normalised up to this many characters only."""
MAX_HITS = 1000
"""At most this many hits are reported per text (the rest is counted, not listed)."""

# --- character classes ------------------------------------------------------------------

INVISIBLE = frozenset(
    {
        0x00AD,  # SOFT HYPHEN
        0x034F,  # COMBINING GRAPHEME JOINER
        0x061C,  # ARABIC LETTER MARK (also bidi, but zero width)
        0x115F, 0x1160,  # HANGUL CHOSEONG/JUNGSEONG FILLER
        0x17B4, 0x17B5,  # KHMER VOWEL INHERENT AQ/AA
        0x180B, 0x180C, 0x180D, 0x180E, 0x180F,  # MONGOLIAN FVS1-4, VOWEL SEPARATOR
        0x200B,  # ZERO WIDTH SPACE
        0x200C,  # ZERO WIDTH NON-JOINER
        0x200D,  # ZERO WIDTH JOINER
        0x2060,  # WORD JOINER
        0x2061, 0x2062, 0x2063, 0x2064,  # invisible function/times/separator/plus
        0x206A, 0x206B, 0x206C, 0x206D, 0x206E, 0x206F,  # deprecated format controls
        0x3164,  # HANGUL FILLER
        0xFEFF,  # ZERO WIDTH NO-BREAK SPACE (BOM)
        0xFFA0,  # HALFWIDTH HANGUL FILLER
        0x1D173, 0x1D174, 0x1D175, 0x1D176, 0x1D177, 0x1D178, 0x1D179, 0x1D17A,  # music fmt
    }
)
"""Characters that render as nothing (or as a blank) and carry no meaning in a prompt."""

BIDI_CONTROLS = frozenset(
    {
        0x202A, 0x202B, 0x202C, 0x202D, 0x202E,  # LRE, RLE, PDF, LRO, RLO
        0x2066, 0x2067, 0x2068, 0x2069,  # LRI, RLI, FSI, PDI
    }
)
"""Embeddings, overrides and isolates: they reorder what is displayed (Trojan Source)."""
BIDI_MARKS = frozenset({0x200E, 0x200F})
"""LRM and RLM: ordinary in right-to-left text, removed by `normalize`, not reported."""

TAG_FIRST, TAG_LAST = 0xE0000, 0xE007F


def _is_variation_selector(cp: int) -> bool:
    return 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF


# --- homoglyphs -------------------------------------------------------------------------

_TO_LATIN = {
    # Cyrillic letters that render like Latin ones
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i",
    "ј": "j", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
    "С": "C", "Т": "T", "Х": "X", "У": "Y", "І": "I", "Ј": "J", "Ѕ": "S", "Ԁ": "D",
    "Ԛ": "Q", "Ԝ": "W", "Һ": "H", "Ӏ": "I", "ѵ": "v", "Ѵ": "V", "ё": "e", "Ё": "E",
    # Greek letters that render like Latin ones
    "α": "a", "ο": "o", "ρ": "p", "ν": "v", "ι": "i", "κ": "k", "υ": "u", "τ": "t",
    "ε": "e", "χ": "x", "γ": "y",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
    "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
}
"""Look-alikes folded into Latin when a word is mostly Latin."""

_TO_CYRILLIC = {
    "a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "y": "у", "x": "х", "i": "і",
    "A": "А", "B": "В", "E": "Е", "K": "К", "M": "М", "H": "Н", "O": "О", "P": "Р",
    "C": "С", "T": "Т", "X": "Х", "Y": "У", "k": "к", "m": "м", "n": "п", "r": "г",
    "u": "и", "b": "ь",
}
"""Latin look-alikes folded into Cyrillic when a word is mostly Cyrillic."""

_LATIN, _CYRILLIC, _GREEK, _OTHER = "Latin", "Cyrillic", "Greek", "other"
_ARMENIAN, _CHEROKEE = "Armenian", "Cherokee"

_TO_LATIN.update({
    # Armenian, Cherokee and Latin small capitals that pass for Latin letters; folded
    # only inside mostly-Latin words (an Armenian or Cherokee word is never changed)
    "օ": "o", "ս": "u", "ց": "g", "հ": "h", "ո": "n", "զ": "q", "ա": "w", "Օ": "O",
    "Ս": "U", "Տ": "S", "Լ": "L",
    "Ꭺ": "A", "Ᏼ": "B", "Ꮯ": "C", "Ꭰ": "D", "Ꭼ": "E", "Ꮐ": "G", "Ꮋ": "H", "Ꭻ": "J",
    "Ꮶ": "K", "Ꮮ": "L", "Ꮇ": "M", "Ꮲ": "P", "Ꮪ": "S", "Ꭲ": "T", "Ꮩ": "V", "Ꮃ": "W",
    "Ꮓ": "Z",
})
_SMALL_CAPITALS = str.maketrans({
    "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ɢ": "g", "ʜ": "h", "ɪ": "i",
    "ᴊ": "j", "ᴋ": "k", "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ʀ": "r",
    "ꜱ": "s", "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ʏ": "y", "ᴢ": "z",
})
"""Latin small capitals, which NFKC leaves alone: read as plain letters, like NFKC
reads fullwidth and mathematical ones."""


def _script(ch: str) -> str:
    cp = ord(ch)
    if cp < 0x250:
        return _LATIN if ch.isalpha() else _OTHER
    if 0x370 <= cp <= 0x3FF or 0x1F00 <= cp <= 0x1FFF:
        return _GREEK
    if 0x400 <= cp <= 0x52F or 0x1C80 <= cp <= 0x1C8F or 0x2DE0 <= cp <= 0x2DFF \
            or 0xA640 <= cp <= 0xA69F:
        return _CYRILLIC
    if 0x1E00 <= cp <= 0x1EFF or cp == 0x261:
        return _LATIN
    if 0x530 <= cp <= 0x58F:
        return _ARMENIAN
    if 0x13A0 <= cp <= 0x13FF or 0xAB70 <= cp <= 0xABBF:
        return _CHEROKEE
    return _OTHER


_WORD = re.compile(r"[^\W\d_]+")

# --- results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class UnicodeHit:
    """One run of hidden or disguising characters in the original text."""

    kind: str
    """``invisible``, ``tag``, ``variation``, ``bidi``, ``mixed-script`` or ``styled``."""
    start: int
    """Offset of the first character in the original text."""
    end: int
    """Offset just past the run."""
    detail: str
    """What it is: code points and names, the decoded tag text, or the folded word."""
    plain: str = ""
    """What the run reads as once disguise is removed: the folded word, the plain
    letters, the decoded hidden text; '' for characters that mean nothing."""


@dataclass(frozen=True)
class UnicodeReport:
    """Everything hidden or disguised in one text, with the text a detector should read."""

    hits: tuple[UnicodeHit, ...]
    """Every hit in text order (at most `MAX_HITS`)."""
    normalized: str
    """`normalize(text)`."""
    hidden_text: str
    """What tag characters and variation-selector payloads decode to, joined by newlines."""
    truncated: bool = False
    """The text was longer than `MAX_CHARS` or had more than `MAX_HITS` hits."""

    def of(self, kind: str) -> tuple[UnicodeHit, ...]:
        return tuple(h for h in self.hits if h.kind == kind)

    @property
    def invisible(self) -> tuple[UnicodeHit, ...]:
        return self.of("invisible")

    @property
    def tags(self) -> tuple[UnicodeHit, ...]:
        return self.of("tag")

    @property
    def variation(self) -> tuple[UnicodeHit, ...]:
        return self.of("variation")

    @property
    def bidi(self) -> tuple[UnicodeHit, ...]:
        return self.of("bidi")

    @property
    def mixed_script(self) -> tuple[UnicodeHit, ...]:
        return self.of("mixed-script")

    @property
    def styled(self) -> tuple[UnicodeHit, ...]:
        return self.of("styled")

    @property
    def clean(self) -> bool:
        return not self.hits


# --- decoding of hidden payloads --------------------------------------------------------

_TAG_RUN = re.compile("[\U000e0000-\U000e007f]+")
_VS_RUN = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]{2,}")


_HIDDEN_HINT = re.compile("[\ufe00-\ufe0f\U000e0000-\U000e007f\U000e0100-\U000e01ef]")


def _decode_tags(run: str) -> str:
    """Tag characters U+E0020..E007E are invisible ASCII; the others (language tag,
    cancel tag) carry nothing."""
    return "".join(chr(ord(c) - TAG_FIRST) for c in run if 0xE0020 <= ord(c) <= 0xE007E)


def _decode_variation(run: str) -> str:
    """Bytes smuggled as variation selectors (VS1-16 = 0-15, VS17-256 = 16-255), as
    UTF-8 text; empty when they do not decode to printable text."""
    data = bytes(
        ord(c) - 0xFE00 if ord(c) <= 0xFE0F else ord(c) - 0xE0100 + 16 for c in run
    )
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError:
        return ""
    printable = sum(1 for c in decoded if c.isprintable() or c in "\n\t")
    return decoded if decoded and printable >= 0.9 * len(decoded) else ""


def _reveal(text: str) -> str:
    """Tag runs and variation-selector payloads replaced by what they encode."""
    if not _HIDDEN_HINT.search(text):
        return text
    if _TAG_RUN.search(text):
        text = _TAG_RUN.sub(lambda m: _decode_tags(m.group()), text)
    if _VS_RUN.search(text):
        text = _VS_RUN.sub(lambda m: _decode_variation(m.group()) if len(m.group()) > 2
                           else "", text)
    return text


def hidden_text(text: str) -> str:
    """Only what tag characters and variation-selector payloads decode to, joined by
    newlines ('' when there are none); cheaper than `inspect_unicode`."""
    if not isinstance(text, str) or text.isascii() or not _HIDDEN_HINT.search(text):
        return ""
    text = text[:MAX_CHARS]
    found = [_decode_tags(m.group()) for m in _TAG_RUN.finditer(text)]
    found += [_decode_variation(m.group()) for m in _VS_RUN.finditer(text) if len(m.group()) > 2]
    return "\n".join(f for f in found if f)


_REMOVABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U0001d173-\U0001d17a"
    "\U000e0000-\U000e007f\U000e0100-\U000e01ef]"
)
_REMOVE = {cp: None for cp in (*INVISIBLE, *BIDI_CONTROLS, *BIDI_MARKS)}
_REMOVE.update({cp: None for cp in range(0xFE00, 0xFE10)})
_REMOVE.update({cp: None for cp in range(0xE0100, 0xE01F0)})
_REMOVE.update({cp: None for cp in range(TAG_FIRST, TAG_LAST + 1)})


# --- homoglyph folding ------------------------------------------------------------------


def _fold_word(word: str) -> str | None:
    """The word with look-alikes folded into its dominant script, or None if it is
    written in one script (or the fold would change nothing)."""
    counts = {_LATIN: 0, _CYRILLIC: 0, _GREEK: 0, _ARMENIAN: 0, _CHEROKEE: 0}
    for ch in word:
        s = _script(ch)
        if s in counts:
            counts[s] += 1
    used = [s for s, n in counts.items() if n]
    if len(used) < 2:
        return None
    # the script with more letters wins; a tie goes to Latin (keywords an attacker
    # disguises are mostly English) unless the word has no Latin letters at all
    dominant = max(used, key=lambda s: (counts[s], s == _LATIN))
    if dominant == _LATIN:
        folded = "".join(_TO_LATIN.get(c, c) if _script(c) != _LATIN else c for c in word)
    elif dominant == _CYRILLIC:
        folded = "".join(
            _TO_CYRILLIC.get(c, c) if _script(c) == _LATIN
            else (_TO_LATIN_GREEK_TO_CYR.get(c, c) if _script(c) == _GREEK else c)
            for c in word
        )
    elif dominant == _GREEK:  # fold stray Latin/Cyrillic look-alikes to Greek
        folded = "".join(_TO_GREEK.get(c, c) if _script(c) != _GREEK else c for c in word)
    else:  # an Armenian or Cherokee word with stray letters: left as it is
        return None
    return folded if folded != word else None


_TO_GREEK = {
    "a": "α", "o": "ο", "p": "ρ", "v": "ν", "i": "ι", "k": "κ", "A": "Α", "B": "Β",
    "E": "Ε", "Z": "Ζ", "H": "Η", "I": "Ι", "K": "Κ", "M": "Μ", "N": "Ν", "O": "Ο",
    "P": "Ρ", "T": "Τ", "Y": "Υ", "X": "Χ", "о": "ο", "а": "α", "р": "ρ",
}
_TO_LATIN_GREEK_TO_CYR = {"ο": "о", "α": "а", "ρ": "р", "Ο": "О", "Α": "А", "Ρ": "Р"}

_ALL_LOOKALIKE = frozenset(_TO_LATIN)
_MIXED_SEED = re.compile("[A-Za-z\u0370-\u03ff\u1f00-\u1fff]+")
"""A Latin or Greek letter: only words around one can mix scripts with Cyrillic."""
_LOOKALIKE_WORD = re.compile(
    "(?<![^\\W\\d_])[" + "".join(sorted(_TO_LATIN)) + "]{2,}(?![^\\W\\d_])"
)
_WORD_BEFORE = re.compile(r"[^\W\d_]+(?=[^\w]*\Z)")
_MIXED_HINT = re.compile("[A-Za-z\u00c0-\u024f\u1e00-\u1eff\u0261]|[\u0370-\u03ff\u1f00-\u1fff]")
"""A non-ASCII word can mix scripts only if it has a Latin or a Greek letter (Cyrillic
words without either are one script)."""


def _word_script(word: str) -> str:
    """The one script a word is written in, ignoring look-alike letters; `_OTHER` when
    it has letters of several scripts or only look-alikes."""
    found = {_script(c) for c in word if c not in _ALL_LOOKALIKE}
    return found.pop() if len(found) == 1 else _OTHER


@lru_cache(maxsize=16)
def _folds(text: str) -> tuple[tuple[int, int, str], ...]:
    """(start, end, folded) for every word to fold: look-alikes in mixed-script words,
    and whole look-alike words written in Cyrillic or Greek between Latin words
    (``ехес`` in an English sentence). Ordinary one-script words are never touched.

    Only candidate words are visited: words around a Latin or Greek letter that are not
    ASCII, and words made only of look-alike letters, so ordinary Russian text costs
    two regex scans."""
    found: dict[int, tuple[int, int, str]] = {}
    last_end = -1
    for m in _MIXED_SEED.finditer(text):
        if m.start() < last_end:
            continue
        start, end = _word_at(text, m.start(), m.end())
        last_end = end
        word = text[start:end]
        if word.isascii():
            continue
        folded = _fold_word(word)
        if folded is not None:
            found[start] = (start, end, folded)
    for m in _LOOKALIKE_WORD.finditer(text):
        if m.start() in found:
            continue
        before = _WORD_BEFORE.search(text, max(0, m.start() - 64), m.start())
        after = _WORD.search(text, m.end(), m.end() + 64)
        neighbours = [_word_script(w.group()) for w in (before, after) if w is not None]
        if neighbours and all(s == _LATIN for s in neighbours):
            found[m.start()] = (m.start(), m.end(), "".join(_TO_LATIN[c] for c in m.group()))
    return tuple(found[k] for k in sorted(found))


def _word_at(text: str, start: int, end: int) -> tuple[int, int]:
    """The whole word (letters of any script) around text[start:end]."""
    while start > 0 and _is_letter(text[start - 1]):
        start -= 1
    while end < len(text) and _is_letter(text[end]):
        end += 1
    return start, end


def _is_letter(c: str) -> bool:
    return c.isalpha()


def _fold(text: str) -> str:
    spans = _folds(text)
    if not spans:
        return text
    out: list[str] = []
    pos = 0
    for start, end, folded in spans:
        out.append(text[pos:start])
        out.append(folded)
        pos = end
    out.append(text[pos:])
    return "".join(out)


_NEEDS_FOLD = re.compile("[\u0370-\u03ff\u0400-\u058f\u13a0-\u13ff\uab70-\uabbf]")
_HAS_LATIN = re.compile("[A-Za-z]")
"""Folding needs Latin and Cyrillic or Greek letters in the same text."""


def normalize(text: str) -> str:
    """The text a detector should read (see the module docstring); never raises.
    The last few results are cached (the guard and its detectors normalise the same
    prompt several times)."""
    if not isinstance(text, str):
        return ""
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS]
    if text.isascii():
        return text
    return _normalize(text)


@lru_cache(maxsize=16)
def _normalize(text: str) -> str:
    text = _reveal(text)
    if _REMOVABLE.search(text):
        text = text.translate(_REMOVE)
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
        if _REMOVABLE.search(text):
            text = text.translate(_REMOVE)
    if _SMALL_CAPS_RUN.search(text):
        text = text.translate(_SMALL_CAPITALS)
    if _NEEDS_FOLD.search(text) and _HAS_LATIN.search(text):
        text = _fold(text)
    return text


# --- inspection -------------------------------------------------------------------------

_SMALL_CAPS_RUN = re.compile(
    "[\u1d00-\u1d22\u0299\u0262\u029c\u026a\u029f\u0274\u0280\u028f\ua731]"
)
_STYLED = re.compile(
    "[\uff21-\uff3a\uff41-\uff5a\u24b6-\u24e9\U0001d400-\U0001d7ff\U0001f130-\U0001f189"
    "\u1d00-\u1d22\u0299\u0262\u029c\u026a\u029f\u0274\u0280\u028f\ua731]{3,}"
)
"""Runs of fullwidth, circled, squared or mathematical letters: NFKC reads them as
plain ASCII, keyword filters do not."""

_SUSPECT = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200d\u2060-\u2064"
    "\u206a-\u206f\u3164\ufeff\uffa0\U0001d173-\U0001d17a"
    "\u202a-\u202e\u2066-\u2069"
    "\ufe00-\ufe0f\U000e0100-\U000e01ef\U000e0000-\U000e007f]+"
)


def _name(cp: int) -> str:
    return f"U+{cp:04X} {unicodedata.name(chr(cp), 'unnamed')}"


def _describe(run: str) -> str:
    counts: dict[int, int] = {}
    for c in run:
        counts[ord(c)] = counts.get(ord(c), 0) + 1
    parts = [f"{_name(cp)} x{n}" if n > 1 else _name(cp) for cp, n in list(counts.items())[:4]]
    if len(counts) > 4:
        parts.append(f"and {len(counts) - 4} more kinds")
    return ", ".join(parts)


def _is_emoji_context(text: str, start: int, end: int) -> bool:
    """ZWJ and VS15/VS16 between or after pictographs are how emoji are built (a keycap
    is a digit, VS16 and U+20E3)."""
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    if after == "\u20e3":
        return True
    def pict(c: str) -> bool:
        return bool(c) and (unicodedata.category(c) == "So" or ord(c) >= 0x1F000)
    return pict(before) or pict(after)


def inspect_unicode(text: str) -> UnicodeReport:
    """Hidden and disguising characters in `text`, with positions; never raises."""
    if not isinstance(text, str):
        text = ""
    truncated = len(text) > MAX_CHARS
    if truncated:
        text = text[:MAX_CHARS]
    if text.isascii():
        return UnicodeReport((), text, "", False)
    hits: list[UnicodeHit] = []
    hidden: list[str] = []
    for m in _SUSPECT.finditer(text):
        if len(hits) >= MAX_HITS:
            truncated = True
            break
        run = m.group()
        start = m.start()
        # split the run into its kinds, keeping order
        for kind, part_start, part in _split_kinds(run, start):
            if kind == "tag":
                decoded = _decode_tags(part)
                if decoded:
                    hidden.append(decoded)
                hits.append(UnicodeHit("tag", part_start, part_start + len(part),
                                       f"{len(part)} tag characters: {decoded[:200]!r}",
                                       decoded))
            elif kind == "variation":
                if len(part) <= 2 and _is_emoji_context(text, part_start, part_start + len(part)):
                    continue
                decoded = _decode_variation(part) if len(part) > 2 else ""
                if decoded:
                    hidden.append(decoded)
                detail = (f"{len(part)} variation selectors encoding {decoded[:200]!r}"
                          if decoded else _describe(part))
                hits.append(UnicodeHit("variation", part_start, part_start + len(part), detail,
                                       decoded))
            elif kind == "bidi":
                hits.append(UnicodeHit("bidi", part_start, part_start + len(part),
                                       _describe(part)))
            else:
                if part == "\u200d" and _is_emoji_context(text, part_start, part_start + 1):
                    continue
                if part == "\ufeff" and part_start == 0:
                    continue  # a byte-order mark at the start of a file
                if part == "\u00ad" and _soft_hyphen_in_word(text, part_start):
                    continue  # an ordinary hyphenation hint inside a long word
                hits.append(UnicodeHit("invisible", part_start, part_start + len(part),
                                       _describe(part)))
    if _NEEDS_FOLD.search(text) and _HAS_LATIN.search(text):
        for start, end, folded in _folds(text)[: max(0, MAX_HITS - len(hits))]:
            word = text[start:end]
            scripts = sorted({_script(c) for c in word} - {_OTHER})
            hits.append(UnicodeHit("mixed-script", start, end,
                                   f"{'+'.join(scripts)} word reads as {folded!r}", folded))
    for m in _STYLED.finditer(text):
        if len(hits) >= MAX_HITS:
            truncated = True
            break
        plain = unicodedata.normalize("NFKC", m.group()).translate(_SMALL_CAPITALS)
        hits.append(UnicodeHit("styled", m.start(), m.end(),
                               f"{len(m.group())} styled letters read as {plain[:200]!r}", plain))
    hits.sort(key=lambda h: h.start)
    return UnicodeReport(tuple(hits), normalize(text), "\n".join(hidden), truncated)


def _soft_hyphen_in_word(text: str, pos: int) -> bool:
    before = text[max(0, pos - 3) : pos]
    after = text[pos + 1 : pos + 4]
    return len(before) == 3 and len(after) >= 2 and before.isalpha() and after[:2].isalpha() \
        and text.count("\u00ad") <= max(3, len(text) // 200)


def _kind_of(c: str) -> str:
    cp = ord(c)
    if TAG_FIRST <= cp <= TAG_LAST:
        return "tag"
    if _is_variation_selector(cp):
        return "variation"
    if cp in BIDI_CONTROLS:
        return "bidi"
    return "invisible"


def _split_kinds(run: str, start: int) -> list[tuple[str, int, str]]:
    parts: list[tuple[str, int, str]] = []
    i = 0
    while i < len(run):
        kind = _kind_of(run[i])
        j = i + 1
        while j < len(run) and _kind_of(run[j]) == kind:
            j += 1
        parts.append((kind, start + i, run[i:j]))
        i = j
    return parts
