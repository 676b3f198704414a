"""Anonymise a table file: read in chunks, replace personal data, write, verify, rename.

Every text (and integer) value is passed to the personal-data detector; each detected
span is replaced by the operator the policy names for its kind, so a column of e-mail
addresses and an e-mail address inside a free-text comment are handled alike. Columns
named in the policy are replaced whole, detected or not.

Before the new file is moved into place it is read back and scanned again: if any
value the detector found in the input is still found in the output, the file is not
published (`AnonymizeResult.verified` is False and the target stays untouched). The
check compares 64-bit keyed digests of the detected values, kept in a flat array
(8 bytes a value), so memory stays bounded on large files.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
import unicodedata
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from dozor.data.anonymize.keys import AnonKey
from dozor.data.anonymize.operators import KEYED, Operators, OperatorSpec
from dozor.data.anonymize.policy import AnonymizePolicy

CACHE_SIZE = 200_000
"""Distinct values remembered per run: repeated values (names, cities) are done once."""
SCHEMA_KEY = "dozor.anonymize.schema"
"""Parquet metadata key holding the input column types, used by `restore_file`."""


class Span(Protocol):
    """What a detector returns for one match (`dozor.detect.pii.PiiMatch` is one)."""

    @property
    def entity(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def text(self) -> str: ...


Detector = Callable[[str, str], Sequence[Span]]
"""(value, context) -> matches; the context is the column name, as `dozor.data.profile`
uses it, so the anonymiser finds what the dataset scanner reports."""
Progress = Callable[[int], None]


def pii_detector(policy: AnonymizePolicy) -> Detector:
    """`dozor.detect.pii.find_pii` with the policy's entities, languages and threshold."""
    from dozor.detect.pii import find_pii

    entities = policy.detect_entities
    languages = policy.languages
    min_score = policy.min_score

    def detect(text: str, context: str = "") -> Sequence[Span]:
        return find_pii(text, entities=entities, languages=languages, min_score=min_score,
                        context=context)

    return detect


@dataclass(frozen=True)
class ColumnChange:
    """What happened to one column."""

    column: str
    values: int
    """Non-empty values looked at."""
    changed: int
    """Values whose text changed."""
    operators: tuple[tuple[str, int], ...]
    """Operator name and how many replacements it made."""
    entities: tuple[tuple[str, int], ...]
    """Detected kind of value and how many were found."""
    nulled: int = 0
    """Values emptied because the column's type (fixed by the first chunk) cannot hold
    the replacement (a pseudonym in an integer column); never left in clear."""


@dataclass(frozen=True)
class AnonymizeResult:
    source: str
    target: str
    format: str
    rows: int
    columns: tuple[ColumnChange, ...]
    verified: bool | None
    """True: the output was re-scanned and holds no detected input value; None: not
    checked (--no-verify); False: leaks were found and the output was not written."""
    leaks: int = 0
    lookalikes: int = 0
    """Values detected in the output that are not input values (fake e-mails, cards)."""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "target": self.target, "format": self.format,
            "rows": self.rows, "verified": self.verified, "leaks": self.leaks,
            "lookalikes": self.lookalikes, "seconds": round(self.seconds, 3),
            "columns": [{"column": c.column, "values": c.values, "changed": c.changed,
                         "operators": dict(c.operators), "entities": dict(c.entities),
                         "nulled": c.nulled} for c in self.columns],
        }


@dataclass
class _Stats:
    values: int = 0
    changed: int = 0
    nulled: int = 0
    operators: Counter[str] = field(default_factory=Counter)
    entities: Counter[str] = field(default_factory=Counter)


