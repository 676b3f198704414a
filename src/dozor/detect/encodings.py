"""Encoded payloads in text: base64, hex, rot13, leetspeak and percent-encoding.

A keyword filter or a classifier reads ``aWdub3JlIGFsbCBwcmV2aW91cw==`` as noise, but a
model decodes it and may obey it. `decode_spans` finds spans that *decode to text*
and returns what they say, so the guard and the injection detector can scan the
decoded text again. It decides conservatively, because most long tokens in ordinary
prompts (hashes, ids, file names) are not payloads:

* base64 (standard and url-safe) and hex must decode to UTF-8 text that is mostly
  printable and contains letters; binary data (a hash, a key, an image) is not text.
* rot13 is accepted only when the rotated words are known English words and the
  original words are not (a small built-in vocabulary); Cyrillic text is judged the
  same way with Russian words and a shift by 16 of the 32-letter alphabet.
* leetspeak (``1gn0r3 pr3v10u5``) is accepted only when the de-leeted word is a known
  word; runs of such words make one span.
* percent-encoding needs at least two escapes and must change the text.

Nested encodings (base64 of hex) are followed to `max_depth`. Every search is bounded:
the text is read up to `MAX_CHARS`, each token up to `MAX_TOKEN`, at most `MAX_SPANS`
spans are returned and at most `MAX_DECODED` characters are decoded in all. Patterns
have no nested quantifiers, so no input makes them backtrack.

Why our own: the decoders in the standard library are strict (``base64.b64decode``,
``binascii.unhexlify``, ``codecs.decode(..., "rot13")``); deciding *where* an encoded
span is and whether it is text is the work here, and no maintained library does it.
"""

from __future__ import annotations

import base64
import binascii
import re
import urllib.parse
from dataclasses import dataclass
from functools import lru_cache

MAX_CHARS = 1_000_000
"""Only this many characters of a text are searched."""
MAX_TOKEN = 100_000
"""Longer encoded tokens are decoded up to this many characters."""
MAX_SPANS = 200
"""At most this many spans are returned per call (nested ones included)."""
MAX_DECODED = 1_000_000
"""At most this many decoded characters per call, nested ones included."""
MIN_BASE64 = 16
"""Shorter base64 candidates are ignored (16 characters decode to 12 bytes)."""
MIN_HEX = 16
"""Shorter hex candidates (8 bytes) are ignored."""


@dataclass(frozen=True)
class DecodedSpan:
    """A span of the original text and what it decodes to."""

    start: int
    """Offset of the encoded span in the text given to `decode_spans`."""
    end: int
    """Offset just past it. Nested spans carry the offsets of their outermost span."""
    encoding: str
    """``base64``, ``hex``, ``rot13`` (for Cyrillic: the same shift by half the
    alphabet), ``leetspeak`` or ``url``; nested decodings are
    joined with ``>``, outermost first: ``base64>hex``."""
    decoded: str
    """The decoded text."""


# --- vocabulary -------------------------------------------------------------------------

_EN = frozenset(
    """a about above access account act action add admin after again against all allow
    also always am an and answer any anything api are as ask assistant at attack
    available be because been before begin being below between bomb both but by call
    can cannot change chat code command company confidential content context could
    credentials data delete describe developer did disable do does dont download each
    else email end every everything example execute exploit explain file filter first
    follow following for forget free from full get give go going good guidelines hack
    has have he hello help her here hidden him his how i if ignore important in
    information input instead instruction instructions into is it its just key keys know
    last leak let like list make malware me mode model more most must my need never new
    no not now of off on only open or original other our out output over override
    pass password passwords people please policy previous print prior private prompt
    reply request respond response restrictions reveal rule rules run safety say secret
    secrets security send server shell should show so some start step stop such system
    tell text than that the their them then there these they thing this those through
    to token tool true unrestricted up us use user users very want was we what when
    where which while who why will with without word words would write you your
    above admin administrator aside assume before bypass censored character
    confidential continue disregard dan directive directions earlier exfiltrate
    forget guard jailbreak limits obey overrides persona pretend roleplay sudo
    uncensored unlock unfiltered world hi thanks thank yes ok name time day today
    work back way look first find keep put read same tell another many much well
    below exactly everything immediately now script steal kill weapon drug drugs
    instructions content above link image url visit curl wget bash rm sh""".split()
)
"""Common English words and the words of prompt attacks (rot13/leetspeak judges)."""

