"""Column profiles: which personal data each column of a table holds, and how much.

A profile says "column `phone` holds phone numbers in 97% of its 1.2M values; `notes`
(free text) holds emails in 0.4%". Every value of every text or integer column is read
(free-text columns too); dates and timestamps count as dates of birth when the column's
name says so. Values are judged by `dozor.detect.pii.find_pii` with the column name as
context, so a column called "ИНН" or "passport" raises those scores.

Why a full scan by default and not a sample. Personal data that matters most is rare:
a phone number in one support ticket out of a million, a card number pasted into a
comment. A sample of 10,000 rows finds a 1-in-1,000,000 value with probability 1%. The
cost of the full scan is kept down three ways, measured in docs/benchmarks.md:
(1) each batch's distinct values are counted in Arrow (`value_counts`), so a value
repeated 10,000 times (a country, a status) is judged once; (2) a vectorised RE2
prefilter in Arrow drops values that cannot hold any entity (see `PREFILTER`: amounts,
counts, versions, codes, lower-case words) before Python sees them; (3) judgments are
cached per column across batches for low-cardinality columns. `max_rows` is there for a
quick first look at a huge file; the profile then says it is partial.

Memory is bounded by one batch (`rows_per_batch` rows) plus per-column caches of at
most `CACHE_VALUES` entries; nothing grows with the file.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dozor.data.readers import TableReader, open_table
from dozor.detect.pii import DATE_OF_BIRTH, ENTITIES, PERSON, find_pii

if TYPE_CHECKING:
    import pyarrow as pa

CACHE_VALUES = 50_000
"""Judged values remembered per column (low-cardinality columns are judged once)."""
MAX_VALUE_CHARS = 20_000
"""Characters of one value examined (a longer free-text value is cut)."""
EXAMPLES = 3
"""Redacted examples kept per column and entity type."""
FREE_TEXT_CHARS = 40
"""Mean value length above which a column with spaces counts as free text."""
PREFILTER = (r"[0-9](?:[ \-.()/+]{0,3}[0-9]){5}|@|\p{Lu}\p{Ll}|[0-9]{1,3}\.[0-9]{1,3}\.[0-9]"
             r"|\.\p{L}{2}|:[0-9A-Fa-f]*:|[0-9] \p{L}")
"""RE2 expression a value must match to be judged at all: six digits (every numeric
identifier, phone and date of birth has them), an "@", a capitalised word, an IPv4 or
IPv6 shape, a domain-like dot, or a number followed by a word (a street address)."""
_BIRTH_WORDS = ("birth", "dob", "born", "рожд", "bday", "д_р", "dr_")

Progress = Callable[[int], None]
"""Called with the number of rows just profiled."""


@dataclass(frozen=True)
class EntityShare:
    """One entity type in one column."""

    entity: str
    values: int
    """Non-null values holding at least one match of this type."""
    share: float
    """`values` divided by the column's non-null values."""
    examples: tuple[str, ...]
    """Up to `EXAMPLES` redacted matches (never a value in clear)."""


@dataclass(frozen=True)
class ColumnProfile:
    """Personal data found in one column."""

    name: str
    type: str
    """Arrow type name."""
    values: int
    """Non-null values read."""
    nulls: int
    free_text: bool
    """Long values with spaces: a comment, a message, a document."""
    entities: tuple[EntityShare, ...]
    """Entity types found, most frequent first."""
    judged: bool = True
    """False for column types that cannot hold personal data (floats, booleans, binary)."""


@dataclass(frozen=True)
class TableProfile:
    """Column profiles of one table."""

    path: str
    format: str
    rows: int
    """Rows read (all rows unless `complete` is False)."""
    columns: tuple[ColumnProfile, ...]
    seconds: float
    complete: bool
    """False when `max_rows`, a deadline or an interrupt stopped the read early."""
    stopped_by: str = ""
    """What stopped it: "max_rows", "deadline" or "interrupt"."""
    skipped_rows: int = 0
    """Malformed rows the reader left out."""

    def personal_columns(self) -> list[ColumnProfile]:
        return [c for c in self.columns if c.entities]


def redact_value(value: str, entity: str = "") -> str:
    """A rendering that shows the shape of a personal value but not the value.

    Letters and digits are masked except the first character and the last two of
    longer values; separators stay, so "+1 (212) 555-1234" becomes "+1 (***) ***-**34".
    Names keep each word's initial only.
    """
    value = value[:64]
    if entity == PERSON:
        return " ".join(w[:1] + "*" * (len(w) - 1) for w in value.split())
    alnum = [i for i, ch in enumerate(value) if ch.isalnum()]
    keep = {alnum[0]} if alnum else set()
    if len(alnum) >= 8:
        keep.update(alnum[-2:])
    if "@" in value:  # an email: the local part's first letter (if long) and the top level
        at = value.index("@")
        dot = value.rfind(".")
        keep = {i for i in alnum if (i == alnum[0] and at > 3) or i > dot > at}
    return "".join(ch if (i in keep or not ch.isalnum()) else "*" for i, ch in enumerate(value))


