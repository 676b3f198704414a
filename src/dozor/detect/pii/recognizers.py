"""The recognisers: one combined expression for shaped values, then word-level passes.

Why one combined pass for shaped values. Emails, URLs, IP addresses, dates, IBANs and
runs of digits are found by a single alternation, left to right, without overlaps: a
run of digits is classified exactly once (card, SNILS, INN, passport, SSN, phone) by
its digit count, grouping, check digits and the context words before it. That is what
keeps a phone recogniser from firing inside an INN, a passport, an IP address or a card
number (Presidio's phone recogniser runs independently of the others and does), and it
costs one scan of the text however many entity types are asked for.

Names and addresses are word-level: capitalised word sequences checked against given
name and surname lists (Faker's, MIT), Russian patronymic endings and titles; US street
addresses by house number + street suffix, Russian ones by "ул./пр./д./кв." markers.

Every pattern is bounded (counted repeats, possessive digit runs), so no input makes the
engine backtrack; text longer than `MAX_TEXT` is cut (a data scanner passes values or
bounded chunks).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from itertools import repeat

from dozor.detect.pii.validators import (
    card_brand,
    iban_ok,
    inn_ok,
    luhn_ok,
    nanp_ok,
    ru_phone_ok,
    snils_ok,
    ssn_ok,
)

EMAIL = "EMAIL"
PHONE = "PHONE"
CREDIT_CARD = "CREDIT_CARD"
IBAN = "IBAN"
IP_ADDRESS = "IP_ADDRESS"
DATE_OF_BIRTH = "DATE_OF_BIRTH"
PERSON = "PERSON"
ADDRESS = "ADDRESS"
RU_PASSPORT = "RU_PASSPORT"
RU_INN = "RU_INN"
RU_SNILS = "RU_SNILS"
US_SSN = "US_SSN"
URL = "URL"

ENTITIES: tuple[str, ...] = (
    EMAIL, PHONE, CREDIT_CARD, IBAN, IP_ADDRESS, DATE_OF_BIRTH, PERSON, ADDRESS,
    RU_PASSPORT, RU_INN, RU_SNILS, US_SSN, URL,
)
"""Every entity type `find_pii` can report."""

MAX_TEXT = 1_000_000
"""Characters examined per call; callers split longer text."""
CONTEXT_WINDOW = 48
"""Characters before a candidate searched for context words."""


@dataclass(frozen=True)
class PiiMatch:
    """One personal value found in a text."""

    entity: str
    """Entity type, one of `ENTITIES`."""
    start: int
    """Offset of the first character in the text."""
    end: int
    """Offset after the last character."""
    text: str
    """The matched value itself (callers redact it before showing it anywhere)."""
    score: float
    """Confidence 0..1: the pattern's base score, raised by validators and context."""


# ---------------------------------------------------------------------------------------
# Context words (lower case; a stem matches any word that starts with it)
# ---------------------------------------------------------------------------------------

_CONTEXT: dict[str, tuple[str, ...]] = {
    PHONE: ("phone", "tel", "mobile", "cell", "call", "fax", "whatsapp", "contact",
            "number is", "my number", "reach me", "text me", "sms", "desk", "dial",
            "messages to", "answering", "registered", "landline", "home:", "work:",
            "телефон", "тел", "моб", "сот", "звон", "позвон", "номер тел", "факс", "контакт"),
    CREDIT_CARD: ("card", "visa", "mastercard", "amex", "credit", "debit", "карт"),
    RU_INN: ("инн", "inn", "taxpayer", "налогоплат", "tin"),
    RU_SNILS: ("снилс", "snils", "страхов", "pension"),
    RU_PASSPORT: ("паспорт", "passport", "серия", "series", "выдан"),
    US_SSN: ("ssn", "social security", "social sec", "ss#", "ss #"),
    DATE_OF_BIRTH: ("born", "birth", "dob", "d.o.b", "рожд", "родил", "д.р", "д/р",
                    "birthday", "возраст"),
    IBAN: ("iban", "account", "bank", "счет", "счёт"),
}


def _context_of(text: str, start: int, extra: str) -> str:
    return (text[max(0, start - CONTEXT_WINDOW) : start] + " " + extra).lower()


_CONTEXT_RE = {
    entity: re.compile(r"(?<![a-zа-яё0-9])(?:" + "|".join(re.escape(w) for w in words) + ")")
    for entity, words in _CONTEXT.items()
}


@lru_cache(maxsize=16384)
def _has(ctx: str, entity: str) -> bool:
    """A context word of `entity` starts a word in `ctx` ("dob" in "DOB:", not in
    "Alvaradobury")."""
    return _CONTEXT_RE[entity].search(ctx) is not None


# ---------------------------------------------------------------------------------------
# The combined pass
# ---------------------------------------------------------------------------------------

