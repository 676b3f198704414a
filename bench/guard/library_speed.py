"""The guard library's CPU per call on 4,000-character prompts (docs/guard.md, "Speed").

Default policy, one process, every call on a different text (a counter appended, so no
cache helps), 3 rounds of 200 calls per row (50 for streams); the median of the rounds'
p50 and p99 of `time.thread_time` (the guard's own CPU, not the wait for a core on a
shared machine). Prompts: English and Russian prose with an e-mail address every
~150 characters (personal data the default policy anonymises); the same with the
injection scanner off; a streamed answer fed in 20-character chunks.

    .venv/bin/python bench/guard/library_speed.py
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable

from dozor.guard import Guard

EN = ("Please summarise the following report about quarterly sales in the northern region "
      "and list three risks. Contact the analyst at jane.doe@example.com for questions. ")
RU = ("Пожалуйста, кратко изложите отчёт о продажах в северном регионе за квартал и "
      "назовите три риска. Вопросы: ivan.petrov@example.ru. ")
COUNTER = itertools.count()


def _text(base: str) -> str:
    return (base * (4000 // len(base) + 1))[:4000]


def percentiles(fn: Callable[[str], object], base: str, calls: int) -> tuple[float, float]:
    times = []
    for _ in range(calls):
        text = base + f" {next(COUNTER)}"
        t = time.thread_time()
        fn(text)
        times.append(time.thread_time() - t)
    times.sort()
    return times[len(times) // 2] * 1000, times[int(len(times) * 0.99) - 1] * 1000


def median_of_rounds(fn: Callable[[str], object], base: str, calls: int) -> str:
    rounds = [percentiles(fn, base, calls) for _ in range(3)]
    return (f"{statistics.median(r[0] for r in rounds):.2f} / "
            f"{statistics.median(r[1] for r in rounds):.2f} ms")


def stream_cost(guard: Guard, base: str) -> str:
    def whole(text: str) -> None:
        stream = guard.output_stream(guard.conversation())
        for i in range(0, len(text), 20):
            stream.feed(text[i:i + 20])
        stream.close()
    return median_of_rounds(whole, base, 50).split(" / ")[0] + " ms"


def main() -> None:
    full = Guard.from_policy(None)
    no_injection = Guard.from_policy({"input": {"injection": {"enabled": False}}})
    rows = [("short (50 chars)", full, "What will the weather be like in Oslo tomorrow?")]
    for name, base in (("English", _text(EN)), ("Russian", _text(RU))):
        rows.append((f"4,000 chars {name}, an e-mail every ~150 chars", full, base))
    for name, base in (("English", _text(EN)), ("Russian", _text(RU))):
        rows.append((f"the same, injection scanner off: {name}", no_injection, base))
    for guard, base in ((full, _text(EN)), (no_injection, _text(RU))):  # load lazily first
        guard.check_input(base)
        guard.check_output(base)
    print("| text | `check_input` p50 / p99 | `check_output` p50 / p99 | stream, 20-character "
          "chunks, whole answer p50 |")
    print("| --- | --- | --- | --- |")
    for label, guard, base in rows:
        conv = guard.conversation()
        inp = median_of_rounds(lambda t, g=guard, c=conv: g.check_input(t, conversation=c),
                               base, 200)
        out = median_of_rounds(lambda t, g=guard, c=conv: g.check_output(t, conversation=c),
                               base, 200)
        print(f"| {label} | {inp} | {out} | {stream_cost(guard, base)} |")


if __name__ == "__main__":
    main()