_RU = frozenset(
    """и в не на я что он с как а то все она так его но да ты к у же вы за бы по
    только ее мне было вот от меня еще нет о из ему теперь когда даже ну вдруг ли если
    уже или ни быть был него до вас нибудь опять уж вам ведь там потом себя ничего ей
    может они тут где есть надо ней для мы тебя их чем была сам чтоб без будто чего
    раз тоже себе под будет ж тогда кто этот того потому этого какой совсем ним здесь
    этом один почти мой тем чтобы нее сейчас были куда зачем всех никогда можно при
    наконец два об другой хоть после над больше тот через эти нас про всего них какая
    много разве три эту моя впрочем хорошо свою этой перед иногда лучше чуть том нельзя
    такой им более всегда конечно всю между игнорируй игнорировать инструкции
    инструкций предыдущие предыдущих забудь все правила system системный промпт пароль
    ключ покажи выведи напиши секрет режим разработчика ты теперь отвечай без
    ограничений""".split()
)
"""Common Russian words and the words of prompt attacks (used by the Cyrillic rot)."""


_VOCAB = _EN | _RU


def _known(word: str) -> bool:
    return word.lower().strip("'") in _VOCAB


# --- rot13 ------------------------------------------------------------------------------

_ROT13 = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    "NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm",
)
_CYR_LOWER = "абвгдежзийклмнопрстуфхцчшщъыьэюя"
_ROT16_CYR = str.maketrans(
    _CYR_LOWER + _CYR_LOWER.upper(),
    _CYR_LOWER[16:] + _CYR_LOWER[:16] + (_CYR_LOWER[16:] + _CYR_LOWER[:16]).upper(),
)
"""The Russian analogue of rot13: a shift by half of the 32-letter alphabet (without
ё), its own inverse."""
_LATIN_RUN = re.compile(r"[A-Za-z']+(?:[ \t,;:\"()-]+[A-Za-z']+){1,}")
_LATIN_WORD = re.compile(r"[A-Za-z']+")
_CYR_RUN = re.compile(r"[а-яА-Я]+(?:[ \t,;:\"()-]+[а-яА-Я]+){1,}")
_CYR_WORD = re.compile(r"[а-яА-Я]+")


_ROT13_BYTES = bytes(
    (c + 13 - 26 if c + 13 > 122 else c + 13) if 97 <= c <= 122 else
    (c if c == 39 else 32) for c in range(256))
"""For ASCII text already lower-cased: rot13 of the letters, "'" kept, every other byte
a space (the separators of `_LATIN_WORD`)."""


def _may_rotate(text: str, word_re: re.Pattern[str], table: dict[int, int]) -> bool:
    """Whether some word of `text`, unknown as written (and longer than two letters),
    is a known word when rotated: otherwise `_rot_spans` has nothing to find.

    The common case, ordinary prose, is settled with set operations in C. For ASCII
    text and rot13 the text is rotated whole by `bytes.translate` and split, and only
    the few rotated words that are known words are looked at one by one."""
    low = text.lower()
    if table is _ROT13 and low.isascii():
        rotated = set(low.encode("ascii").translate(_ROT13_BYTES).decode("ascii").split())
        if "'" in low:
            rotated = {w.strip("'") for w in rotated}
        return any(len(w) > 2 and w.translate(table) not in _VOCAB
                   for w in rotated & _VOCAB)
    words = set(word_re.findall(low))
    quoted = {w for w in words if "'" in w}
    if quoted:
        words = (words - quoted) | {w.strip("'") for w in quoted}
    unknown = words - _VOCAB
    return not {w.translate(table) for w in unknown if len(w) > 2}.isdisjoint(_VOCAB)