_TLDS = (
    "com|org|net|edu|gov|io|ai|ru|su|рф|info|biz|co|uk|de|fr|us|ca|au|in|me|app|dev|"
    "ly|tv|cn|jp|nl|es|it|pl|ua|by|kz|eu"
)
_MONTHS_EN = (
    "january|february|march|april|may|june|july|august|september|october|november|"
    "december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec"
)
_MONTHS_RU = (
    "января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря"
)
_SEP = r"(?:[ \u00a0]?[\-.\u2013][ \u00a0]?|[ \u00a0])"
_GROUP = r"(?:\(\d{1,5}\)|\d++)"

_ALTERNATIVES: tuple[tuple[str, str], ...] = (
    ("email", r"(?P<email>(?<![\w.%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}+@"
          r"(?:[A-Za-z0-9\-]{1,63}\.){1,8}[A-Za-z]{2,24}(?![\w\-]))"),
    ("url", r"(?P<url>\b(?:(?:https?|ftp)://|www\.)[^\s<>\"'`]{2,2000}"
          r"|(?<![@\w.\-])(?:[a-z0-9][a-z0-9\-]{0,62}+\.){1,4}(?:" + _TLDS + r")\b"
          r"(?!\.\w|@|-)(?:/[^\s<>\"'`]{0,2000})?)"),
    ("ipv4", r"(?P<ipv4>(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d|\w))"),
    ("ipv6", r"(?P<ipv6>(?<![\w:.])(?=[0-9A-Fa-f:]*:[0-9A-Fa-f]*:)[0-9A-Fa-f:]{2,39}"
          r"(?:(?<=:)(?:\d{1,3}\.){3}\d{1,3})?(?![\w:.]))"),
    ("date", r"(?P<date>(?<![\w.,/\-])(?:\d{4}[\-./]\d{1,2}[\-./]\d{1,2}"
          r"|\d{1,2}[\-./]\d{1,2}[\-./](?:\d{4}|\d{2})"
          r"|\d{1,2}(?:st|nd|rd|th)?[ \u00a0]+(?:of[ ]+)?(?i:" + _MONTHS_EN + r")\.?,?[ \u00a0]+"
          r"\d{4}"
          r"|(?i:" + _MONTHS_EN + r")\.?[ \u00a0]+\d{1,2}(?:st|nd|rd|th)?,?[ \u00a0]+\d{4}"
          r"|\d{1,2}[ \u00a0]+(?i:" + _MONTHS_RU + r")[ \u00a0]+\d{4}(?:[ \u00a0]?г\.?)?)"
          r"(?![\w/]|[\-.]\d))"),
    ("iban", r"(?P<iban>\b(?i:[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}+(?:[ ]?[A-Z0-9]{1,3})?)\b)"),
    ("passport", r"(?P<passport>(?i:серия|серии|series)[ \u00a0:]*\d{2}[ ]?\d{2}[ \u00a0,]*"
          r"(?:(?i:номер|№|no\.?|number|n)[ \u00a0:]*)?\d{6}(?!\d))"),
    ("num", r"(?P<num>(?<![\w.,+\-/])(?:\+[ \u00a0]?)?" + _GROUP + r"(?:" + _SEP + r"?" + _GROUP
          + r"){0,9}+(?:[ ]?(?:x|ext\.?|доб\.?)[ ]?\d{1,6})?(?![\w@]|[.,]\d))"),
)
"""The shaped recognisers in priority order, by name. `_triggers` decides which of them
a text needs (no "@": no emails, and so on), and only those are searched."""
_COMBINED = re.compile("|".join(alt for _, alt in _ALTERNATIVES))


@cache
def _combined_for(needs: frozenset[str]) -> re.Pattern[str]:
    """The combined expression with only the alternatives whose trigger is present."""
    return re.compile("|".join(alt for need, alt in _ALTERNATIVES if need in needs))


_TLD_DOT = re.compile(r"\.(?:" + _TLDS + r")\b")
_IPV6_HINT = re.compile(r":[0-9A-Fa-f]*:")  # the lookahead of the ipv6 alternative
_DIGIT_MONTH = re.compile(r"\d(?:st|nd|rd|th)?[ \u00a0]+(?:of[ ]+)?(?:" + _MONTHS_EN + "|"
                          + _MONTHS_RU + ")")
_MONTH_DIGIT = re.compile(r"(?:" + _MONTHS_EN + "|" + _MONTHS_RU + r")\.?[ \u00a0]+\d")
"""Month-name dates, searched in the lower-cased text: a case-insensitive alternation
of words costs Python's engine about ten times more."""
_MIN_NUM_DIGITS = 7
"""`_classify` wants at least this many digits: shorter runs ("item 12", "2 of 3") are
no identifier or phone number."""