class Anonymizer:
    """Applies a policy to values and record batches; remembers what it replaced."""

    def __init__(self, policy: AnonymizePolicy, key: AnonKey | None,
                 detector: Detector | None = None) -> None:
        if key is None and policy.operators_used() & KEYED:
            raise ValueError("the policy uses keyed operators (hash, fake, encrypt): give a key")
        self.policy = policy
        self.ops = Operators(key)
        self.detect = detector or pii_detector(policy)
        self.stats: dict[str, _Stats] = {}
        self._digest_key = secrets.token_bytes(16)
        self.digests: array[int] = array("Q")
        self._birth: set[str] = set()
        self._cache: dict[tuple[str | None, str], tuple[str, tuple[tuple[str, str], ...]]] = {}

    def digest(self, text: str) -> int:
        norm = unicodedata.normalize("NFKC", text).strip().casefold()
        raw = hashlib.blake2b(norm.encode("utf-8", "surrogatepass"), digest_size=8,
                              key=self._digest_key).digest()
        return int.from_bytes(raw, "big")

    def transform(self, value: str, column: str) -> str:
        """The anonymised form of one value of `column`."""
        forced = self.policy.columns.get(column)
        cache_key = (column, value)
        hit = self._cache.get(cache_key)
        if hit is None:
            hit = self._transform(value, forced, column)
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[cache_key] = hit
        out, applied = hit
        stats = self.stats.setdefault(column, _Stats())
        stats.values += 1
        if out != value:
            stats.changed += 1
        for op, entity in applied:
            stats.operators[op] += 1
            if entity:
                stats.entities[entity] += 1
        return out

    def _transform(self, value: str, forced: OperatorSpec | None, column: str
                   ) -> tuple[str, tuple[tuple[str, str], ...]]:
        if forced is not None and forced.name == "keep":
            return value, ()
        if forced is None and column in self._birth:
            self.digests.append(self.digest(value))
            spec = self.policy.for_entity("DATE_OF_BIRTH")
            return self.ops.apply(spec, value, "DATE_OF_BIRTH"), ((spec.name, "DATE_OF_BIRTH"),)
        spans = _non_overlapping(self.detect(value, _context(column)))
        for s in spans:
            self.digests.append(self.digest(s.text))
        if forced is not None:
            whole = [s for s in spans if s.start <= len(value) - len(value.lstrip())
                     and s.end >= len(value.rstrip())]
            # the policy's entity wins, so two tables can be made to agree on a prefix
            entity = forced.params.get("entity") or (whole[0].entity if whole else None)
            out = self.ops.apply(forced, value, entity)
            return self._ensure_gone(out, spans), ((forced.name, entity or ""),)
        if not spans:
            return value, ()
        parts: list[str] = []
        applied: list[tuple[str, str]] = []
        cursor = 0
        for s in spans:
            spec = self.policy.for_entity(s.entity)
            parts.append(value[cursor:s.start])
            parts.append(self.ops.apply(spec, s.text, s.entity))
            applied.append((spec.name, s.entity))
            cursor = s.end
        parts.append(value[cursor:])
        kept = {s.text for s in spans if self.policy.for_entity(s.entity).name == "keep"}
        return self._ensure_gone("".join(parts), [s for s in spans if s.text not in kept]), \
            tuple(applied)

    @staticmethod
    def _ensure_gone(out: str, spans: Iterable[Span]) -> str:
        # an operator that echoes part of its input (mask with a large keep, a short
        # value) must not carry a detected value through: redact what would remain
        for s in spans:
            if len(s.text.strip()) >= 3 and s.text in out:
                out = out.replace(s.text, f"<{s.entity}>")
        return out

    def transform_batch(self, batch: Any, target: Any | None) -> Any:
        """Anonymise one pyarrow RecordBatch; `target` is the schema fixed by chunk one."""
        import pyarrow as pa

        arrays = []
        for i, name in enumerate(batch.schema.names):
            col = batch.column(i)
            want = target.field(name).type if target is not None else None
            arrays.append(self._column(name, col, want, pa))
        names = batch.schema.names
        if target is not None:
            return pa.RecordBatch.from_arrays(arrays, schema=target)
        return pa.RecordBatch.from_arrays(arrays, names=names)

    def _column(self, name: str, col: Any, want: Any, pa: Any) -> Any:
        import pyarrow.compute as pc

        from dozor.data.profile import PREFILTER

        forced = self.policy.columns.get(name)
        if forced is not None and forced.name == "keep":
            return col if want is None else col.cast(want)
        kind = col.type
        if pa.types.is_dictionary(kind):
            col = col.dictionary_decode()
            kind = col.type
        if pa.types.is_nested(kind):
            # lists, structs and maps are scanned, and written, as JSON text: replacing a
            # value deep inside would need a rebuilt nested type per chunk
            col = pa.array([None if v is None else json.dumps(v, ensure_ascii=False,
                                                               default=str)
                            for v in col.to_pylist()], type=pa.string())
            kind = col.type
        scannable = pa.types.is_string(kind) or pa.types.is_large_string(kind) or \
            pa.types.is_integer(kind)
        if forced is None and (pa.types.is_date(kind) or pa.types.is_timestamp(kind)) \
                and _birth_column(name):
            # the dataset scanner counts such a column as dates of birth: so do we
            self._birth.add(name)
        if not scannable and forced is None and name not in self._birth:
            return col if want is None else col.cast(want)
        values = col.to_pylist()
        maybe: list[bool] | None = None
        if forced is None and name not in self._birth:
            # values that cannot hold any entity (the profile's prefilter) are skipped
            text = col if not pa.types.is_integer(kind) else pc.cast(col, pa.string())
            maybe = pc.fill_null(pc.match_substring_regex(text, PREFILTER), False).to_pylist()
            if not any(maybe):
                return col if want is None else col.cast(want)
        out: list[Any] = []
        changed_any = False
        changed_at: list[bool] = []
        for i, v in enumerate(values):
            if v is None or (isinstance(v, str) and not v):
                out.append(v)
                changed_at.append(False)
                continue
            text = v if isinstance(v, str) else _as_text(v)
            if maybe is not None and not maybe[i]:
                out.append(text)
                changed_at.append(False)
                self.stats.setdefault(name, _Stats()).values += 1
                continue
            new = self.transform(text, name)
            changed = new != text
            changed_at.append(changed)
            changed_any |= changed
            out.append(new if changed or isinstance(v, str) else text)
        if not changed_any:
            return col if want is None else col.cast(want)
        if want is None or pa.types.is_string(want) or pa.types.is_large_string(want):
            return pa.array(out, type=want or pa.string())
        # the first chunk fixed this column as non-text: the replacements cannot be
        # stored, so those cells become empty rather than keep their original value
        stats = self.stats.setdefault(name, _Stats())
        stats.nulled += sum(changed_at)
        mask = pa.array(changed_at, type=pa.bool_())
        import pyarrow.compute as pc

        return pc.if_else(mask, pa.scalar(None, type=col.type), col).cast(want)

    def column_changes(self) -> tuple[ColumnChange, ...]:
        return tuple(
            ColumnChange(name, s.values, s.changed, tuple(s.operators.most_common()),
                         tuple(s.entities.most_common()), s.nulled)
            for name, s in self.stats.items())