def _rot_spans(text: str, run_re: re.Pattern[str], word_re: re.Pattern[str],
               table: dict[int, int]) -> list[tuple[int, int]]:
    """Runs of words that are unknown as written and known after rotation."""
    out: list[tuple[int, int]] = []
    if not _may_rotate(text, word_re, table):
        return out
    for run in run_re.finditer(text):
        words = list(word_re.finditer(run.group()))
        group: list[re.Match[str]] = []
        for w in [*words, None]:
            if w is not None and not _known(w.group()):
                group.append(w)
                continue
            out.extend(_judge_rot(group, run.start(), table))
            group = []
        if len(out) >= MAX_SPANS:
            break
    return out


def _judge_rot(group: list[re.Match[str]], offset: int,
               table: dict[int, int]) -> list[tuple[int, int]]:
    hits = [_known(w.group().translate(table)) for w in group]
    while group and not hits[0]:
        group, hits = group[1:], hits[1:]
    while group and not hits[-1]:
        group, hits = group[:-1], hits[:-1]
    if sum(hits) < 2 or sum(hits) < 0.6 * len(hits):
        return []
    start, end = group[0].start(), group[-1].end()
    return [(offset + start, offset + end)]


# --- leetspeak --------------------------------------------------------------------------

_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
         "@": "a", "$": "s", "!": "i", "|": "l", "+": "t"}
_LEET_ALT = {"1": "l", "!": "l", "|": "i", "9": "q", "0": "o", "7": "l"}
_LEET_TOKEN = re.compile(
    r"(?<![A-Za-z0-9@$!|+/=_-])[A-Za-z0-9@$!|+]{2,40}(?![A-Za-z0-9@$|+/=_-])"
)


def _deleet(token: str) -> str | None:
    """The word a leetspeak token spells, if it is a known word; None otherwise."""
    if not any(c in _LEET for c in token) or token.isdigit() or len(token) < 3:
        return None
    stripped = token.rstrip("!")
    if stripped and stripped != token and not any(c in _LEET for c in stripped):
        return None  # "hello!" is a word and an exclamation mark, not leetspeak
    first = "".join(_LEET.get(c, c) for c in token).lower()
    if _known(first):
        return first
    second = "".join(_LEET_ALT.get(c, _LEET.get(c, c)) for c in token).lower()
    if _known(second):
        return second
    return None


def _has_leet(text: str) -> bool:
    if _LEET_ADJACENT.search(text) is None:
        return False
    for n, m in enumerate(_LEET_HINT.finditer(text)):
        if n >= 10_000:
            return True
        token = m.group()
        if len(token) <= 40 and _deleet(token) is not None:
            return True
    return False


def _leet_spans(text: str, base: int) -> list[tuple[int, int, str]]:
    """Maximal runs of known words, spelt plainly or in leetspeak, that hold at least one
    leetspeak word; the decoded text replaces each token by its word."""
    out: list[tuple[int, int, str]] = []
    run: list[tuple[int, int, str, bool]] = []

    def close() -> None:
        if run and any(leet for *_, leet in run):
            start, end = run[0][0], run[-1][1]
            pieces: list[str] = []
            pos = start
            for s, e, word, _ in run:
                pieces.append(text[pos:s])
                pieces.append(word)
                pos = e
            out.append((base + start, base + end, "".join(pieces)))
        run.clear()

    last_end = -1
    for m in _LEET_TOKEN.finditer(text):
        token = m.group()
        if last_end >= 0 and text[last_end : m.start()].strip(" \t,.") != "":
            close()
        decoded = _deleet(token)
        if decoded is not None:
            run.append((m.start(), m.end(), decoded, True))
        elif token.isalpha() and _known(token):
            run.append((m.start(), m.end(), token, False))
        else:
            close()
        last_end = m.end()
        if len(out) >= MAX_SPANS:
            break
    close()
    return out


