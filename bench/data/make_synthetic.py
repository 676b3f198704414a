"""Labelled synthetic personal-data sets made with Faker (en_US and ru_RU), seeded.

Two outputs:

- ``spans``: JSON Lines, one record per line: ``{"id", "lang", "text", "spans":
  [[start, end, entity], ...]}``. Sentences from fixed templates (support tickets, CRM
  notes, bank and HR records, in English and Russian) with Faker values in known
  places, plus records with look-alike numbers and no personal data (order numbers,
  versions, amounts, meeting dates, KPP codes), so precision is measured too.
- ``table``: a wide table (CSV or Parquet) of N rows x 20 columns for timing: typed
  personal columns, free-text columns with embedded values, and plain columns.

Run with the Faker in bench/.venvs/presidio (Faker is not a dozor dependency):

    bench/.venvs/presidio/bin/python bench/data/make_synthetic.py spans --rows 100000 \
        --seed 20261122 --out /tmp/pii-eval.jsonl
    bench/.venvs/presidio/bin/python bench/data/make_synthetic.py table --rows 1000000 \
        --seed 7 --out /tmp/pii-1m.csv

Development used seeds 1 and 2 only; the evaluation set in docs/benchmarks.md uses seed
20261122, never looked at while the detector was written.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
from collections.abc import Callable
from pathlib import Path

from faker import Faker

Value = tuple[str, str | None]  # text, entity (None: not personal data)

_FIELD = re.compile(r"\{(\w+)\}")


class Source:
    """Faker values per placeholder, formatted the ways people write them."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.en = Faker("en_US")
        self.ru = Faker("ru_RU")
        self.en.seed_instance(seed)
        self.ru.seed_instance(seed + 1)

    def card(self) -> str:
        num = self.en.credit_card_number()
        style = self.rng.random()
        if style < 0.5:
            return num
        if len(num) == 15:
            return f"{num[:4]} {num[4:10]} {num[10:]}"
        sep = " " if style < 0.8 else "-"
        return sep.join(num[i : i + 4] for i in range(0, len(num), 4))

    def snils(self) -> str:
        s = self.ru.snils()
        if self.rng.random() < 0.6:
            return f"{s[:3]}-{s[3:6]}-{s[6:9]} {s[9:]}"
        return s

    def passport(self) -> str:
        d = "".join(ch for ch in self.ru.passport_number() if ch.isdigit())
        if self.rng.random() < 0.3:
            return f"{d[:2]} {d[2:4]} {d[4:]}"
        return f"{d[:4]} {d[4:]}"

    def dob_en(self) -> str:
        d = self.en.date_of_birth(minimum_age=18, maximum_age=90)
        fmt = self.rng.choice(["%m/%d/%Y", "%B %d, %Y", "%Y-%m-%d", "%d %B %Y"])
        return d.strftime(fmt)

    def dob_ru(self) -> str:
        d = self.ru.date_of_birth(minimum_age=18, maximum_age=90)
        months = ["января", "февраля", "марта", "апреля", "мая", "июня", "июля",
                  "августа", "сентября", "октября", "ноября", "декабря"]
        if self.rng.random() < 0.7:
            return d.strftime("%d.%m.%Y")
        return f"{d.day} {months[d.month - 1]} {d.year} г."

    def iban(self) -> str:
        value = self.en.iban() if self.rng.random() < 0.5 else Faker("de_DE").iban()
        if self.rng.random() < 0.4:
            return " ".join(value[i : i + 4] for i in range(0, len(value), 4))
        return value

    def values(self) -> dict[str, Callable[[], Value]]:
        en, ru, rng = self.en, self.ru, self.rng
        return {
            "PERSON": lambda: (en.name(), "PERSON"),
            "PERSON_RU": lambda: (ru.name(), "PERSON"),
            "FIRST": lambda: (en.first_name(), "PERSON"),
            "EMAIL": lambda: (en.email() if rng.random() < 0.7 else ru.email(), "EMAIL"),
            "PHONE": lambda: (en.phone_number(), "PHONE"),
            "PHONE_RU": lambda: (ru.phone_number(), "PHONE"),
            "CARD": lambda: (self.card(), "CREDIT_CARD"),
            "IBAN": lambda: (self.iban(), "IBAN"),
            "IBAN_RU": lambda: (ru.iban(), "IBAN"),
            "IPV4": lambda: (en.ipv4(), "IP_ADDRESS"),
            "IPV6": lambda: (en.ipv6(), "IP_ADDRESS"),
            "URL": lambda: (en.url() + rng.choice(["", "login", "account/settings"]), "URL"),
            "SSN": lambda: (en.ssn(), "US_SSN"),
            "DOB": lambda: (self.dob_en(), "DATE_OF_BIRTH"),
            "DOB_RU": lambda: (self.dob_ru(), "DATE_OF_BIRTH"),
            "ADDRESS": lambda: (en.address().replace("\n", ", "), "ADDRESS"),
            "ADDRESS_RU": lambda: (ru.address(), "ADDRESS"),
            "INN10": lambda: (ru.businesses_inn(), "RU_INN"),
            "INN12": lambda: (ru.individuals_inn(), "RU_INN"),
            "SNILS": lambda: (self.snils(), "RU_SNILS"),
            "PASSPORT": lambda: (self.passport(), "RU_PASSPORT"),
            # look-alikes that are not personal data
            "ORDER": lambda: (str(rng.randint(10_000, 99_999_999)), None),
            "AMOUNT": lambda: (f"{rng.randint(1, 99_999):,}.{rng.randint(0, 99):02d}", None),
            "VERSION": lambda: (f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}",
                                None),
            "DATE": lambda: (en.date_this_decade().strftime(rng.choice(["%Y-%m-%d", "%d.%m.%Y",
                                                                        "%m/%d/%Y"])), None),
            "TIME": lambda: (f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}", None),
            "KPP": lambda: (f"{rng.randint(10, 99)}{rng.randint(10, 99)}01001", None),
            "COUNT": lambda: (str(rng.randint(2, 5000)), None),
            "COMPANY": lambda: (en.company(), None),
            "CITY": lambda: (en.city(), None),
        }