def _triggers(text: str, has_digit: bool) -> frozenset[str]:
    """The alternatives of `_ALTERNATIVES` that can match in `text`.

    Each test is a necessary condition of its expression, checked with substring
    searches and one pass over the runs of digits: much cheaper than trying every
    alternative at every position of a long prompt (a 4,000-character prompt of prose
    with a few numbers in it is settled here). Leaving out an alternative that cannot
    match changes no result. `num` is left out only when no run of digit groups holds
    `_MIN_NUM_DIGITS` digits *and* no other alternative is searched: its matches would
    all be rejected by `_classify`, and there is nothing they could hide (a rejected
    number still consumes its text: in "1 10.0.0.1" there is then no address)."""
    needs: set[str] = set()
    if "@" in text:
        needs.add("email")
    if "://" in text or "www." in text or _TLD_DOT.search(text):
        needs.add("url")
    if ":" in text and _IPV6_HINT.search(text):
        needs.add("ipv6")
    if not has_digit:
        return frozenset(needs)
    cluster = 0  # digits in the current run of digit groups (gaps of up to 4 characters)
    last_end = -10
    for m in _DIGIT_RUN.finditer(text):
        s, e = m.span()
        if s - last_end <= 4:
            cluster += e - s
        else:
            cluster = e - s
        if cluster >= _MIN_NUM_DIGITS:
            needs.add("num")
        if e < len(text) and text[e] in "-./\u2013" and text[e + 1: e + 2].isdigit():
            needs.update(("ipv4", "date"))  # 1.2.3.4, 2020-01-31, 31.01.2020
        if s >= 2 and e - s >= 2 and text[s - 2: s].isalpha():
            needs.add("iban")
        last_end = e
    low = text.lower()
    if "date" not in needs and (_DIGIT_MONTH.search(low) or _MONTH_DIGIT.search(low)):
        needs.add("date")  # "5 May 2020", "May 5th, 2020", "5 мая 2020 г."
    if "сери" in low or "series" in low:
        needs.add("passport")
    if needs:
        needs.add("num")
    return frozenset(needs)


def _date_ok(value: str) -> bool:
    nums = [int(x) for x in re.findall(r"\d+", value)]
    if len(nums) == 3 and not re.search(r"[A-Za-zА-Яа-я]", value):
        if nums[0] > 31:  # year first
            year, a, b = nums
            month, day = a, b
        else:
            day, month, year = nums
            if month > 12 and day <= 12:
                day, month = month, day
        return 1 <= month <= 12 and 1 <= day <= 31 and (year < 100 or 1890 <= year <= 2100)
    return len(nums) == 2 and 1 <= nums[0] <= 31 and 1890 <= nums[1] <= 2100


def _ipv4_ok(value: str) -> bool:
    parts = value.split(".")
    return all(len(p) <= 3 and int(p) <= 255 and (p == "0" or p[0] != "0") for p in parts)


def _ipv6_ok(value: str) -> bool:
    if value.count(":") < 2 or not any(c.isalnum() for c in value):
        return False
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    # "12:30:45" is a time, "1::2" a ratio: demand a compressed form with hex or 8 groups
    return value.count(":") >= 7 or ("::" in value and len(value) >= 6)


_URL_TRAIL = ".,;:!?)]}'\""


def _trim_url(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1] in _URL_TRAIL:
        if text[end - 1] == ")" and text[start:end].count("(") >= text[start:end].count(")"):
            break
        end -= 1
    return end


@dataclass(frozen=True)
class _Num:
    digits: str
    groups: tuple[int, ...]
    plus: bool
    paren: bool
    ext: bool
    seps: str


_EXT = re.compile(r"[ ]?(?:x|ext\.?|доб\.?)[ ]?\d{1,6}$")
_SPLIT = re.compile(r"[^\d]+")


_DIGIT_RUN = re.compile(r"\d+")
_SEPARATOR = re.compile(r"[^\d+()]")


def _parse_num(value: str) -> _Num:
    ext = _EXT.search(value) if "x" in value or "e" in value or "д" in value else None
    core = value[: ext.start()] if ext else value
    runs = _DIGIT_RUN.findall(core)
    seps = "".join(sorted(set(_SEPARATOR.findall(core))))
    return _Num("".join(runs), tuple(len(g) for g in runs), core.startswith("+"),
                "(" in core, ext is not None, seps)


