"""Personal-data detector: validators, shapes, context words, no phone inside other ids."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dozor.detect.pii import ENTITIES, find_pii, iban_ok, inn_ok, luhn_ok, snils_ok, ssn_ok
from dozor.detect.pii.validators import card_brand


def _luhn_complete(body: str) -> str:
    for d in "0123456789":
        if luhn_ok(body + d):
            return body + d
    raise AssertionError


def _inn10(body: str) -> str:
    w = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    return body + str(sum(int(a) * b for a, b in zip(body, w, strict=True)) % 11 % 10)


def _snils(body: str) -> str:
    total = sum(int(d) * (9 - i) for i, d in enumerate(body))
    total = total % 101 if total > 101 else total
    return body + f"{0 if total in (100, 101) else total:02d}"


def _entities(text: str, **kw: object) -> list[tuple[str, str]]:
    return [(m.entity, m.text) for m in find_pii(text, **kw)]  # type: ignore[arg-type]


def test_luhn() -> None:
    assert luhn_ok("4111111111111111")
    assert not luhn_ok("4111111111111112")
    assert luhn_ok(_luhn_complete("222100000000000"))
    assert not luhn_ok("41111a")


def test_card_brands_include_2_series_and_long_and_short_cards() -> None:
    mc2 = _luhn_complete("222100000000000")
    assert card_brand(mc2) == "mastercard"
    visa19 = _luhn_complete("411111111111111111")
    maestro12 = _luhn_complete("50000000000")
    mir = _luhn_complete("220012345678901")
    for number in (mc2, visa19, maestro12, mir):
        assert _entities(f"paid with {number} today") == [("CREDIT_CARD", number)], number
    assert find_pii("paid with 4111111111111112 today") == []


def test_iban_mod97_and_country_length() -> None:
    assert iban_ok("DE89 3704 0044 0532 0130 00")
    assert iban_ok("GB82WEST12345698765432")
    assert not iban_ok("DE89 3704 0044 0532 0130 01")
    assert not iban_ok("DE89 3704 0044 0532 0130")  # too short for DE
    iban = "GB82 WEST 1234 5698 7654 32"
    assert _entities(f"IBAN {iban}.") == [("IBAN", iban)]


def test_inn_checksums() -> None:
    assert inn_ok("7707083893") and inn_ok("500100732259")
    assert not inn_ok("7707083894") and not inn_ok("500100732258")
    computed = _inn10("123456789")
    assert inn_ok(computed)
    assert _entities(f"ИНН {computed}") == [("RU_INN", computed)]


def test_snils_checksum() -> None:
    assert snils_ok("11223344595")
    assert not snils_ok("11223344596")
    other = _snils("987654321")
    assert snils_ok(other)
    formatted = f"{other[:3]}-{other[3:6]}-{other[6:9]} {other[9:]}"
    assert _entities(f"СНИЛС: {formatted}") == [("RU_SNILS", formatted)]


def test_ssn_ranges() -> None:
    assert ssn_ok("123456788")
    assert not ssn_ok("666123456") and not ssn_ok("900123456") and not ssn_ok("123006789")
    assert _entities("SSN 123-45-6788") == [("US_SSN", "123-45-6788")]
    assert find_pii("SSN 666-45-6788") == []


@pytest.mark.parametrize(
    "text",
    [
        "ИНН 7707083893", "ИНН 500100732259", "паспорт 45 09 123456", "passport 4509 123456",
        "IP 192.168.100.200", "card 4111 1111 1111 1111", "СНИЛС 112-233-445 95",
        "host 2001:db8:85a3::8a2e:370:7334", "card 5555555555554444",
    ],
)
def test_no_phone_inside_other_identifiers(text: str) -> None:
    found = find_pii(text, min_score=0.0)
    assert found and all(m.entity != "PHONE" for m in found), found


@pytest.mark.parametrize(
    "phone",
    ["+1 (212) 555-1234", "212-555-1234", "(212) 555-1234", "+7 916 123-45-67",
     "8 (916) 123-45-67", "8-916-123-45-67", "+44 20 7946 0958", "001-212-555-1234x123",
     "+49 30 901820"],
)
def test_phone_formats(phone: str) -> None:
    assert _entities(f"reach me: {phone}.") == [("PHONE", phone)]


def test_context_words_raise_and_lower_scores() -> None:
    plain = find_pii("4509 123456", min_score=0.0)
    assert plain and plain[0].score < 0.5  # too weak alone
    assert _entities("паспорт 4509 123456") == [("RU_PASSPORT", "4509 123456")]
    assert _entities("4509 123456", context="passport") == [("RU_PASSPORT", "4509 123456")]
    # a date is only a date of birth next to birth words
    assert find_pii("The meeting is on 12.03.1985") == []
    assert _entities("родился 12.03.1985") == [("DATE_OF_BIRTH", "12.03.1985")]
    assert _entities("DOB: March 12, 1985") == [("DATE_OF_BIRTH", "March 12, 1985")]
    assert _entities("12.03.1985", context="date_of_birth") == [("DATE_OF_BIRTH", "12.03.1985")]


def test_email_url_ip() -> None:
    text = "Write to a.b+c@mail.example.ru or see https://example.com/x?y=1, bad 999.1.1.1"
    assert _entities(text) == [("EMAIL", "a.b+c@mail.example.ru"),
                               ("URL", "https://example.com/x?y=1")]
    assert _entities("at 10.0.0.1.") == [("IP_ADDRESS", "10.0.0.1")]
    assert find_pii("time 12:30:45") == []


def test_names_and_addresses() -> None:
    assert ("PERSON", "Иванов Иван Иванович") in _entities("Иванов Иван Иванович пришёл")
    assert ("PERSON", "John Smith") in _entities("Yesterday John Smith called")
    assert _entities("The Quick Brown Fox") == []
    found = _entities("lives at 123 Main Street, Springfield, IL 62704")
    assert found == [("ADDRESS", "123 Main Street, Springfield, IL 62704")]
    ru = _entities("адрес: г. Москва, ул. Ленина, д. 5, кв. 12")
    assert ru == [("ADDRESS", "г. Москва, ул. Ленина, д. 5, кв. 12")]


def test_entity_filter_and_offsets() -> None:
    text = "mail x@y.com phone +1 212 555 1234"
    only = find_pii(text, entities=["PHONE"])
    assert [m.entity for m in only] == ["PHONE"]
    for m in find_pii(text):
        assert text[m.start : m.end] == m.text and m.entity in ENTITIES


def test_no_personal_data_in_ordinary_text() -> None:
    text = ("Revenue grew 12% to 4,512,300 in Q3 2024; version 2.10.1 shipped on "
            "2024-05-01 with 1234 tests, build 20240501, order 123456.")
    assert find_pii(text) == []


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_never_raises_and_offsets_hold(text: str) -> None:
    for m in find_pii(text, min_score=0.0):
        assert 0 <= m.start < m.end <= len(text) and text[m.start : m.end] == m.text


@settings(max_examples=50, deadline=None)
@given(st.text(alphabet="0123456789 -+().x", max_size=400))
def test_fuzz_digit_soup(text: str) -> None:
    find_pii(text)


def test_long_digit_run_is_fast() -> None:
    import time

    t = time.perf_counter()
    find_pii("1" * 200_000 + " 2-" * 50_000)
    assert time.perf_counter() - t < 5


# --- the trigger prefilter changes no result -------------------------------------------

_PIECES = st.sampled_from([
    "1", "23", "456", "7890", "+7", "+1 ", "(495) ", "123-45-67", "8 800 555 35 35",
    "4111 1111 1111 1111", "112-233-445 95", "7707083893", "45 09 123456", "078-05-1120",
    " ", "  ", "-", ".", "/", ":", "::", ",", "@", "ab", "Mr", "John", "Smith", "Иван",
    "born", "May", "5 мая 2020", "January", "of", "12th", "www.", "http://", "example.com",
    "x.ru", "a@b.io", "GB82 WEST 1234 5698 7654 32", "DE89", "серия", "series", "tel",
    "passport", "ИНН", "SNILS", "fe80::1", "10.0.0.1", "2020-01-31", "31.12.1999", "ext 12",
    "Main Street", "ул. Ленина, д. 5", "Apt 4", "\n", "12:345678:9", ":", "abcdef",
    "1 10.0.0.1", "12 1.2.3.4",
])


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=40).map("".join))
def test_trigger_prefilter_matches_the_full_pass(text: str) -> None:
    """`_triggers` only leaves out alternatives that cannot match: the result is the same
    as when every alternative of the combined expression is tried."""
    from dozor.detect.pii import recognizers

    fast = find_pii(text)
    every = frozenset(name for name, _ in recognizers._ALTERNATIVES)
    original = recognizers._triggers
    recognizers._triggers = lambda _text, _has_digit: every  # type: ignore[assignment]
    try:
        assert fast == find_pii(text)
    finally:
        recognizers._triggers = original