TEMPLATES_EN = [
    "Please contact {PERSON} at {EMAIL} or {PHONE}.",
    "Customer {PERSON}, born {DOB}, lives at {ADDRESS}.",
    "Card on file: {CARD}, order {ORDER} for ${AMOUNT}.",
    "Wire the refund of ${AMOUNT} to IBAN {IBAN} by Friday.",
    "Login from {IPV4} at {TIME} was flagged for review.",
    "Employee SSN: {SSN}; start date {DATE}.",
    "See {URL} for the full report on version {VERSION}.",
    "Call me on {PHONE} after {TIME}, thanks! - {FIRST}",
    "{PERSON} wrote: my new number is {PHONE}",
    "Order {ORDER} shipped on {DATE}, total ${AMOUNT}.",
    "Version {VERSION} released; {COUNT} tests passed.",
    "Meeting moved to {TIME} on {DATE} in room {COUNT}.",
    "Date of birth: {DOB}. Patient: {PERSON}.",
    "The server at {IPV6} rejected {COUNT} requests from {IPV4}.",
    "Ship to {ADDRESS}. Contact phone {PHONE}.",
    "Invoice {ORDER} from {COMPANY}, {CITY}: ${AMOUNT} due {DATE}.",
    "Dear {PERSON}, your card ending in {COUNT} was charged ${AMOUNT}.",
    "Payment with {CARD} declined; customer email {EMAIL}.",
    "Hi, I'm {PERSON}, my SSN is {SSN} and DOB {DOB}.",
    "Account {IBAN} belongs to {PERSON}.",
    "{COMPANY} opened an office in {CITY} with {COUNT} staff.",
    "Profile: {URL} | email: {EMAIL} | phone: {PHONE}",
]
TEMPLATES_RU = [
    "Клиент {PERSON_RU}, тел. {PHONE_RU}, email {EMAIL}",
    "ИНН организации {INN10}, КПП {KPP}.",
    "Паспорт {PASSPORT}, выдан ОВД района {DATE}.",
    "СНИЛС {SNILS}, стаж {COUNT} дней.",
    "Адрес доставки: {ADDRESS_RU}",
    "{PERSON_RU}, дата рождения {DOB_RU}, ИНН {INN12}.",
    "Перевод {AMOUNT} руб. на счёт {IBAN_RU}.",
    "Заказ № {ORDER} от {DATE} на сумму {AMOUNT} руб.",
    "Позвоните мне: {PHONE_RU}. {PERSON_RU}",
    "Сотрудник {PERSON_RU} родился {DOB_RU}, паспорт {PASSPORT}.",
    "Вход с адреса {IPV4} в {TIME}.",
    "Версия {VERSION} выпущена, прошло {COUNT} тестов.",
    "Оплата картой {CARD} на сумму {AMOUNT} руб.",
    "Контакты: {EMAIL}, {PHONE_RU}, сайт {URL}",
]


def fill(template: str, values: dict[str, Callable[[], Value]]) -> tuple[str, list[list]]:
    out: list[str] = []
    spans: list[list] = []
    pos = 0
    length = 0
    for m in _FIELD.finditer(template):
        literal = template[pos : m.start()]
        out.append(literal)
        length += len(literal)
        text, entity = values[m.group(1)]()
        if entity:
            spans.append([length, length + len(text), entity])
        out.append(text)
        length += len(text)
        pos = m.end()
    out.append(template[pos:])
    return "".join(out), spans