def _classify(value: str, ctx: str) -> tuple[str, float] | None:  # noqa: C901, PLR0911, PLR0912
    """The entity type and score of a run of digits, or None."""
    n = _parse_num(value)
    d, g, k = n.digits, n.groups, len(n.digits)
    if k < 7 or k > 19:
        return None
    plain = len(g) == 1 and not n.plus
    # cards: 12-19 digits, issuer range, Luhn, grouped in fours (Amex 4-6-5, Diners 4-6-4)
    if 12 <= k <= 19 and not n.plus and not n.paren and not n.ext and (
        plain or all(x == 4 for x in g[:-1]) or g in ((4, 6, 5), (4, 6, 4))
    ) and luhn_ok(d) and card_brand(d):
        if not (plain and k == 12 and inn_ok(d) and _has(ctx, RU_INN)):
            return CREDIT_CARD, 0.95 if _has(ctx, CREDIT_CARD) else 0.85
    # SNILS: 123-456-789 01 or 11 plain digits
    if k == 11 and (g in ((3, 3, 3, 2), (9, 2)) or plain) and not n.plus and snils_ok(d):
        if _has(ctx, RU_SNILS):
            return RU_SNILS, 0.95
        if not plain:
            return RU_SNILS, 0.85
        if not (ru_phone_ok(d) or _has(ctx, PHONE)):
            return RU_SNILS, 0.55
    # INN: 10 or 12 plain digits with check digits
    if plain and k in (10, 12) and inn_ok(d):
        if _has(ctx, RU_INN):
            return RU_INN, 0.95
        if not (_has(ctx, PHONE) or _has(ctx, RU_PASSPORT)):
            return RU_INN, 0.7 if k == 12 else 0.5
    # passport: 45 09 123456, 4509 123456, or 10 digits next to a passport word
    if k == 10 and not n.plus and (g in ((2, 2, 6), (4, 6)) or plain):
        if _has(ctx, RU_PASSPORT):
            return RU_PASSPORT, 0.9
        if g == (2, 2, 6) and n.seps.strip() == "":
            return RU_PASSPORT, 0.6
        if g == (4, 6) and n.seps.strip() == "":
            return RU_PASSPORT, 0.4
    # US SSN: 123-45-6789 (or 9 digits next to "SSN")
    if k == 9 and not n.plus and (g == (3, 2, 4) or plain) and ssn_ok(d):
        if _has(ctx, US_SSN):
            return US_SSN, 0.95
        if g == (3, 2, 4) and len(n.seps) == 1:
            return US_SSN, 0.6
    return _classify_phone(n, ctx)


def _classify_phone(n: _Num, ctx: str) -> tuple[str, float] | None:  # noqa: PLR0911
    d, g, k = n.digits, n.groups, len(n.digits)
    ctx_hit = _has(ctx, PHONE)
    if len(g) > 1 and g[-1] == 1:
        return None  # "555-123-4567 2": a count after the number, not part of it
    if n.plus:
        if d.startswith("7") and k != 11:
            return None
        if d.startswith("1") and not nanp_ok(d):
            return None
        if 8 <= k <= 15 and (len(g) > 1 or ctx_hit or k >= 10):
            return PHONE, 0.9 if ctx_hit else 0.75
        return None
    if d[0] == "0" and d[1] != "0" and 9 <= k <= 12 and len(g) > 1 and g[0] <= 5:
        return PHONE, 0.9 if ctx_hit else 0.6  # a national number with its trunk 0
    if any(x > 4 for x in g[1:]) and not (len(g) == 2 and g[0] <= 3):
        return None  # national numbers are written in short groups after the first
    if d.startswith("00") and 10 <= k <= 17:
        rest = d[2:]
        if rest.startswith("1") and nanp_ok(rest):
            return PHONE, 0.8
        if len(g) > 1:
            return PHONE, 0.65 if not ctx_hit else 0.9
    if k == 11 and d[0] in "78" and (n.paren or g in ((1, 3, 3, 2, 2), (1, 3, 3, 4),
                                                     (1, 3, 7))):
        return PHONE, 0.9 if ctx_hit else 0.75
    if ru_phone_ok(d):
        if len(g) > 1:
            return PHONE, 0.9 if ctx_hit else 0.75
        return PHONE, 0.85 if ctx_hit else (0.55 if d[1] == "9" else 0.4)
    if nanp_ok(d):
        if len(g) > 1 and (g[-2:] == (3, 4) or n.paren):
            return PHONE, 0.9 if ctx_hit else 0.75
        return PHONE, 0.8 if ctx_hit else (0.5 if k == 10 and len(g) == 1 else 0.4)
    if ctx_hit and len(g) == 1 and 10 <= k <= 12:
        return PHONE, 0.7
    if k == 7 and g in ((3, 4), (3, 2, 2)) and ctx_hit:
        return PHONE, 0.7
    if ctx_hit and 7 <= k <= 12 and len(g) > 1:
        return PHONE, 0.6
    return None


def _classify_run(text: str, start: int, end: int, extra: str) -> list[tuple[int, int, str, float]]:
    """Classify a run of digit groups; if the whole run is nothing, try it without its
    first or last space-separated parts (a phone followed by an unrelated count merges
    into one run)."""
    value = text[start:end]
    res = _classify(value, _context_of(text, start, extra))
    if res:
        return [(start, end, res[0], res[1])]
    pieces = [(m.start() + start, m.end() + start) for m in re.finditer(r"[^ \u00a0]+", value)]
    if not 2 <= len(pieces) <= 8:
        return []
    n = len(pieces)
    # shorter windows that keep the first part, then the last part
    windows = [(0, j) for j in range(n - 2, -1, -1)] + [(i, n - 1) for i in range(1, n)]
    for i, j in windows:
        s, e = pieces[i][0], pieces[j][1]
        if not (text[s].isdigit() or text[s] in "+("):
            continue
        r = _classify(text[s:e], _context_of(text, s, extra))
        if r:
            return [(s, e, r[0], r[1])]
    return []