# --- base64, hex, url -------------------------------------------------------------------

_BASE64 = re.compile(rf"(?<![A-Za-z0-9+/_=-])[A-Za-z0-9+/_-]{{{MIN_BASE64},}}={{0,2}}")
_HEX = re.compile(
    rf"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{{2}}){{{MIN_HEX // 2},}}(?![0-9A-Fa-f])"
    + r"|(?:\\x[0-9A-Fa-f]{2}){4,}"
    + r"|(?:0x[0-9A-Fa-f]{2}[ ,]{0,2}){4,}"
    + r"|(?<![0-9A-Fa-f])[0-9A-Fa-f]{2}(?:[ :][0-9A-Fa-f]{2}){5,}(?![0-9A-Fa-f])"
)
_LEET_ADJACENT = re.compile(r"[A-Za-z][0-9@$|+]|[0-9@$!|+][A-Za-z]")
"""A letter next to a leet character: every leetspeak word has one, so `_has_leet` asks
this single search before trying every token (for long texts `_hints` asks the same
question first, vectorised)."""
_HEX_RUN = re.compile(r"[0-9A-Fa-f]{16}")
_HEX_SPACED = re.compile(r"[0-9A-Fa-f]{2}[ :][0-9A-Fa-f]{2}[ :][0-9A-Fa-f]{2}")
_LEET_HINT = re.compile(
    r"(?<![A-Za-z0-9@$!|+/=_-])[A-Za-z0-9@$!|+]*"
    r"(?:[A-Za-z][0-9@$|+]|[0-9@$!|+][A-Za-z])[A-Za-z0-9@$!|+]*"
)
"""A token with a letter beside a digit or symbol; the full leetspeak pass runs only
when one of them spells a known word. (Starts only at token starts, so linear.)"""
_URL = re.compile(r"[^\s%]*(?:%[0-9A-Fa-f]{2}[^\s%]*){2,}")


_ENCODED_ONLY = re.compile(r"[A-Za-z0-9+/_=\s-]{16,}")


def as_text(data: bytes) -> str | None:
    """`data` as UTF-8 text when it is mostly printable, mostly letters and digits, and
    has letters (hex or base64 inside base64 qualifies, a hash or a key does not)."""
    if len(data) < 4:
        return None
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    printable = sum(1 for c in decoded if c.isprintable() or c in "\n\r\t")
    letters = sum(1 for c in decoded if c.isalpha())
    words = sum(1 for c in decoded if c.isalnum() or c == " ")
    if printable < 0.95 * len(decoded) or words < 0.6 * len(decoded):
        return None
    if letters < 0.15 * len(decoded) and not _ENCODED_ONLY.fullmatch(decoded):
        return None
    return decoded


