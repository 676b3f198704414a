"""Format-preserving fake values: a fake email is an email, a fake card passes Luhn.

Each fake is drawn from a random generator seeded with HMAC(key, value), so the same
value always gives the same fake (joins still match) and nobody without the key can
link a fake back to its value. Downstream code that validates formats (a card's Luhn
digit, an INN or SNILS checksum, an IBAN's mod-97) keeps working on the fakes.

Fakes never come from real ranges where a safe one exists: emails use the reserved
``example.*`` domains (RFC 2606), IPv4 the private 10.0.0.0/8 block, IPv6 the
documentation prefix 2001:db8::/32. Small built-in name lists are enough here: the
point is a plausible shape, not realistic statistics (Faker would be a big dependency
for a few dozen names).
"""

from __future__ import annotations

import hashlib
import hmac
import random
import re
from collections.abc import Callable
from datetime import date, timedelta

_EN_FIRST = ("James", "Mary", "Robert", "Linda", "Michael", "Susan", "David", "Karen",
             "Daniel", "Laura", "Paul", "Emma", "Mark", "Alice", "Peter", "Grace")
_EN_LAST = ("Smith", "Brown", "Taylor", "Wilson", "Clark", "Lewis", "Walker", "Hall",
            "Young", "King", "Wright", "Green", "Baker", "Adams", "Nelson", "Hill")
_RU_FIRST = ("Иван", "Мария", "Пётр", "Анна", "Сергей", "Ольга", "Дмитрий", "Елена",
             "Алексей", "Наталья", "Михаил", "Татьяна", "Андрей", "Ирина")
_RU_LAST = ("Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов",
            "Михайлов", "Новиков", "Фёдоров", "Морозов", "Волков", "Лебедев", "Козлов")
_DOMAINS = ("example.com", "example.org", "example.net")
_CYR = "абвгдежзийклмнопрстуфхцчшщэюя"


def rng_for(key: bytes, value: str, salt: str = "") -> random.Random:
    """A generator seeded by HMAC-SHA256(key, salt + value): deterministic, keyed."""
    digest = hmac.new(key, (salt + "\x1f" + value).encode("utf-8", "surrogatepass"),
                      hashlib.sha256).digest()
    return random.Random(int.from_bytes(digest, "big"))