# ---------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------


@cache
def _names(kind: str) -> frozenset[str]:
    words: set[str] = set()
    for lang in ("en", "ru", "intl"):
        data = resources.files("dozor.detect.pii").joinpath(f"data/{kind}_names_{lang}.txt")
        words.update(w.strip().lower() for w in data.read_text("utf-8").splitlines() if w)
    return frozenset(words)


# Capitalised words that never belong to a name: trimmed from the edges of a sequence.
_STOP = frozenset("""
a an the i in on at of to for and or but not no yes my your our his her its their this that
these those it we he she they you me him them mr mrs ms miss dr prof sir is are was were be
been can will dear hi hello thanks thank please best regards sincerely monday tuesday
wednesday thursday friday saturday sunday january february march april may june july
august september october november december street avenue road lane drive court park city
state county north south east west new old visa mastercard amex iban card account phone
email address passport inn snils ssn date birth born name first last full id number total
order invoice bank group company inc ltd llc corp plc co gmbh team project data test user
admin customer client manager payment see call ship wire login employee patient profile
contact contacts account the dear sons and
клиент сотрудник паспорт адрес заказ оплата перевод контакты позвоните версия вход снилс
инн дата телефон г ул д кв
""".split())
# Given names or surnames that are also ordinary words: a name only next to another name,
# a title or a name context.
_AMBIGUOUS = frozenset("""
mark bill rose grant hope faith joy dawn summer autumn winter spring art king young white
black brown green gray grey long short little hill price bell wood stone page case chase
miles mason carter cook baker miller hunter walker turner parker cole lee love major hall
field english french christian will may june april august jan guy penny lane gene ray
""".split())
_ORG_AFTER = re.compile(r"^[ \u00a0,]*(?:and|&)?[ \u00a0]*(?:Sons|LLC|Inc|Ltd|PLC|Group|Corp|"
                        r"Company|Co\b|GmbH|ООО|АО|Bank|University|College|School|Foundation)")
_TITLES = re.compile(
    r"(?:\b(?:mr|mrs|ms|miss|dr|prof|sir|madam|mx)\.?|\b(?:г-н|г-жа|господин|госпожа)\.?)"
    r"[ \u00a0]*$",
    re.IGNORECASE,
)
_NAME_CONTEXT = re.compile(
    r"(?<![a-zа-яё])(?:name|имя|фио|ф\.и\.о|patient|employee|author|клиент|сотрудник|"
    r"пациент|меня зовут|signed|dear|уважаем|person|customer|client|contact|"
    r"belongs to|wrote|i'm|i am|thanks|regards|cheers|спасибо|с уважением|assistant to|"
    r"founders?|said|told|asked|spoke|speak to|under|sung by|by)"
)
_PATRONYMIC = re.compile(r"(?:ович|евич|ьич|ична|овна|евна|инична)$")
_UP = "A-ZÀ-ÖØ-ÞĀ-ŽА-ЯЁÞ"
_LOW = "a-zß-öø-ÿā-žа-яё"
_WORD = f"[{_UP}][{_LOW}'’]{{1,24}}(?:-[{_UP}][{_LOW}]{{1,24}})?"
_CAP_SEQ = re.compile(
    rf"(?<![\w\-]){_WORD}(?:[ \u00a0]+(?:[A-Z]\.?[ \u00a0]+)?{_WORD}){{0,3}}(?![\w])"
)


def _base(word: str) -> str:
    """A word as the name lists hold it: lower case, without a possessive "'s"."""
    w = word.lower()
    for end in ("'s", "’s"):
        if w.endswith(end):
            return w[: -len(end)]
    return w.strip("'’")


_SPEAKER = re.compile(r"(?:^|\n)[ \t]*$")


def _person_score(low: list[str], titled: bool, named_ctx: bool) -> float:  # noqa: PLR0911
    first, last = _names("first"), _names("last")
    is_first = [w in first for w in low]
    is_last = [w in last or (w.endswith("а") and w[:-1] in last) for w in low]
    ambiguous = [w in _AMBIGUOUS for w in low]
    clear = [(f or la) and not a for f, la, a in zip(is_first, is_last, ambiguous, strict=True)]
    if len(low) >= 2:
        if any(_PATRONYMIC.search(w) for w in low[1:]) and (
            any(is_first) or any(is_last) or len(low) == 3
        ):
            return 0.9
        if is_first[0] and any(is_last[1:]) and (any(clear) or titled or named_ctx):
            return 0.85
        if any(is_first) and any(is_last) and any(clear):
            return 0.75
        if is_first[0] and not ambiguous[0]:
            return 0.7
        if titled or named_ctx:
            return 0.7 if any(is_first) or any(is_last) else 0.6
        return 0.0
    if titled:
        return 0.8 if (is_first[0] or is_last[0]) else 0.6
    if named_ctx and (is_first[0] or is_last[0]) and not ambiguous[0]:
        return 0.6
    return 0.0


