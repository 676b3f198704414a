"""Anonymisation operators: what happens to one detected value.

Detection (which values are personal data) and operators (what to do with them) are
two separate steps, as in Presidio: the pipeline finds values with
`dozor.detect.pii.find_pii` or takes a whole column from the policy, and hands each
value to one of these.

| operator | output | reversible | joins keep working |
| --- | --- | --- | --- |
| ``redact`` | ``<EMAIL>`` | no | no |
| ``mask`` | ``************1111`` | no | no |
| ``generalize`` | ``1985-03``, ``30-39``, ``192.168.1.0/24``, ``941**`` | no | coarser |
| ``hash`` | ``EMAIL_6f1c0e2a9b7d4c13d2e8`` (HMAC-SHA256) | no | yes |
| ``fake`` | a valid value of the same kind (Luhn, INN, SNILS, IBAN) | no | yes |
| ``encrypt`` | ``dz1:…`` (AES-SIV) | with the key | yes |
| ``keep`` | the value | - | - |

Why AES-SIV for ``encrypt``: it is deterministic authenticated encryption (RFC 5297),
so the same value gives the same token (joins across tables still match, which a
random-nonce AES-GCM would break) and it stays safe without a nonce to store; a
tampered token fails to decrypt instead of restoring garbage. What it leaks is
equality of values, which joins need anyway.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dozor.data.anonymize.fake import fake_value, parse_date
from dozor.data.anonymize.keys import AnonKey

OPERATORS = ("redact", "mask", "generalize", "hash", "fake", "encrypt", "keep")
KEYED = frozenset({"hash", "fake", "encrypt"})
TOKEN_PREFIX = "dz1:"
TOKEN_RE = re.compile(r"dz1:[A-Za-z0-9_-]{22,4096}")
"""An encrypted token: base64url of the SIV tag (16 bytes) and the ciphertext."""
_AD = [b"dozor-anonymize-v1"]


@dataclass(frozen=True)
class OperatorSpec:
    """An operator name with its parameters, as written in a policy."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.name


def normalise_for_join(value: str) -> str:
    """The form that is hashed: NFKC, trimmed; e-mail addresses compared case-free."""
    text = unicodedata.normalize("NFKC", value).strip()
    if "@" in text and " " not in text:
        text = text.casefold()
    return text


class Operators:
    """Applies operator specs to values with one key; caches sub-keys and ciphers."""

    def __init__(self, key: AnonKey | None) -> None:
        self._key = key
        self._pseudo = key.derive("pseudonym") if key else b""
        self._fake = key.derive("fake") if key else b""
        self._siv: Any = None
        if key is not None:
            from cryptography.hazmat.primitives.ciphers.aead import AESSIV

            self._siv = AESSIV(key.derive("encrypt", 64))

    def apply(self, spec: OperatorSpec, value: str, entity: str | None) -> str:
        name = spec.name
        if name == "keep":
            return value
        if name in KEYED and self._key is None:
            raise ValueError(f"operator {name!r} needs a key")
        if name == "redact":
            return str(spec.params.get("text") or f"<{entity or 'REDACTED'}>")
        if name == "mask":
            return mask(value, keep=int(spec.params.get("keep", 4)),
                        char=str(spec.params.get("char", "*")))
        if name == "generalize":
            return generalize(value, entity, spec.params)
        if name == "hash":
            return self.pseudonym(value, entity, int(spec.params.get("length", 20)))
        if name == "fake":
            return fake_value(value, entity, self._fake)
        if name == "encrypt":
            return self.encrypt(value)
        raise ValueError(f"unknown operator {name!r}")

    def pseudonym(self, value: str, entity: str | None, length: int = 20) -> str:
        """``ENTITY_`` + the first `length` hex digits of HMAC-SHA256(key, value)."""
        digest = hmac.new(self._pseudo, normalise_for_join(value).encode("utf-8", "surrogatepass"),
                          hashlib.sha256).hexdigest()
        return f"{entity or 'ID'}_{digest[: max(12, min(length, 64))]}"

    def encrypt(self, value: str) -> str:
        token = self._siv.encrypt(value.encode("utf-8", "surrogatepass"), _AD)
        return TOKEN_PREFIX + base64.urlsafe_b64encode(token).rstrip(b"=").decode()

    def decrypt(self, token: str) -> str:
        """The value inside a ``dz1:`` token; raises ValueError on a wrong key or tampering."""
        from cryptography.exceptions import InvalidTag

        if self._siv is None:
            raise ValueError("decryption needs a key")
        body = token[len(TOKEN_PREFIX):]
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            return self._siv.decrypt(raw, _AD).decode("utf-8", "surrogatepass")
        except (InvalidTag, ValueError) as exc:
            raise ValueError("token does not decrypt with this key (wrong key or changed "
                             "token)") from exc

    def restore_text(self, text: str) -> tuple[str, int]:
        """Replace every ``dz1:`` token in `text` by its value; returns (text, count)."""
        count = 0

        def sub(m: re.Match[str]) -> str:
            nonlocal count
            count += 1
            return self.decrypt(m.group(0))

        return TOKEN_RE.sub(sub, text), count


def mask(value: str, *, keep: int = 4, char: str = "*") -> str:
    """Hide every letter and digit but the last `keep`; separators stay, so does ``@``."""
    alnum = [i for i, ch in enumerate(value) if ch.isalnum()]
    # never show more than a third of the value: a short value is masked whole
    keep = min(keep, len(alnum) // 3)
    shown = set(alnum[len(alnum) - keep:]) if keep > 0 else set()
    return "".join(ch if (not ch.isalnum() or i in shown) else char for i, ch in
                   enumerate(value))


_NUMBER = re.compile(r"^\s*[-+]?\d+(?:[.,]\d+)?\s*$")


def generalize(value: str, entity: str | None, params: Mapping[str, Any]) -> str:
    """A coarser value: dates to month or year, numbers to ranges, IPs to /24, ZIP prefixes.

    What cannot be generalised is redacted, never passed through.
    """
    text = value.strip()
    if entity == "IP_ADDRESS" or _looks_ip(text):
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            return f"<{entity or 'REDACTED'}>"
        prefix = min(int(params.get("prefix", 24 if ip.version == 4 else 48)), ip.max_prefixlen)
        return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))
    parsed = parse_date(text)
    if parsed is not None:
        day = parsed[0]
        if params.get("to") == "year":
            return f"{day.year:04d}"
        return f"{day.year:04d}-{day.month:02d}"
    if entity in ("ZIP", "POSTAL_CODE") or params.get("zip"):
        keep = int(params.get("keep", 3))
        return text[:keep] + "*" * max(0, len(text) - keep)
    if _NUMBER.match(text):
        step = float(params.get("step", 10))
        number = float(text.replace(",", "."))
        low = (number // step) * step
        high = low + step
        fmt = (lambda x: str(int(x))) if step.is_integer() else (lambda x: f"{x:g}")
        return f"{fmt(low)}-{fmt(high - (1 if step.is_integer() else 0))}"
    return f"<{entity or 'REDACTED'}>"


def _looks_ip(text: str) -> bool:
    return bool(re.fullmatch(r"\d{1,3}(?:\.\d{1,3}){3}", text)) or (
        text.count(":") >= 2 and bool(re.fullmatch(r"[0-9A-Fa-f:.]+", text)))