def luhn_check_digit(payload: str) -> str:
    """The digit that makes `payload` + digit pass the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def inn_valid(inn: str) -> bool:
    """Russian taxpayer number (ИНН): 10 digits for organisations, 12 for people."""
    if not inn.isdigit() or len(inn) not in (10, 12):
        return False
    body = 9 if len(inn) == 10 else 10
    return _inn_tail(inn[:body]) == inn[body:]


_INN_W = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def _inn_digit(digits: str) -> str:
    weights = _INN_W[-len(digits):]
    return str(sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11 % 10)


def _inn_tail(body: str) -> str:
    """Check digits for a 9-digit (org) or 10-digit (person) INN body."""
    if len(body) == 9:
        return _inn_digit(body)
    first = _inn_digit(body)
    return first + _inn_digit(body + first)


def snils_checksum(body: str) -> str:
    """The two check digits of a 9-digit SNILS body (СНИЛС)."""
    total = sum(int(d) * (9 - i) for i, d in enumerate(body))
    if total < 100:
        return f"{total:02d}"
    if total in (100, 101):
        return "00"
    rest = total % 101
    return "00" if rest == 100 else f"{rest:02d}"


def snils_valid(snils: str) -> bool:
    digits = re.sub(r"\D", "", snils)
    return len(digits) == 11 and snils_checksum(digits[:9]) == digits[9:]


def iban_valid(iban: str) -> bool:
    text = re.sub(r"\s", "", iban).upper()
    if len(text) < 15 or not text[:2].isalpha() or not text[2:4].isdigit():
        return False
    moved = text[4:] + text[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _shape(value: str, rng: random.Random, keep_prefix: int = 0) -> str:
    """Replace each digit and letter by a random one of the same kind, case and script."""
    out = []
    for i, ch in enumerate(value):
        if i < keep_prefix or not ch.isalnum():
            out.append(ch)
        elif ch.isdigit():
            out.append(str(rng.randrange(10)))
        elif "а" <= ch.lower() <= "я" or ch.lower() == "ё":
            c = rng.choice(_CYR)
            out.append(c.upper() if ch.isupper() else c)
        else:
            c = chr(ord("a") + rng.randrange(26))
            out.append(c.upper() if ch.isupper() else c)
    return "".join(out)


def _put_digits(template: str, digits: str) -> str:
    """Write `digits` into the digit positions of `template`, keeping separators."""
    it = iter(digits)
    return "".join(next(it) if ch.isdigit() else ch for ch in template)


def fake_email(value: str, rng: random.Random) -> str:
    local = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(10))
    return f"user.{local}@{rng.choice(_DOMAINS)}"


def fake_card(value: str, rng: random.Random) -> str:
    digits = re.sub(r"\D", "", value)
    if not 12 <= len(digits) <= 19:
        return _shape(value, rng)
    body = digits[0] + "".join(str(rng.randrange(10)) for _ in range(len(digits) - 2))
    return _put_digits(value, body + luhn_check_digit(body))


def fake_inn(value: str, rng: random.Random) -> str:
    digits = re.sub(r"\D", "", value)
    if len(digits) not in (10, 12):
        return _shape(value, rng)
    body = str(rng.randrange(1, 10)) + "".join(
        str(rng.randrange(10)) for _ in range(len(digits) - (2 if len(digits) == 10 else 3)))
    return _put_digits(value, body + _inn_tail(body))


def fake_snils(value: str, rng: random.Random) -> str:
    digits = re.sub(r"\D", "", value)
    if len(digits) != 11:
        return _shape(value, rng)
    body = f"{rng.randrange(2_000_000, 999_999_999):09d}"  # above 001-001-998: checksum applies
    return _put_digits(value, body + snils_checksum(body))


def fake_iban(value: str, rng: random.Random) -> str:
    compact = re.sub(r"\s", "", value).upper()
    if len(compact) < 15 or not compact[:2].isalpha():
        return _shape(value, rng)
    bban = _shape(compact[4:], rng)
    moved = bban + compact[:2] + "00"
    check = 98 - int("".join(str(int(c, 36)) for c in moved)) % 97
    new = f"{compact[:2]}{check:02d}{bban}"
    if " " in value:
        return " ".join(new[i:i + 4] for i in range(0, len(new), 4))
    return new


def fake_ssn(value: str, rng: random.Random) -> str:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    digits = f"{area:03d}{rng.randrange(1, 100):02d}{rng.randrange(1, 10000):04d}"
    if len(re.sub(r"\D", "", value)) != 9:
        return f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"
    return _put_digits(value, digits)


def fake_ip(value: str, rng: random.Random) -> str:
    if ":" in value:
        return "2001:db8:" + ":".join(f"{rng.randrange(65536):x}" for _ in range(6))
    return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def fake_phone(value: str, rng: random.Random) -> str:
    keep = 2 if value.startswith("+") else 1  # keep the country or trunk prefix
    return _shape(value, rng, keep_prefix=keep)


_DATE_FORMATS = ((r"^(\d{4})-(\d{2})-(\d{2})", "ymd", "{y:04d}-{m:02d}-{d:02d}"),
                 (r"^(\d{2})\.(\d{2})\.(\d{4})$", "dmy", "{d:02d}.{m:02d}.{y:04d}"),
                 (r"^(\d{2})/(\d{2})/(\d{4})$", "mdy", "{m:02d}/{d:02d}/{y:04d}"))


def parse_date(value: str) -> tuple[date, str] | None:
    """A date in ISO, DD.MM.YYYY or MM/DD/YYYY form, with the format to write it back."""
    text = value.strip()
    for pattern, order, out in _DATE_FORMATS:
        m = re.match(pattern, text)
        if not m:
            continue
        a, b, c = (int(g) for g in m.groups())
        y, mo, d = {"ymd": (a, b, c), "dmy": (c, b, a), "mdy": (c, a, b)}[order]
        try:
            return date(y, mo, d), out
        except ValueError:
            return None
    return None


def fake_date(value: str, rng: random.Random) -> str:
    parsed = parse_date(value)
    if parsed is None:
        return _shape(value, rng)
    day, out = parsed
    shift = rng.choice([-1, 1]) * rng.randrange(30, 366)
    new = day + timedelta(days=shift)
    return out.format(y=new.year, m=new.month, d=new.day)


def fake_person(value: str, rng: random.Random) -> str:
    cyrillic = any("а" <= ch.lower() <= "я" for ch in value)
    first, last = (_RU_FIRST, _RU_LAST) if cyrillic else (_EN_FIRST, _EN_LAST)
    return f"{rng.choice(first)} {rng.choice(last)}"


def fake_url(value: str, rng: random.Random) -> str:
    path = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(8))
    return f"https://{rng.choice(_DOMAINS)}/{path}"


FAKERS: dict[str, Callable[[str, random.Random], str]] = {
    "EMAIL": fake_email,
    "CREDIT_CARD": fake_card,
    "RU_INN": fake_inn,
    "RU_SNILS": fake_snils,
    "IBAN": fake_iban,
    "US_SSN": fake_ssn,
    "IP_ADDRESS": fake_ip,
    "PHONE": fake_phone,
    "DATE_OF_BIRTH": fake_date,
    "DATE": fake_date,
    "PERSON": fake_person,
    "URL": fake_url,
}


def fake_value(value: str, entity: str | None, key: bytes) -> str:
    """A fake for `value` of kind `entity`, deterministic given the key; never the value."""
    maker = FAKERS.get(entity or "", _shape)
    for attempt in range(8):
        out = maker(value, rng_for(key, value, f"{entity}:{attempt}"))
        if out != value:
            return out
    return _shape(value, rng_for(key, value, "fallback")) if value.strip() else value