def _find_names(text: str, extra: str) -> list[tuple[int, int, str, float]]:
    first, last = _names("first"), _names("last")
    out: list[tuple[int, int, str, float]] = []
    for m in _CAP_SEQ.finditer(text):
        words = [w for w in m.group().split() if not (len(w) <= 2 and w[0].isupper()
                                                       and (len(w) == 1 or w[1] == "."))]
        low = [_base(w) for w in words]
        lead, tail = 0, len(low)
        while lead < tail and low[lead].rstrip(".") in _STOP:
            lead += 1
        while tail > lead and low[tail - 1].rstrip(".") in _STOP:
            tail -= 1
        if lead == tail:
            continue
        # a capitalised word before the first known name ("Yesterday John Smith")
        known_at = [i for i in range(lead, tail) if low[i] in first or low[i] in last]
        if known_at and known_at[0] > lead and not any(_PATRONYMIC.search(w) for w in low):
            lead = known_at[0]
        offsets = []
        pos = 0
        for w in words:
            pos = m.group().index(w, pos)
            offsets.append(pos)
            pos += len(w)
        s = m.start() + offsets[lead]
        e = m.start() + offsets[tail - 1] + len(words[tail - 1])
        if _ORG_AFTER.match(text, e):
            continue
        ctx = (text[max(0, s - 40) : s] + " " + extra).lower()
        titled = bool(_TITLES.search(text[max(0, s - 12) : s]))
        named_ctx = _NAME_CONTEXT.search(ctx) is not None
        if tail - lead == 1 and text.startswith(":", e) and _SPEAKER.search(text, 0, s):
            named_ctx = True  # "Nicole: Remember me?" - a speaker in a dialogue
        score = _person_score(low[lead:tail], titled, named_ctx)
        if score:
            out.append((s, e, PERSON, score))
    return out


# ---------------------------------------------------------------------------------------
# Addresses
# ---------------------------------------------------------------------------------------