_BIRTH_WORDS = ("birth", "dob", "born", "рожд", "bday", "д_р", "dr_")


def _birth_column(name: str) -> bool:
    low = name.lower()
    return any(w in low for w in _BIRTH_WORDS)


def _context(column: str) -> str:
    return column.replace("_", " ")


def _as_text(value: Any) -> str:
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _non_overlapping(spans: Sequence[Span]) -> list[Span]:
    """Spans sorted by start; of overlapping ones the longer wins."""
    chosen: list[Span] = []
    for s in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        if s.end <= s.start:
            continue
        if chosen and s.start < chosen[-1].end:
            if s.end - s.start > chosen[-1].end - chosen[-1].start:
                chosen[-1] = s
            continue
        chosen.append(s)
    return chosen


def anonymize_file(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    policy: AnonymizePolicy | None = None,
    key: AnonKey | None = None,
    fmt: str | None = None,
    verify: bool = True,
    detector: Detector | None = None,
    progress: Progress | None = None,
    rows_per_batch: int = 65_536,
) -> AnonymizeResult:
    """Anonymise `source` into `target` in the same format; see the module docstring.

    Raises KeyboardInterrupt or a reader/writer error unchanged, after removing the
    temporary output; the target is never left half-written.
    """
    from dozor.data.readers import open_table
    from dozor.data.writers import TableWriter, normalise_format

    if Path(source).is_dir():
        raise ValueError(f"{source} is a folder; anonymise one file at a time")
    started = time.perf_counter()
    policy = policy or AnonymizePolicy()
    anonymizer = Anonymizer(policy, key, detector)
    target_schema = None
    with open_table(source, fmt=fmt) as reader:
        out_fmt = normalise_format(fmt or reader.format)
        meta = {SCHEMA_KEY: json.dumps([[n, str(t)] for n, t in reader.schema])}
        with TableWriter(target, out_fmt, metadata=meta) as writer:
            for batch in reader.iter_batches(rows=rows_per_batch):
                new = anonymizer.transform_batch(batch, target_schema)
                if target_schema is None:
                    target_schema = new.schema
                writer.write(new)
                if progress is not None:
                    progress(batch.num_rows)
            if target_schema is None:  # no rows: still write the header / schema
                import pyarrow as pa

                writer.write(pa.RecordBatch.from_pylist([], schema=reader.arrow_schema))
            temp = writer.finish()
            verified: bool | None = None
            leaks = lookalikes = 0
            if verify:
                leaks, lookalikes = _rescan(temp, out_fmt, anonymizer)
                verified = leaks == 0
            if verified is not False:
                writer.commit()
            rows = writer.rows
    return AnonymizeResult(str(source), str(target), out_fmt, rows,
                           anonymizer.column_changes(), verified, leaks, lookalikes,
                           time.perf_counter() - started)