def _base64_text(token: str) -> str | None:
    token = token[:MAX_TOKEN]
    body = token.rstrip("=")
    if body.isalpha() and (body.islower() or body.isupper()):
        return None  # a plain long word, not base64
    if len(body) % 4 == 1:
        body = body[:-1]
    padded = body + "=" * (-len(body) % 4)
    altchars = b"-_" if ("-" in body or "_" in body) else None
    if altchars and ("+" in body or "/" in body):
        return None
    try:
        data = base64.b64decode(padded, altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        return None
    return as_text(data)


def _hex_text(token: str) -> str | None:
    digits = re.sub(r"\\x|0x|[ ,:]", "", token[:MAX_TOKEN])
    if len(digits) % 2:
        digits = digits[:-1]
    try:
        data = bytes.fromhex(digits)
    except ValueError:
        return None
    return as_text(data)


def _url_text(token: str) -> str | None:
    token = token[:MAX_TOKEN]
    try:
        decoded = urllib.parse.unquote(token, errors="strict")
    except UnicodeDecodeError:
        return None
    if decoded == token:
        return None
    printable = sum(1 for c in decoded if c.isprintable() or c in "\n\r\t")
    return decoded if printable >= 0.95 * len(decoded) else None


@dataclass(frozen=True)
class _Hints:
    """Necessary conditions of the decoders, for one text (True: the decoder may find
    something, so it runs)."""

    base64: bool = True
    hex_run: bool = True
    hex_spaced: bool = True
    leet: bool = True


_ALL_HINTS = _Hints()
_LETTER, _LEET_NEXT, _LEET_PREV, _HEXCH, _B64CH, _HEXSEP = 1, 2, 4, 8, 16, 32


@lru_cache(maxsize=1)
def _class_table() -> object:
    """Character classes of ASCII as bits (index 128 stands for every other character);
    numpy is imported only when the table is first needed."""
    import numpy as np

    table = np.zeros(129, dtype=np.uint8)
    for c in range(128):
        ch, bits = chr(c), 0
        if ch.isalpha():
            bits |= _LETTER
        if ch in "0123456789@$|+":
            bits |= _LEET_NEXT
        if ch in "0123456789@$!|+":
            bits |= _LEET_PREV
        if ch in "0123456789abcdefABCDEF":
            bits |= _HEXCH
        if ch.isalnum() or ch in "+/_-":
            bits |= _B64CH
        if ch in " :":
            bits |= _HEXSEP
        table[c] = bits
    return table


def _longest_run(mask: object) -> int:
    import numpy as np

    breaks = np.flatnonzero(~mask)  # type: ignore[operator]
    if breaks.size == 0:
        return int(mask.size)  # type: ignore[attr-defined]
    edges = np.concatenate(([-1], breaks, [mask.size]))  # type: ignore[attr-defined]
    return int(np.diff(edges).max()) - 1


def _hints(text: str) -> _Hints:
    """Which decoders can find anything in `text`, from one vectorised pass over its
    characters (numpy, when installed; otherwise every decoder runs).

    Python's regex engine tries a pattern at every position, ~20 ns per character even
    when it fails at once, so three searches that find nothing in a 4,000-character
    prompt of prose cost ~0.2 ms; this costs ~0.03 ms and changes no result: each hint
    is a condition every match of its decoder meets (a base64 or hex token is a run of
    at least 16 characters of its alphabet; leetspeak has a letter next to a digit or
    one of @$!|+; spaced hex is "hh hh hh")."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - the guard extra installs numpy
        return _ALL_HINTS
    try:
        cp = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    except UnicodeError:  # pragma: no cover - surrogatepass takes every str
        return _ALL_HINTS
    if cp.size < 2:
        return _Hints(False, False, False, False)
    cls = _class_table()[np.minimum(cp, 128)]  # type: ignore[index]
    letter = (cls & _LETTER) != 0
    leet = bool(np.any(letter[:-1] & ((cls[1:] & _LEET_NEXT) != 0))
                or np.any(((cls[:-1] & _LEET_PREV) != 0) & letter[1:]))
    hexch = (cls & _HEXCH) != 0
    spaced = False
    if cp.size >= 8:
        sep = (cls & _HEXSEP) != 0
        n = cp.size - 7
        pair = hexch[:-1] & hexch[1:]
        spaced = bool(np.any(pair[:n] & sep[2:n + 2] & pair[3:n + 3] & sep[5:n + 5]
                             & pair[6:n + 6]))
    return _Hints(base64=_longest_run((cls & _B64CH) != 0) >= MIN_BASE64,
                  hex_run=_longest_run(hexch) >= 16, hex_spaced=spaced, leet=leet)


def _hex_hint(text: str) -> bool:
    """Whether `text` may hold a hex span (three necessary forms, tried as separate searches:
    each starts with a literal or a character class, which the engine scans for fast)."""
    return ("\\x" in text or "0x" in text or _HEX_RUN.search(text) is not None
            or _HEX_SPACED.search(text) is not None)


# --- the entry point --------------------------------------------------------------------


def _level(text: str) -> list[DecodedSpan]:
    """The spans of one level, sorted, without overlaps (the longest span wins)."""
    found: list[DecodedSpan] = []
    if "%" in text:
        for m in _URL.finditer(text):
            decoded = _url_text(m.group())
            if decoded is not None:
                found.append(DecodedSpan(m.start(), m.end(), "url", decoded))
    hints = _hints(text) if len(text) >= 256 else _ALL_HINTS  # (short texts: no gain)
    may_hex = hints.hex_run or hints.hex_spaced or "\\x" in text or "0x" in text
    for m in _HEX.finditer(text) if may_hex and _hex_hint(text) else ():
        decoded = _hex_text(m.group())
        if decoded is not None:
            found.append(DecodedSpan(m.start(), m.end(), "hex", decoded))
    for m in _BASE64.finditer(text) if hints.base64 else ():
        decoded = _base64_text(m.group())
        if decoded is not None:
            found.append(DecodedSpan(m.start(), m.end(), "base64", decoded))
        if len(found) > MAX_SPANS:
            break
    for start, end in _rot_spans(text, _LATIN_RUN, _LATIN_WORD, _ROT13):
        found.append(DecodedSpan(start, end, "rot13", text[start:end].translate(_ROT13)))
    if not text.isascii():
        for start, end in _rot_spans(text, _CYR_RUN, _CYR_WORD, _ROT16_CYR):
            found.append(DecodedSpan(start, end, "rot13",
                                     text[start:end].translate(_ROT16_CYR)))
    for start, end, decoded in _leet_spans(text, 0) if hints.leet and _has_leet(text) else ():
        found.append(DecodedSpan(start, end, "leetspeak", decoded))
    found.sort(key=lambda s: (s.start, -(s.end - s.start)))
    kept: list[DecodedSpan] = []
    for span in found:
        if kept and span.start < kept[-1].end:
            continue
        kept.append(span)
    return kept[:MAX_SPANS]


def decode_spans(text: str, *, max_depth: int = 2) -> list[DecodedSpan]:
    """Encoded spans of `text` that decode to text, outermost first, nested decodings
    (up to `max_depth` levels) after their outer span; never raises.

    The last few results are cached: the guard and the injection detector both decode
    the same prompt."""
    if not isinstance(text, str) or not isinstance(max_depth, int) or max_depth < 1:
        return []
    return list(_decode_cached(text[:MAX_CHARS], max_depth))


@lru_cache(maxsize=16)
def _decode_cached(text: str, max_depth: int) -> tuple[DecodedSpan, ...]:
    return tuple(_decode(text, max_depth))


def _decode(text: str, max_depth: int) -> list[DecodedSpan]:
    out: list[DecodedSpan] = []
    budget = [MAX_DECODED]

    def walk(inner: str, depth: int, outer: DecodedSpan | None) -> None:
        for span in _level(inner):
            if len(out) >= MAX_SPANS or budget[0] <= 0:
                return
            decoded = span.decoded[: budget[0]]
            budget[0] -= len(decoded)
            if outer is None:
                here = DecodedSpan(span.start, span.end, span.encoding, decoded)
            else:
                here = DecodedSpan(outer.start, outer.end,
                                   f"{outer.encoding}>{span.encoding}", decoded)
            out.append(here)
            if depth < max_depth:
                walk(decoded, depth + 1, here)

    try:
        walk(text, 1, None)
    except (RecursionError, MemoryError):  # pragma: no cover - bounded above
        pass
    return out


def decoded_text(text: str, *, max_depth: int = 2) -> str:
    """The decoded spans of `text` joined by newlines: what the guard scans again."""
    return "\n".join(s.decoded for s in decode_spans(text, max_depth=max_depth))