_US_SUFFIX = (
    "Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|"
    "Terrace|Ter|Circle|Cir|Parkway|Pkwy|Highway|Hwy|Square|Sq|Trail|Trl|Loop|Pike|Plaza|"
    "Alley|Crossing|Ridge|Heights|Hts|Point|Pt|Expressway|Freeway|Turnpike|Row|Walk|Path|"
    "Run|Bend|Cove|Creek|Crest|Estates|Falls|Ferry|Fields|Forest|Fork|Fort|Garden|Gardens|"
    "Gateway|Glen|Green|Grove|Harbor|Haven|Hill|Hills|Hollow|Island|Isle|Junction|Key|"
    "Knoll|Knolls|Lake|Lakes|Landing|Light|Lodge|Manor|Meadow|Meadows|Mill|Mills|Mission|"
    "Motorway|Mount|Mountain|Orchard|Oval|Overpass|Park|Pass|Passage|Pines|Plains|Port|"
    "Prairie|Radial|Ranch|Rapids|Rest|River|Shoal|Shoals|Shore|Shores|Spring|Springs|"
    "Station|Stream|Summit|Throughway|Trace|Track|Trafficway|Tunnel|Union|Valley|Via|"
    "Viaduct|View|Views|Village|Ville|Vista|Wall|Well|Wells|Causeway|Center|Centre|Cliff|"
    "Cliffs|Club|Common|Corner|Corners|Course|Courts|Curve|Dale|Dam|Divide|Extension|"
    "Flat|Flats|Ford|Fords|Forge|Parks|Ramp|Skyway|Spur|Stravenue|Underpass|Cape|Plain|"
    "Plains|Port|Ports|Points|Ridges|Villages|Unions|Routes|Route|Burg|Burgs|Canyon|Camp|"
    "Crescent|Grounds|Harbors|Inlet|Junctions|Mall|Mews|Neck|Orchard|Pine|Radial|Rue|"
    "Shoals|Squares|Streets|Stream|Turn|Vista|Viaducts|Ways|Wells|Bypass|Bluff|Bluffs|"
    "Bottom|Branch|Bridge|Brook|Brooks|Center|Centers|Circles|Commons|Crossroad|Curve|"
    "Dale|Dam|Divide|Estate|Expressway|Extension|Extensions|Fall|Glens|Greens|Groves|"
    "Harbor|Hills|Hollow|Islands|Lakes|Loaf|Lock|Locks|Manors|Meadows|Mount|Oval|Pass|"
    "Pike|Rapid|Ridge|Shore|Spring|Summit|Throughway|Track|Trafficway|Valleys|Views|Wall"
)
_US_ADDRESS = re.compile(
    r"\b\d{1,6}[ \u00a0]+(?:[NSEW]\.?[ ]+)?(?:[A-Z][a-z]{1,20}[ \u00a0]+){1,3}"
    r"(?:" + _US_SUFFIX + r")s?\b\.?"
    r"(?:,?[ ]+(?:Apt\.?|Suite|Ste\.?|Unit|#)[ ]?\w{1,6})?"
    r"(?:,?[ \n]+[A-Z][a-z]{1,20}(?:[ ][A-Z][a-z]{1,20}){0,2},[ ]?[A-Z]{2}[ ]+\d{5}(?:-\d{4})?)?"
)
_US_MILITARY = re.compile(
    r"\b(?:(?:USNS|USNV|USS|USCGC)[ ][A-Z][a-z]{1,20}|PSC[ ]\d{1,5},[ ]Box[ ]\d{1,5}|"
    r"Unit[ ]\d{1,5}[ ]Box[ ]\d{1,5}),?\s{1,3}(?:FPO|APO|DPO)[ ]A[AEP][ ]\d{5}\b"
)
# "Søndergade 52", "12 Kiannonkatu 98 Apt. 4": a street name, then its house number, and
# an apartment marker or a following line with a postcode or a CAPITAL city; Europe and
# most of the world write addresses this way.
_STREET_WORD = rf"[{_UP}{_LOW}][{_LOW}{_UP}'’.\-]{{1,30}}"
_INTL_ADDRESS = re.compile(
    rf"(?<![\w.])(?:\d{{1,6}}[ ]+)?(?!(?i:apt|suite|unit|box|flat)\b)"
    rf"[{_UP}][{_LOW}{_UP}'’.\-]{{1,30}}"
    rf"(?:[ ]{_STREET_WORD}){{0,3}}[ ]+\d{{1,5}}[a-zA-Z]?"
    rf"(?:/\d{{1,4}})?\b"
    rf"(?=(?:[,.]?\s{{1,3}}(?i:apt|suite|ste|unit|flat|apartment|кв)\.?[ ]?\d)"
    rf"|(?:,?\s{{1,3}}\d{{4,6}}\b)|(?:,?\s{{1,3}}[{_UP}]{{3,}}\b))"
    rf"(?:[,.]?\s{{1,3}}(?i:apt|suite|ste|unit|flat|apartment)\.?[ ]?\d{{1,5}})?"
    rf"(?:,?\s{{1,3}}(?:[{_UP}][{_UP}{_LOW}\-]{{1,30}}(?:[ ][{_UP}][{_UP}{_LOW}\-]{{1,30}}){{0,2}}"
    rf"|\d{{4,6}}|[A-Z]{{2}}[ ]\d{{5}})){{0,4}}"
)
_RU_ADDRESS = re.compile(
    r"(?:(?:\d{6},?[ ]*)?(?:(?:г\.|город|пос\.|с\.|д\.|п\.|к\.|ст-ца|р-н)[ ]?[А-ЯЁ][\w\-]{1,30}"
    r"(?:[ ][А-ЯЁ][\w\-]{1,30})?,?[ ]*){0,2})"
    r"(?:ул\.|улица|пр\.|пр-т|проспект|пер\.|переулок|ш\.|шоссе|наб\.|набережная|бул\.|"
    r"бульвар|пл\.|площадь|проезд|пр-д|алл\.|аллея|мкр\.?)[ ]?(?:[А-ЯЁ]\.[ ]?){0,2}"
    r"[А-ЯЁ0-9][\w\-]{0,30}"
    r"(?:[ ][А-ЯЁа-яё][\w\-]{1,30}){0,2},?[ ]*(?:д\.|дом)[ ]?\d{1,4}(?:/\d{1,4})?[а-яА-Я]?"
    r"(?:,?[ ]*(?:к\.|корп\.|стр\.)[ ]?\d{1,4})?(?:,?[ ]*(?:кв\.|квартира|оф\.)[ ]?\d{1,5})?"
    r"(?:,[ ]*\d{6})?"
)


def _find_addresses(text: str) -> list[tuple[int, int, str, float]]:
    out = [(m.start(), m.end(), ADDRESS, 0.88) for m in _US_ADDRESS.finditer(text)]
    out += [(m.start(), m.end(), ADDRESS, 0.88) for m in _US_MILITARY.finditer(text)]
    out += [(m.start(), m.end(), ADDRESS, 0.7) for m in _INTL_ADDRESS.finditer(text)]
    if _RU_STREET_MARK.search(text):  # the expression tries every position: gate it
        out += [(m.start(), m.end(), ADDRESS, 0.88) for m in _RU_ADDRESS.finditer(text)]
    return out


_RU_STREET_MARK = re.compile(r"(?:ул|пр|пер|ш|наб|бул|пл|алл|мкр|д)\.|улиц|проспект|переул|"
                             r"шоссе|набережн|бульвар|площад|проезд|пр-|аллея|дом\b")


# ---------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------

_WANTS_NUMERIC = frozenset({PHONE, CREDIT_CARD, RU_PASSPORT, RU_INN, RU_SNILS, US_SSN})


