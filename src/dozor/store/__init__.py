"""Persistence shared by every part of dozor: reports, tamper-evident event streams, records.

SQLite by default (a file under `.dozor/` in the working directory, or `$DOZOR_STORE`),
PostgreSQL or any other SQLAlchemy URL when one is given, so a team can point several
guard replicas and CI jobs at one database. SQLAlchemy Core is used rather than an ORM:
three small tables, no object identity to manage.

- **Reports** (`save_report`, `reports`): whole reports as JSON, by kind (`scan`,
  `redteam`, `robust`, ...), for history and comparison.
- **Events** (`append_events`, `events`, `verify_chain`): append-only streams such as the
  guard's decision log. Each event stores the SHA-256 of the previous event's hash and its
  own canonical JSON, so changing, removing or reordering an event breaks the chain, and
  `verify_chain` names the first event that no longer fits.
- **Records** (`put_record`, `records`): keyed JSON documents in a namespace, upserted,
  for resumable work such as a red-team run's finished attempts.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

__all__ = ["Event", "Store", "StoreError", "StoredReport", "open_store", "default_url"]

GENESIS = "0" * 64

_meta = sa.MetaData()
_reports = sa.Table(
    "dozor_reports",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(64), nullable=False, index=True),
    sa.Column("name", sa.String(512), nullable=False, default=""),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("data", sa.Text, nullable=False),
)
_events = sa.Table(
    "dozor_events",
    _meta,
    sa.Column("stream", sa.String(128), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("time", sa.Float, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)
_records = sa.Table(
    "dozor_records",
    _meta,
    sa.Column("namespace", sa.String(256), primary_key=True),
    sa.Column("key", sa.String(512), primary_key=True),
    sa.Column("updated", sa.Float, nullable=False),
    sa.Column("data", sa.Text, nullable=False),
)


class StoreError(Exception):
    """The store cannot be opened or written; the message is one line for the user."""


@dataclass(frozen=True)
class StoredReport:
    id: int
    """Row id, increasing."""
    kind: str
    """Which part of dozor made it: scan, redteam, robust, guard, ..."""
    name: str
    """A label given by the caller (a target, a model path)."""
    created: float
    """Unix time when it was saved."""
    data: dict[str, Any]
    """The report as JSON."""


@dataclass(frozen=True)
class Event:
    seq: int
    """Position in its stream, from 1."""
    stream: str
    """Stream name, such as guard.decisions."""
    time: float
    """Unix time when it was appended."""
    payload: dict[str, Any]
    """The event's content."""
    prev_hash: str
    """Hash of the event before it (64 zeros for the first)."""
    hash: str
    """SHA-256 over prev_hash, seq, time and the canonical payload."""