def make_spans(rows: int, seed: int, out: Path) -> None:
    src = Source(seed)
    values = src.values()
    rng = src.rng
    with out.open("w", encoding="utf-8") as fh:
        for i in range(rows):
            lang = "ru" if rng.random() < 0.4 else "en"
            template = rng.choice(TEMPLATES_RU if lang == "ru" else TEMPLATES_EN)
            text, spans = fill(template, values)
            fh.write(json.dumps({"id": i, "lang": lang, "text": text, "spans": spans},
                                ensure_ascii=False) + "\n")


TABLE_COLUMNS = [
    ("customer_id", "ORDER"), ("full_name", "PERSON"), ("email", "EMAIL"), ("phone", "PHONE"),
    ("phone_ru", "PHONE_RU"), ("card", "CARD"), ("iban", "IBAN"), ("ip", "IPV4"),
    ("ssn", "SSN"), ("birth_date", "DOB"), ("address", "ADDRESS"), ("inn", "INN12"),
    ("snils", "SNILS"), ("passport", "PASSPORT"), ("amount", "AMOUNT"), ("city", "CITY"),
    ("company", "COMPANY"), ("created", "DATE"), ("version", "VERSION"), ("note", None),
]


def _luhn_complete(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def _inn12(rng: random.Random) -> str:
    body = f"{rng.randint(1, 99):02d}" + "".join(str(rng.randint(0, 9)) for _ in range(8))
    w1 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
    c1 = sum(int(a) * b for a, b in zip(body, w1, strict=True)) % 11 % 10
    body += str(c1)
    w2 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
    return body + str(sum(int(a) * b for a, b in zip(body, w2, strict=True)) % 11 % 10)


def _snils(rng: random.Random) -> str:
    body = f"{rng.randint(2_000_000, 999_999_999):09d}"
    total = sum(int(d) * (9 - i) for i, d in enumerate(body))
    total = total % 101 if total > 101 else total
    return f"{body[:3]}-{body[3:6]}-{body[6:]} {0 if total in (100, 101) else total:02d}"


def make_table(rows: int, seed: int, out: Path) -> None:
    """Columns that are unique per row in real data (emails, phones, cards, INN, SNILS,
    SSN, IPs, ids, amounts) are unique here too, so per-batch de-duplication does not
    flatter the timing; names, addresses, IBANs and companies come from pools of 50,000
    Faker values (real tables repeat those as well)."""
    src = Source(seed)
    values = src.values()
    rng = src.rng
    notes = TEMPLATES_EN + TEMPLATES_RU
    names = [c for c, _ in TABLE_COLUMNS]
    pooled = ("PERSON", "IBAN", "ADDRESS", "CITY", "COMPANY", "PASSPORT", "DOB", "DATE")
    pool = {k: [values[k]()[0] for _ in range(50_000)] for k in pooled}
    note_pool = [fill(rng.choice(notes), values)[0] for _ in range(50_000)]
    first = [src.en.first_name().lower() for _ in range(2000)]
    domains = ["example.com", "mail.ru", "example.org", "yandex.ru", "example.net"]
    r = rng.randint

    def row(i: int) -> list[str]:
        return [
            str(i + 1_000_000), rng.choice(pool["PERSON"]),
            f"{rng.choice(first)}.{i}@{rng.choice(domains)}",
            f"({r(201, 989)}) {r(200, 999)}-{r(0, 9999):04d}",
            f"+7 ({r(900, 999)}) {r(100, 999)}-{r(10, 99)}-{r(10, 99)}",
            _luhn_complete("4" + f"{r(0, 10**14 - 1):014d}"), rng.choice(pool["IBAN"]),
            f"{r(1, 223)}.{r(0, 255)}.{r(0, 255)}.{r(1, 254)}",
            f"{r(1, 665):03d}-{r(1, 99):02d}-{r(1, 9999):04d}", rng.choice(pool["DOB"]),
            rng.choice(pool["ADDRESS"]), _inn12(rng), _snils(rng), rng.choice(pool["PASSPORT"]),
            f"{r(1, 99_999)}.{r(0, 99):02d}", rng.choice(pool["CITY"]),
            rng.choice(pool["COMPANY"]), rng.choice(pool["DATE"]),
            f"{r(0, 9)}.{r(0, 30)}.{r(0, 99)}", rng.choice(note_pool),
        ]

    if out.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        writer = None
        for start in range(0, rows, 100_000):
            chunk = [row(i) for i in range(start, min(rows, start + 100_000))]
            table = pa.table({n: [x[j] for x in chunk] for j, n in enumerate(names)})
            writer = writer or pq.ParquetWriter(out, table.schema)
            writer.write_table(table)
        if writer:
            writer.close()
        return
    with out.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(names)
        for i in range(rows):
            w.writerow(row(i))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kind", choices=["spans", "table"])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    (make_spans if args.kind == "spans" else make_table)(args.rows, args.seed, args.out)


if __name__ == "__main__":
    main()
