"""Checksums and range checks that turn a digit pattern into a credible identifier.

Why validators: most identifiers are runs of digits that any number can imitate. A
check digit (Luhn for cards, mod 97 for IBAN, the weighted sums of the Russian INN and
SNILS) or a documented range (US SSN areas, North American area codes) rejects nine in
ten random numbers, so a candidate is reported only after it passes.
"""

from __future__ import annotations

IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
    "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
    "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
    "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27,
    "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28,
    "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}
"""Registered IBAN lengths per country (SWIFT IBAN registry)."""


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check used by payment cards."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def card_brand(digits: str) -> str | None:
    """The card scheme whose issuer ranges and lengths admit `digits`, or None."""
    n = len(digits)
    p2, p3, p4, p6 = int(digits[:2]), int(digits[:3]), int(digits[:4]), int(digits[:6])
    if digits[0] == "4" and n in (13, 16, 19):
        return "visa"
    if (51 <= p2 <= 55 or 222100 <= p6 <= 272099) and n == 16:
        return "mastercard"
    if p2 in (34, 37) and n == 15:
        return "amex"
    if 2200 <= p4 <= 2204 and 16 <= n <= 19:
        return "mir"
    if p2 == 62 and 16 <= n <= 19:
        return "unionpay"
    if (p4 == 6011 or p2 == 65 or 644 <= p3 <= 649 or 622126 <= p6 <= 622925) and 16 <= n <= 19:
        return "discover"
    if (p2 == 35 and 16 <= n <= 19) or (p4 in (2131, 1800) and n == 15):
        return "jcb"  # 3528-3589 issued; 2131 and 1800: JCB's older 15-digit ranges
    if (300 <= p3 <= 305 or p2 in (36, 38, 39) or p4 == 3095) and 14 <= n <= 19:
        return "diners"
    if (p2 in (50, 56, 57, 58, 63, 67) or p2 == 60 or p2 == 69) and 12 <= n <= 19:
        return "maestro"
    return None


def iban_ok(value: str) -> bool:
    """Country length and the ISO 13616 mod-97 check (spaces ignored)."""
    s = value.replace(" ", "").upper()
    if len(s) < 15 or IBAN_LENGTHS.get(s[:2]) != len(s) or not s[2:4].isdigit():
        return False
    if not s.isalnum() or not s.isascii():
        return False
    moved = s[4:] + s[:4]
    num = "".join(str(int(ch, 36)) for ch in moved)
    return int(num) % 97 == 1


_INN10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12A = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12B = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def _inn_digit(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11 % 10


def inn_ok(digits: str) -> bool:
    """Russian taxpayer number: 10 digits (organisations) or 12 (persons), check digits."""
    if not digits.isdigit() or digits[:2] == "00":
        return False
    if len(digits) == 10:
        return _inn_digit(digits, _INN10) == int(digits[9])
    if len(digits) == 12:
        return (_inn_digit(digits, _INN12A) == int(digits[10])
                and _inn_digit(digits, _INN12B) == int(digits[11]))
    return False


def snils_ok(digits: str) -> bool:
    """Russian insurance number (SNILS): 9 digits and a 2-digit control number."""
    if len(digits) != 11 or not digits.isdigit():
        return False
    body, control = digits[:9], int(digits[9:])
    if body == "000000000":
        return False
    total = sum(int(d) * (9 - i) for i, d in enumerate(body))
    if total > 101:
        total %= 101
    expected = 0 if total in (100, 101) else total
    return expected == control


def ssn_ok(digits: str) -> bool:
    """US SSN ranges: area not 000, 666 or 900-999; group not 00; serial not 0000."""
    if len(digits) != 9 or not digits.isdigit():
        return False
    area, group, serial = int(digits[:3]), int(digits[3:5]), int(digits[5:])
    if area == 0 or area == 666 or area >= 900 or group == 0 or serial == 0:
        return False
    return digits not in ("078051120", "219099999", "123456789")


def nanp_ok(digits: str) -> bool:
    """A North American number: 10 digits, area and exchange codes start with 2-9."""
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    if len(digits) != 10 or not digits.isdigit():
        return False
    return digits[0] >= "2" and digits[3] >= "2" and digits[1:3] != "11"


def ru_phone_ok(digits: str) -> bool:
    """A Russian number written with 8 or 7: 11 digits, a 3-digit code starting 3-9."""
    return (len(digits) == 11 and digits[0] in "78" and digits.isdigit()
            and digits[1] in "3456789")