def _canonical(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def _event_hash(prev_hash: str, stream: str, seq: int, when: float, payload_json: str) -> str:
    h = hashlib.sha256()
    for part in (prev_hash, stream, str(seq), repr(when), payload_json):
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


def default_url() -> str:
    """`$DOZOR_STORE`, or a SQLite file `.dozor/dozor.db` in the working directory."""
    env = os.environ.get("DOZOR_STORE")
    if env:
        return env
    return f"sqlite:///{Path.cwd() / '.dozor' / 'dozor.db'}"


class Store:
    """One database, opened once per process and shared by threads."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
                Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
            kwargs: dict[str, Any] = {}
            if url.startswith("sqlite"):
                kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
                if url in ("sqlite://", "sqlite:///:memory:"):
                    kwargs["poolclass"] = sa.pool.StaticPool
            self._engine = sa.create_engine(url, **kwargs)
            if url.startswith("sqlite"):
                sa.event.listen(self._engine, "connect", _sqlite_pragmas)
            try:
                _meta.create_all(self._engine)
            except sa.exc.OperationalError:
                # Another process created the tables between our check and our CREATE.
                time.sleep(0.05)
                _meta.create_all(self._engine)
        except ImportError as exc:
            raise StoreError(
                f"the store {_safe_url(url)} needs the database driver {exc.name!r}: "
                "pip install 'dozor[postgres]' for PostgreSQL"
            ) from None
        except (sa.exc.SQLAlchemyError, OSError, ValueError) as exc:
            message = f"cannot open the store {_safe_url(url)}: {_first_line(exc)}"
            raise StoreError(message) from None
        # Appends to one stream must not interleave between reading the tail and writing.
        self._append_lock = threading.Lock()

    # reports ---------------------------------------------------------------------------
    def save_report(self, kind: str, data: dict[str, Any], *, name: str = "") -> int:
        with self._write() as conn:
            result = conn.execute(
                _reports.insert().values(kind=kind, name=name[:512], created=time.time(),
                                         data=_canonical(data))
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def reports(self, kind: str | None = None, limit: int = 50) -> list[StoredReport]:
        query = sa.select(_reports).order_by(_reports.c.id.desc()).limit(limit)
        if kind is not None:
            query = query.where(_reports.c.kind == kind)
        with self._read() as conn:
            return [
                StoredReport(row.id, row.kind, row.name, row.created, json.loads(row.data))
                for row in conn.execute(query)
            ]

    # events ----------------------------------------------------------------------------
    def append_events(self, stream: str, payloads: list[dict[str, Any]]) -> list[Event]:
        """Append in order, chained to the stream's last event; returns the new events."""
        if not payloads:
            return []
        # Another process (a second guard replica) may append between our read of the tail
        # and our insert; the primary key (stream, seq) refuses the duplicate and we retry.
        for attempt in range(20):
            try:
                return self._append_once(stream, payloads)
            except StoreError:
                if attempt == 19:
                    raise
                time.sleep(0.005 * (attempt + 1))
        raise AssertionError("unreachable")

    def _append_once(self, stream: str, payloads: list[dict[str, Any]]) -> list[Event]:
        with self._append_lock, self._write() as conn:
            last = conn.execute(
                sa.select(_events.c.seq, _events.c.hash)
                .where(_events.c.stream == stream)
                .order_by(_events.c.seq.desc())
                .limit(1)
            ).first()
            seq, prev = (last.seq, last.hash) if last else (0, GENESIS)
            rows, out = [], []
            for payload in payloads:
                seq += 1
                when = time.time()
                text = _canonical(payload)
                digest = _event_hash(prev, stream, seq, when, text)
                rows.append({"stream": stream, "seq": seq, "time": when, "payload": text,
                             "prev_hash": prev, "hash": digest})
                out.append(Event(seq, stream, when, json.loads(text), prev, digest))
                prev = digest
            conn.execute(_events.insert(), rows)
            return out

    def events(self, stream: str, since: int = 0) -> Iterator[Event]:
        """Events of `stream` with seq greater than `since`, oldest first."""
        query = (
            sa.select(_events)
            .where(_events.c.stream == stream, _events.c.seq > since)
            .order_by(_events.c.seq)
        )
        with self._read() as conn:
            for row in conn.execute(query):
                yield Event(row.seq, row.stream, row.time, json.loads(row.payload),
                            row.prev_hash, row.hash)

    def verify_chain(self, stream: str) -> int | None:
        """The seq of the first event that was changed, removed or reordered, or None."""
        prev, expected_seq = GENESIS, 1
        query = sa.select(_events).where(_events.c.stream == stream).order_by(_events.c.seq)
        with self._read() as conn:
            for row in conn.execute(query):
                if row.seq != expected_seq or row.prev_hash != prev:
                    return int(expected_seq)
                try:
                    text = _canonical(json.loads(row.payload))
                except ValueError:
                    return int(row.seq)
                if text != row.payload or _event_hash(
                    prev, stream, row.seq, row.time, row.payload
                ) != row.hash:
                    return int(row.seq)
                prev, expected_seq = row.hash, expected_seq + 1
        return None

    # records ---------------------------------------------------------------------------
    def put_record(self, namespace: str, key: str, data: dict[str, Any]) -> None:
        values = {"namespace": namespace, "key": key, "updated": time.time(),
                  "data": _canonical(data)}
        with self._write() as conn:
            updated = conn.execute(
                _records.update()
                .where(_records.c.namespace == namespace, _records.c.key == key)
                .values(updated=values["updated"], data=values["data"])
            )
            if updated.rowcount == 0:
                conn.execute(_records.insert().values(**values))

    def records(self, namespace: str) -> dict[str, dict[str, Any]]:
        query = sa.select(_records.c.key, _records.c.data).where(
            _records.c.namespace == namespace
        )
        with self._read() as conn:
            return {row.key: json.loads(row.data) for row in conn.execute(query)}

    def close(self) -> None:
        self._engine.dispose()

    # plumbing --------------------------------------------------------------------------
    def _write(self) -> Any:
        return _Guarded(self._engine.begin(), self.url)

    def _read(self) -> Any:
        return _Guarded(self._engine.connect(), self.url)


class _Guarded:
    """A connection context whose database errors become one-line `StoreError`s."""

    def __init__(self, ctx: Any, url: str) -> None:
        self._ctx, self._url = ctx, url

    def __enter__(self) -> Any:
        try:
            return self._ctx.__enter__()
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"store {_safe_url(self._url)}: {_first_line(exc)}") from None

    def __exit__(self, *exc_info: Any) -> None:
        try:
            self._ctx.__exit__(*exc_info)
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"store {_safe_url(self._url)}: {_first_line(exc)}") from None
        if exc_info[0] is not None and issubclass(exc_info[0], sa.exc.SQLAlchemyError):
            raise StoreError(
                f"store {_safe_url(self._url)}: {_first_line(exc_info[1])}"
            ) from None
        return None


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
        cursor.execute("PRAGMA synchronous=NORMAL")
    except Exception:  # noqa: BLE001 - a read-only or in-memory database keeps its defaults
        pass
    finally:
        cursor.close()


def _safe_url(url: str) -> str:
    """The URL without a password, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return "<invalid URL>"


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


_opened: dict[str, Store] = {}
_opened_lock = threading.Lock()


def open_store(url: str | None = None) -> Store:
    """The store at `url` (default: `default_url()`), opened once per process."""
    resolved = url or default_url()
    with _opened_lock:
        store = _opened.get(resolved)
        if store is None:
            store = _opened[resolved] = Store(resolved)
        return store