def _rescan(path: Path, fmt: str, anonymizer: Anonymizer) -> tuple[int, int]:
    """Count detected output values that were detected input values (leaks) or not.

    The output file is read back and scanned like an input: each batch's distinct
    values once (Arrow `value_counts`), after the profile's prefilter.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from dozor.data.profile import PREFILTER
    from dozor.data.readers import open_table

    originals = np.unique(np.frombuffer(anonymizer.digests, dtype=np.uint64)) \
        if len(anonymizer.digests) else np.zeros(0, dtype=np.uint64)
    kept = {c for c, s in anonymizer.policy.columns.items() if s.name == "keep"}
    leaks = lookalikes = 0
    with open_table(path, fmt=fmt) as reader:
        for batch in reader.iter_batches(rows=65_536):
            for i, name in enumerate(batch.schema.names):
                if name in kept:
                    continue
                col = batch.column(i)
                if pa.types.is_integer(col.type):
                    col = pc.cast(col, pa.string())
                if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
                    continue
                counts = pc.value_counts(col)
                values, numbers = counts.field("values"), counts.field("counts").to_pylist()
                maybe = pc.fill_null(pc.match_substring_regex(values, PREFILTER), False)
                for v, n, ok in zip(values.to_pylist(), numbers, maybe.to_pylist(),
                                    strict=True):
                    if v is None or not ok:
                        continue
                    for s in anonymizer.detect(v, _context(name)):
                        d = np.uint64(anonymizer.digest(s.text))
                        pos = int(np.searchsorted(originals, d))
                        if pos < len(originals) and originals[pos] == d:
                            leaks += n
                        else:
                            lookalikes += n
    return leaks, lookalikes


@dataclass(frozen=True)
class RestoreResult:
    source: str
    target: str
    rows: int
    restored: int
    """Encrypted tokens turned back into their values."""


def restore_file(source: str | os.PathLike[str], target: str | os.PathLike[str], *,
                 key: AnonKey, fmt: str | None = None, progress: Progress | None = None
                 ) -> RestoreResult:
    """Undo the ``encrypt`` operator: every ``dz1:`` token becomes its value again.

    Other operators are one-way by design and stay as they are. Parquet columns get
    their input types back from the metadata `anonymize_file` wrote.
    """
    import pyarrow as pa

    from dozor.data.readers import open_table
    from dozor.data.writers import TableWriter, normalise_format

    ops = Operators(key)
    restored = 0
    with open_table(source, fmt=fmt) as reader:
        out_fmt = normalise_format(fmt or reader.format)
        types = _original_types(source) if out_fmt == "parquet" else {}
        with TableWriter(target, out_fmt) as writer:
            for batch in reader.iter_batches(rows=65_536):
                arrays = []
                for i, name in enumerate(batch.schema.names):
                    col = batch.column(i)
                    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
                        values = []
                        for v in col.to_pylist():
                            if v is not None and "dz1:" in v:
                                v, n = ops.restore_text(v)
                                restored += n
                            values.append(v)
                        col = pa.array(values, type=col.type)
                    if name in types:
                        try:
                            col = col.cast(types[name])
                        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                            pass
                    arrays.append(col)
                writer.write(pa.RecordBatch.from_arrays(arrays, names=batch.schema.names))
                if progress is not None:
                    progress(batch.num_rows)
            writer.commit()
            rows = writer.rows
    return RestoreResult(str(source), str(target), rows, restored)


def _original_types(path: str | os.PathLike[str]) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(path).metadata or {}
        pairs = json.loads(meta.get(SCHEMA_KEY.encode(), b"[]"))
        return {n: pa.type_for_alias(t) for n, t in pairs if _alias_ok(t)}
    except (OSError, ValueError, pa.ArrowInvalid):
        return {}


def _alias_ok(name: str) -> bool:
    import pyarrow as pa

    try:
        pa.type_for_alias(name)
        return True
    except ValueError:
        return False
