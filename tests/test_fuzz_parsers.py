"""Bounded fuzzing of the pickle reader and the container parsers.

Random, truncated and mutated input must give findings or nothing, never an exception
(the engine turns a parser crash into DZ-GEN-001, so that rule is the failure signal)
and never a hang (each example runs under a small time limit).
"""

from __future__ import annotations

import collections
import gzip
import io
import pickle
import tarfile
import time
import zipfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dozor.findings import Location
from dozor.scan.base import Blob, Limits, ScanContext
from dozor.scan.engine import dispatch

LIMITS = Limits(seconds_per_file=5.0, max_member_bytes=8 << 20, max_total_unpacked=32 << 20)


def scan(data: bytes) -> None:
    ctx = ScanContext(limits=LIMITS, dispatch=dispatch)
    start = time.monotonic()
    found = list(dispatch(Blob(data, Location("fuzz")), ctx, None))
    assert time.monotonic() - start < 10
    crashes = [f for f in found if f.rule_id == "DZ-GEN-001"]
    assert not crashes, crashes[0].evidence


def _seeds() -> list[bytes]:
    obj = {"w": [1.5, 2.5], "n": collections.OrderedDict(a=(1, "x")), "b": b"\x00" * 40}
    seeds = [pickle.dumps(obj, protocol=p) for p in range(6)]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("archive/data.pkl", seeds[2])
        z.writestr("archive/version", b"3\n")
        z.writestr("notes.txt", b"hello " * 50)
    seeds.append(buf.getvalue())
    tbuf = io.BytesIO()
    with tarfile.open(fileobj=tbuf, mode="w") as t:
        info = tarfile.TarInfo("pickle")
        info.size = len(seeds[4])
        t.addfile(info, io.BytesIO(seeds[4]))
    seeds.append(tbuf.getvalue())
    seeds.append(gzip.compress(seeds[3]))
    return seeds


SEEDS = _seeds()


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        action = draw(st.integers(0, 3))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if action == 0 and data:
            data[pos] = draw(st.integers(0, 255))
        elif action == 1:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif action == 2:
            del data[pos : pos + draw(st.integers(1, 16))]
        else:
            data = data[: pos + 1]
    return bytes(data)


FUZZ = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes(data: bytes) -> None:
    scan(data)


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes_after_pickle_header(data: bytes) -> None:
    scan(b"\x80\x04" + data)
    scan(b"PK\x03\x04" + data)


@FUZZ
@given(mutated())
def test_mutated_pickles_and_archives(data: bytes) -> None:
    scan(data)


def test_every_truncation_of_the_seeds() -> None:
    for seed in SEEDS:
        step = max(1, len(seed) // 200)
        for n in range(0, len(seed), step):
            scan(seed[:n])
