"""Personal data in text: detection only (what to do with a match is the caller's step).

Why a detector of dozor's own rather than Presidio: Presidio runs offline here only with
its pattern recognisers, which are slow (one regex pass per recogniser, context handled
in Python per match), fire phone numbers inside INN, passport, IP and card values, miss
Mastercard 2-series and 12/19-digit cards, and know no Russian identifiers. The design
is Presidio's (recognisers with patterns, validators such as check digits that must pass
before a match is reported, context words that raise a score); the implementation is one
combined pass over the text, see `dozor.detect.pii.recognizers`.

Shared by `dozor scan` on datasets (per-column profiles), the guard (prompts and
answers) and the anonymiser.
"""

from dozor.detect.pii.recognizers import (
    ADDRESS,
    CREDIT_CARD,
    DATE_OF_BIRTH,
    EMAIL,
    ENTITIES,
    IBAN,
    IP_ADDRESS,
    PERSON,
    PHONE,
    RU_INN,
    RU_PASSPORT,
    RU_SNILS,
    URL,
    US_SSN,
    PiiMatch,
    find_pii,
)
from dozor.detect.pii.validators import iban_ok, inn_ok, luhn_ok, snils_ok, ssn_ok

__all__ = [
    "ADDRESS", "CREDIT_CARD", "DATE_OF_BIRTH", "EMAIL", "ENTITIES", "IBAN", "IP_ADDRESS",
    "PERSON", "PHONE", "RU_INN", "RU_PASSPORT", "RU_SNILS", "URL", "US_SSN", "PiiMatch",
    "find_pii", "iban_ok", "inn_ok", "luhn_ok", "snils_ok", "ssn_ok",
]