def find_pii(
    text: str,
    *,
    entities: Iterable[str] | None = None,
    languages: Iterable[str] = ("en", "ru"),
    min_score: float = 0.5,
    context: str = "",
) -> list[PiiMatch]:
    """Personal data in `text`, as non-overlapping matches in text order.

    `entities` limits the types reported (default: all of `ENTITIES`); `languages`
    chooses the English and/or Russian name and address recognisers (shaped values are
    found in any language); `context` is extra context text, such as a column name
    ("phone", "ИНН"), that counts as if it stood before every value.
    """
    if not isinstance(text, str) or not text:
        return []
    text = text[:MAX_TEXT]
    if entities is None:
        wanted = _ALL
    else:
        wanted = entities if isinstance(entities, frozenset) else frozenset(entities)
    extra = context.lower()
    spans: list[tuple[int, int, str, float]] = []
    has_digit = _DIGIT.search(text) is not None
    if has_digit or "@" in text or "." in text or ":" in text:
        spans.extend(_combined(text, wanted, extra, has_digit))
        if len(text) <= 64 and _COMBINED.fullmatch(text):
            # one shaped value and nothing else (a typical column value): no words
            spans = [x for x in spans if x[2] in wanted and x[3] >= min_score]
            return [PiiMatch(e, s, t, text[s:t], round(sc, 3)) for s, t, e, sc in spans]
    if PERSON in wanted and _may_hold_names(text, languages):
        spans.extend(_find_names(text, extra))
    if ADDRESS in wanted and has_digit and _WORDISH.search(text):
        spans.extend(_find_addresses(text))
    spans = [s for s in spans if s[2] in wanted and s[3] >= min_score]
    return [PiiMatch(e, s, t, text[s:t], round(sc, 3)) for s, t, e, sc in _resolve(spans)]


_ALL = frozenset(ENTITIES)
_DIGITS = "0123456789"
_DIGIT = re.compile(r"\d")
_WORDISH = re.compile(r"[^\W\d_]{2}")
_LATIN_NAME = re.compile(f"[A-ZÀ-ÖØ-ÞĀ-Ž][{_LOW}]")
_CYRILLIC_NAME = re.compile(r"[А-ЯЁ][а-яё]")


def _may_hold_names(text: str, languages: Iterable[str]) -> bool:
    if languages == ("en", "ru"):
        return _LATIN_NAME.search(text) is not None or _CYRILLIC_NAME.search(text) is not None
    langs = set(languages)
    if "en" in langs and _LATIN_NAME.search(text):
        return True
    return "ru" in langs and _CYRILLIC_NAME.search(text) is not None


def _combined(text: str, wanted: frozenset[str], extra: str, has_digit: bool = True
              ) -> list[tuple[int, int, str, float]]:
    out: list[tuple[int, int, str, float]] = []
    needs = _triggers(text, has_digit)
    if not needs:
        return out
    for m in _combined_for(needs).finditer(text):
        kind = m.lastgroup
        s, e = m.span()
        if kind == "email":
            out.append((s, e, EMAIL, 0.9))
        elif kind == "url":
            e = _trim_url(text, s, e)
            scheme = text[s : s + 4].lower() in ("http", "ftp:", "www.")
            out.append((s, e, URL, 0.8 if scheme else 0.55))
        elif kind == "ipv4":
            if _ipv4_ok(m.group()):
                out.append((s, e, IP_ADDRESS, 0.85))
        elif kind == "ipv6":
            if _ipv6_ok(m.group()):
                out.append((s, e, IP_ADDRESS, 0.85))
        elif kind == "date":
            if DATE_OF_BIRTH in wanted and _date_ok(m.group()):
                if _has(_context_of(text, s, extra), DATE_OF_BIRTH):
                    out.append((s, e, DATE_OF_BIRTH, 0.85))
        elif kind == "iban":
            if iban_ok(m.group()):
                out.append((s, e, IBAN, 0.95 if _has(_context_of(text, s, extra), IBAN) else 0.9))
        elif kind == "passport":
            digit = re.search(r"\d", m.group())
            ds = s + (digit.start() if digit else 0)
            out.append((ds, e, RU_PASSPORT, 0.95))
        elif kind == "num" and wanted & _WANTS_NUMERIC:
            if e - s >= 7 and sum(map(text.count, _DIGITS, repeat(s), repeat(e))) >= 7:
                # shorter runs ("item 12", "2 of 3") are no identifier or phone number:
                # `_classify` wants at least 7 digits, in the whole run or a part of it
                out.extend(_classify_run(text, s, e, extra))
    return out


def _resolve(spans: list[tuple[int, int, str, float]]) -> list[tuple[int, int, str, float]]:
    """Drop matches that overlap a stronger (higher score, then longer) one."""
    if len(spans) < 2:
        return spans
    ranked = sorted(spans, key=lambda x: (-x[3], -(x[1] - x[0]), x[0]))
    kept: list[tuple[int, int, str, float]] = []
    for cand in ranked:
        if all(cand[1] <= k[0] or cand[0] >= k[1] for k in kept):
            kept.append(cand)
    return sorted(kept)
