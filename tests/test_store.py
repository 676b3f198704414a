"""The store: reports, hash-chained events that reveal tampering, upserted records."""

from __future__ import annotations

import os
import sqlite3
import threading
import uuid
from pathlib import Path

import pytest

from dozor.store import Store, StoreError, open_store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'd.db'}")


@pytest.fixture
def pg_store() -> Store:
    url = os.environ.get("DOZOR_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("set DOZOR_TEST_POSTGRES_URL (.ci/run starts a PostgreSQL server)")
    return Store(url)


def test_postgresql_backend(pg_store: Store) -> None:
    """The same store on a real PostgreSQL server: reports, a chain, records, tampering."""
    import sqlalchemy as sa

    stream, ns = f"s-{uuid.uuid4().hex}", f"ns-{uuid.uuid4().hex}"
    rid = pg_store.save_report("scan", {"x": "ü"}, name="pg")
    assert any(r.id == rid and r.data == {"x": "ü"} for r in pg_store.reports("scan"))

    def work(k: int) -> None:
        for i in range(10):
            pg_store.append_events(stream, [{"k": k, "i": i}])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [e.seq for e in pg_store.events(stream)] == list(range(1, 31))
    assert pg_store.verify_chain(stream) is None
    pg_store.put_record(ns, "a", {"v": 1})
    pg_store.put_record(ns, "a", {"v": 2})
    assert pg_store.records(ns) == {"a": {"v": 2}}
    with pg_store._engine.begin() as conn:  # an insider edits one event
        conn.execute(sa.text("UPDATE dozor_events SET payload = :p WHERE stream = :s AND seq = 7"),
                     {"p": '{"i":0,"k":99}', "s": stream})
    assert pg_store.verify_chain(stream) == 7


def test_reports_round_trip_newest_first(store: Store) -> None:
    first = store.save_report("scan", {"findings": [1, 2]}, name="models/")
    second = store.save_report("redteam", {"asr": 0.5})
    assert second > first
    assert [r.id for r in store.reports()] == [second, first]
    (only,) = store.reports("scan")
    assert only.data == {"findings": [1, 2]} and only.name == "models/"


def test_events_chain_and_tamper_detection(store: Store, tmp_path: Path) -> None:
    store.append_events("guard.decisions", [{"n": i, "text": "привет"} for i in range(5)])
    store.append_events("guard.decisions", [{"n": 5}])
    store.append_events("other", [{"x": 1}])
    events = list(store.events("guard.decisions"))
    assert [e.seq for e in events] == [1, 2, 3, 4, 5, 6]
    assert events[0].payload == {"n": 0, "text": "привет"}
    assert events[1].prev_hash == events[0].hash
    assert [e.seq for e in store.events("guard.decisions", since=4)] == [5, 6]
    assert store.verify_chain("guard.decisions") is None
    assert store.verify_chain("other") is None

    db = sqlite3.connect(tmp_path / "d.db")
    db.execute("UPDATE dozor_events SET payload='{\"n\":99}' WHERE stream='guard.decisions' "
               "AND seq=3")
    db.commit()
    assert store.verify_chain("guard.decisions") == 3
    db.execute("UPDATE dozor_events SET payload='{\"n\":2,\"text\":\"привет\"}' "
               "WHERE stream='guard.decisions' AND seq=3")
    db.execute("DELETE FROM dozor_events WHERE stream='guard.decisions' AND seq=2")
    db.commit()
    db.close()
    assert store.verify_chain("guard.decisions") == 2


def test_concurrent_appends_keep_one_chain(store: Store) -> None:
    def work(k: int) -> None:
        for i in range(20):
            store.append_events("s", [{"k": k, "i": i}])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [e.seq for e in store.events("s")] == list(range(1, 81))
    assert store.verify_chain("s") is None


def test_records_upsert(store: Store) -> None:
    store.put_record("run-1", "probe-a/0", {"status": "pending"})
    store.put_record("run-1", "probe-a/0", {"status": "done", "success": True})
    store.put_record("run-1", "probe-b/0", {"status": "done"})
    store.put_record("run-2", "probe-a/0", {"status": "done"})
    assert store.records("run-1") == {
        "probe-a/0": {"status": "done", "success": True},
        "probe-b/0": {"status": "done"},
    }
    assert store.records("nothing") == {}


def test_default_location_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DOZOR_STORE", raising=False)
    store = open_store()
    store.save_report("scan", {})
    assert (tmp_path / ".dozor" / "dozor.db").is_file()
    monkeypatch.setenv("DOZOR_STORE", f"sqlite:///{tmp_path / 'elsewhere.db'}")
    assert open_store().url.endswith("elsewhere.db")
    assert open_store() is open_store()


def test_bad_urls_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as err:
        Store("nosuchdialect://x")
    assert "\n" not in str(err.value)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError) as err:
        Store(f"sqlite:///{blocker / 'sub' / 'd.db'}")
    assert "\n" not in str(err.value)
    with pytest.raises(StoreError) as err:
        Store("postgresql://user:secret@127.0.0.1:1/db").reports()
    assert "secret" not in str(err.value)


def _append_from_process(url: str, stream: str, n: int) -> None:
    store = Store(url)
    for i in range(n):
        store.append_events(stream, [{"pid": os.getpid(), "i": i}])


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_processes_append_to_one_chain(backend: str, tmp_path: Path) -> None:
    """Two replicas writing one stream: no lost or duplicate events, one valid chain."""
    import multiprocessing

    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'shared.db'}"
    else:
        url = os.environ.get("DOZOR_TEST_POSTGRES_URL", "")
        if not url:
            pytest.skip("set DOZOR_TEST_POSTGRES_URL (.ci/run starts a PostgreSQL server)")
    Store(url)  # create the tables once, before the race
    stream = f"s-{uuid.uuid4().hex}"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_from_process, args=(url, stream, 25)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    store = Store(url)
    assert [e.seq for e in store.events(stream)] == list(range(1, 51))
    assert store.verify_chain(stream) is None