@dataclass
class _ColumnState:
    name: str
    type: str
    judged: bool
    birth_column: bool
    values: int = 0
    nulls: int = 0
    chars: int = 0
    spaced: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)
    cache: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)

    def add(self, entity: str, n: int, value: str) -> None:
        self.counts[entity] = self.counts.get(entity, 0) + n
        ex = self.examples.setdefault(entity, [])
        if len(ex) < EXAMPLES:
            example = redact_value(value, entity)
            if example not in ex:
                ex.append(example)

    def profile(self) -> ColumnProfile:
        shares = tuple(sorted(
            (EntityShare(e, n, n / self.values if self.values else 0.0,
                         tuple(self.examples.get(e, ())))
             for e, n in self.counts.items()),
            key=lambda s: (-s.values, s.entity)))
        mean = self.chars / self.values if self.values else 0.0
        free = mean >= FREE_TEXT_CHARS and self.spaced * 2 >= self.values
        return ColumnProfile(self.name, self.type, self.values, self.nulls, free, shares,
                             self.judged)


def _judgeable(t: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_integer(t)
                or pa.types.is_dictionary(t) or pa.types.is_string_view(t))


def _is_date(t: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_date(t) or pa.types.is_timestamp(t))


class ColumnProfiler:
    """Accumulates column profiles batch by batch (the scanner and `profile_table` use it)."""

    def __init__(self, schema: pa.Schema, *, entities: Iterable[str] | None = None,
                 min_score: float = 0.5) -> None:
        self.entities = frozenset(entities) if entities is not None else frozenset(ENTITIES)
        self.min_score = min_score
        self.rows = 0
        self._cols = []
        for f in schema:
            low = f.name.lower()
            birth = any(w in low for w in _BIRTH_WORDS)
            judged = _judgeable(f.type) or (_is_date(f.type) and birth)
            self._cols.append(_ColumnState(f.name, str(f.type), judged, birth))

    def add_batch(self, batch: pa.RecordBatch) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        self.rows += batch.num_rows
        for state, col in zip(self._cols, batch.columns, strict=False):
            nulls = col.null_count
            state.nulls += nulls
            state.values += len(col) - nulls
            if not state.judged or len(col) == nulls:
                continue
            if _is_date(col.type):
                if DATE_OF_BIRTH in self.entities:
                    state.add(DATE_OF_BIRTH, len(col) - nulls, "0000-00-00")
                continue
            if pa.types.is_dictionary(col.type):
                col = col.dictionary_decode()
            if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
                col = pc.cast(col, pa.string())
            self._judge(state, col, pc)

    def _judge(self, state: _ColumnState, col: pa.Array, pc: Any) -> None:
        lengths = pc.utf8_length(col)
        state.chars += int(pc.sum(lengths).as_py() or 0)
        state.spaced += int(pc.sum(pc.match_substring(col, " ")).as_py() or 0)
        vc = pc.value_counts(col)
        uniq = vc.field("values")
        counts = vc.field("counts").to_pylist()
        keep = pc.match_substring_regex(uniq, PREFILTER).to_pylist()
        values = uniq.to_pylist()
        context = state.name.replace("_", " ")
        cache = state.cache
        for value, n, ok in zip(values, counts, keep, strict=False):
            if value is None or not ok:
                continue
            found = cache.get(value)
            if found is None:
                matches = find_pii(value[:MAX_VALUE_CHARS], entities=self.entities,
                                   min_score=self.min_score, context=context)
                seen: dict[str, str] = {}
                for m in matches:
                    seen.setdefault(m.entity, m.text)
                found = tuple(seen.items())
                if len(cache) < CACHE_VALUES:
                    cache[value] = found
            for entity, text in found:
                state.add(entity, n, text)

    def profiles(self) -> tuple[ColumnProfile, ...]:
        return tuple(c.profile() for c in self._cols)


def profile_table(
    path: str | os.PathLike[str],
    *,
    fmt: str | None = None,
    entities: Iterable[str] | None = None,
    min_score: float = 0.5,
    max_rows: int | None = None,
    deadline: float | None = None,
    progress: Progress | None = None,
    rows_per_batch: int = 65_536,
    reader: TableReader | None = None,
) -> TableProfile:
    """Profile every column of the table at `path` (see the module docstring).

    `deadline` is a `time.monotonic()` value after which the read stops; a Ctrl-C also
    stops it, and the profile of the rows read so far is returned either way.
    """
    started = time.perf_counter()
    own = reader is None
    rd = reader if reader is not None else open_table(path, fmt=fmt)
    stopped = ""
    try:
        profiler = ColumnProfiler(rd.arrow_schema, entities=entities, min_score=min_score)
        try:
            for batch in rd.iter_batches(rows=rows_per_batch):
                if max_rows is not None and profiler.rows + batch.num_rows > max_rows:
                    batch = batch.slice(0, max(0, max_rows - profiler.rows))
                    stopped = "max_rows"
                profiler.add_batch(batch)
                if progress is not None:
                    progress(batch.num_rows)
                if stopped:
                    break
                if deadline is not None and time.monotonic() > deadline:
                    stopped = "deadline"
                    break
        except KeyboardInterrupt:
            stopped = "interrupt"
        return TableProfile(str(path), rd.format, profiler.rows, profiler.profiles(),
                            time.perf_counter() - started, not stopped, stopped,
                            rd.skipped_rows)
    finally:
        if own:
            rd.close()
