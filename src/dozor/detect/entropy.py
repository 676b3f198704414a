"""Is a string random enough to be a credential, or an example someone typed?

Why: loose formats (a 40-character key, a ``password = "..."`` line) match plenty of
ordinary text. Real credentials are generated: high Shannon entropy, several
character classes, no words like ``example`` or ``your_key``, no runs such as
``1234567890`` and no repeated blocks. These checks are cheap and run only on
candidates a pattern already matched.
"""

from __future__ import annotations

import math
import re
from collections import Counter

# Words that mark a value as an example, a template or a reference, not a secret.
_PLACEHOLDER_WORDS = (
    "xxxx",
    "****",
    "....",
    "…",
    "your",
    "example",
    "sample",
    "placeholder",
    "changeme",
    "change_me",
    "change-me",
    "replace",
    "insert",
    "dummy",
    "fake",
    "mock",
    "redacted",
    "notreal",
    "not_real",
    "not-a-real",
    "todo",
    "fixme",
    "secret",
    "password",
    "passwd",
    "test",
    "token_here",
    "key_here",
    "api_key",
    "apikey",
)

# Starts of values that refer to a secret kept elsewhere (environment, vault, template).
_REFERENCE_STARTS = (
    "$",
    "%(",
    "{{",
    "{%",
    "<",
    "env:",
    "env.",
    "os.",
    "process.env",
    "secrets.",
    "vault:",
    "ref+",
    "arn:",
    "projects/",
    "sm://",
    "op://",
)

_PLACEHOLDER = re.compile("|".join(re.escape(w) for w in _PLACEHOLDER_WORDS))
_TEMPLATE_FIELD = re.compile(r"\{[^{}]*\}|\$\{|\{\{")  # {name}, ${VAR}, {{ var }}
_HASH_VALUE = re.compile(r"(?i)^(?:sha(?:1|224|256|384|512)|md5|blake2[bs]?|xxh\d*)[:\-=]")
_UUID = re.compile(r"(?i)^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_CLASSES = (re.compile(r"[a-z]"), re.compile(r"[A-Z]"), re.compile(r"[0-9]"),
            re.compile(r"[^a-zA-Z0-9]"))
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_DOTTED_NAME = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")
_ALPHABETS = ("0123456789", "abcdefghijklmnopqrstuvwxyz")
_SEQUENCES = {
    length: re.compile(
        "|".join(
            sorted(
                {a[i : i + length] for a in _ALPHABETS for i in range(len(a) - length + 1)}
                | {a[::-1][i : i + length] for a in _ALPHABETS for i in range(len(a) - length + 1)}
                | {"qwerty"[:length], "asdfgh"[:length], "zxcvbn"[:length]}
            )
        )
    )
    for length in (5, 6)
}


def shannon_entropy(value: str) -> float:
    """Bits per character of `value`'s own character distribution (0 for empty)."""
    n = len(value)
    if n == 0:
        return 0.0
    counts = Counter(value).values()
    return -sum(c / n * math.log2(c / n) for c in counts)


def char_classes(value: str) -> int:
    """How many of ASCII lower case, upper case, digits and other characters occur."""
    return sum(1 for pattern in _CLASSES if pattern.search(value))


def is_hex(value: str) -> bool:
    return bool(_HEX.match(value))


def is_uuid(value: str) -> bool:
    return bool(_UUID.match(value))


def is_hash_value(value: str) -> bool:
    """``sha256:…``, ``sha512-…`` and the like, as lock files and manifests write them."""
    return bool(_HASH_VALUE.match(value))


def has_sequence(value: str, length: int = 6) -> bool:
    """A run such as ``123456``, ``abcdef``, ``fedcba`` or ``qwerty`` (any case);
    `length` is 5 or 6."""
    return _SEQUENCES[length].search(value.lower()) is not None


def is_repetitive(value: str, max_period: int = 8) -> bool:
    """Built from a short repeated block (``abcdabcdabcd``) or one character mostly."""
    n = len(value)
    if n == 0:
        return True
    if len(set(value)) <= max(2, n // 10):
        return True
    for period in range(1, min(max_period, n // 2) + 1):
        if value[period:] == value[:-period]:
            return True
    return False


def is_placeholder(value: str) -> bool:
    """A documentation example, a template or a reference to a secret stored elsewhere."""
    low = value.lower()
    if low.startswith(_REFERENCE_STARTS) or _TEMPLATE_FIELD.search(low):
        return True
    if _PLACEHOLDER.search(low):
        return True
    return is_repetitive(value) or _SEQUENCES[6].search(low) is not None


def is_reference(value: str) -> bool:
    """A dotted attribute path (``config.api_key``, ``settings.OPENAI_KEY``): code, not a value."""
    return bool(_DOTTED_NAME.match(value))


def looks_random(value: str, *, min_entropy: float | None = None, min_classes: int = 2) -> bool:
    """Generated rather than typed: entropy near what the length allows, several classes.

    A random string of length n over an alphabet of size a has entropy close to
    log2(min(n, a)); the default threshold asks for 80 % of that, capped at 3.5 bits
    for alphanumerics (3.0 for hex, whose alphabet is 16).
    """
    n = len(value)
    if n < 8:
        return False
    if min_entropy is None:
        ceiling = 3.0 if is_hex(value) else 3.5
        min_entropy = min(ceiling, 0.8 * math.log2(n))
    if shannon_entropy(value) < min_entropy:
        return False
    if is_hex(value):
        return _CLASSES[2].search(value) is not None and re.search("[a-fA-F]", value) is not None
    return char_classes(value) >= min_classes
