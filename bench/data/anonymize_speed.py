"""Throughput and peak memory of `dozor anonymize` on a generated table.

The table has an id, a person's name, an e-mail, a phone, an amount, a country and a
free-text comment in which one row in ten mentions an e-mail or a phone. Values repeat
as in real data (a few thousand distinct names). The run is a separate process, so
its peak RSS is the anonymiser's own.

    .venv/bin/python bench/data/anonymize_speed.py --rows 200000 [--operator hash]
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIRST = ["James", "Mary", "Robert", "Linda", "Иван", "Мария", "Ольга", "Пётр", "Anna", "Tom"]
LAST = ["Smith", "Brown", "Taylor", "Иванов", "Петрова", "Lee", "Garcia", "Wilson", "Kim"]
WORDS = "the order arrived late please refund the delivery was fine thanks again".split()


def make(path: Path, rows: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "name", "email", "phone", "amount", "country", "comment"])
        for i in range(rows):
            person = rng.randrange(5000)
            first, last = FIRST[person % len(FIRST)], LAST[person % len(LAST)]
            email = f"user{person}@example{person % 7}.com"
            phone = f"+7 9{person % 100:02d} {person % 1000:03d}-{i % 100:02d}-{i % 97:02d}"
            comment = " ".join(rng.choice(WORDS) for _ in range(8))
            if i % 10 == 0:
                comment += f" write to {email}" if i % 20 else f" call {phone}"
            w.writerow([i, f"{first} {last}", email, phone, f"{rng.random() * 100:.2f}",
                        rng.choice(["RU", "US", "DE"]), comment])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--operator", default="hash")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        from dozor.data.anonymize import AnonKey, AnonymizePolicy, anonymize_file

        src, dst, op = args.child
        t = time.perf_counter()
        result = anonymize_file(src, dst, key=AnonKey(b"k" * 32),
                                policy=AnonymizePolicy.from_dict({"default": op}))
        seconds = time.perf_counter() - t
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{result.rows} rows in {seconds:.1f} s = {result.rows / seconds:,.0f} rows/s "
              f"(write + re-scan verification), verified={result.verified}, "
              f"peak RSS {peak:.0f} MiB")
        return
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.csv", Path(tmp) / "out.csv"
        make(src, args.rows)
        print(f"input: {args.rows:,} rows, {src.stat().st_size / 2**20:.1f} MiB")
        subprocess.run([sys.executable, __file__, "--child", str(src), str(dst),
                        args.operator], check=True)


if __name__ == "__main__":
    main()
