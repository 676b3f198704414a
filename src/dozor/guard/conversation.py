"""One conversation's state: the anonymisation vault, the canary and the system prompt.

Personal values are replaced by placeholders such as ``<EMAIL_1>`` before a prompt
leaves and restored in the answer. Placeholders are stable within a conversation (the
same value always gets the same one), so the model can refer to "<EMAIL_1>" across
turns, and they are restored case-insensitively because models sometimes change case.
"""

from __future__ import annotations

import re
import secrets
import threading
import uuid
from collections import OrderedDict

from dozor.guard.scanners.leakage import ngram_hashes

PLACEHOLDER = re.compile(r"<([A-Za-z][A-Za-z_]{0,30}_\d{1,6})>")
_PARTIAL = re.compile(r"<[A-Za-z_]{0,31}\d{0,6}\Z")
MAX_VALUES = 10_000
"""Values per conversation; a conversation past this gets no new placeholders and its
further values are redacted instead (the vault must not grow without bound)."""


class Vault:
    """Placeholders and the values they stand for, for one conversation."""

    def __init__(self) -> None:
        self._by_value: dict[tuple[str, str], str] = {}
        self._by_placeholder: dict[str, str] = {}
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._by_placeholder)

    @staticmethod
    def _key(entity: str, value: str) -> tuple[str, str]:
        return entity, value.lower() if entity == "EMAIL" else value

    def placeholder(self, entity: str, value: str) -> str | None:
        """The placeholder for `value` (made on first use); None when the vault is full."""
        entity = re.sub(r"[^A-Z_]", "_", entity.upper()) or "VALUE"
        key = self._key(entity, value)
        with self._lock:
            found = self._by_value.get(key)
            if found is not None:
                return found
            if len(self._by_placeholder) >= MAX_VALUES:
                return None
            n = self._counts.get(entity, 0) + 1
            self._counts[entity] = n
            name = f"<{entity}_{n}>"
            self._by_value[key] = name
            self._by_placeholder[name[1:-1].upper()] = value
            return name

    def value(self, placeholder: str) -> str | None:
        return self._by_placeholder.get(placeholder.strip("<>").upper())

    def values(self) -> set[str]:
        """Every value held (and its lower-case form), to tell leaks from echoes."""
        with self._lock:
            vals = list(self._by_placeholder.values())
        return set(vals) | {v.lower() for v in vals}

    def restore(self, text: str) -> str:
        """`text` with every known placeholder replaced by its value."""
        if not self._by_placeholder or "<" not in text:
            return text

        def put(m: re.Match[str]) -> str:
            value = self._by_placeholder.get(m.group(1).upper())
            return value if value is not None else m.group()

        return PLACEHOLDER.sub(put, text)

    @staticmethod
    def partial_tail(text: str) -> int:
        """Where a possible unfinished placeholder starts at the end of `text` (so a
        stream holds it back), or len(text) when there is none."""
        i = text.rfind("<", max(0, len(text) - 40))
        if i >= 0 and _PARTIAL.match(text, i):
            return i
        return len(text)


class Conversation:
    """State the guard keeps for one conversation (see `Guard.conversation`)."""

    def __init__(self, conversation_id: str | None = None) -> None:
        self.id = conversation_id or uuid.uuid4().hex
        self.vault = Vault()
        self.canary = f"dzc-{secrets.token_hex(8)}"
        self._prompts: list[str] = []
        self.history: OrderedDict[tuple[object, ...], object] = OrderedDict()
        """Checks of earlier chat messages (kept by the guard; not part of `to_dict`)."""
        self.history_lock = threading.Lock()
        self._ngrams: dict[int, frozenset[int]] = {}
        self._lock = threading.Lock()

    def to_dict(self) -> dict[str, object]:
        """The conversation's state, for a store shared by several guard replicas.
        It holds the personal values in clear: keep it where you keep the prompts."""
        with self.vault._lock:
            values = [[k, v] for k, v in self.vault._by_placeholder.items()]
            counts = dict(self.vault._counts)
        return {"id": self.id, "canary": self.canary, "values": values, "counts": counts,
                "system_prompts": list(self._prompts)}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Conversation:
        """A conversation rebuilt from `to_dict`; ValueError if `data` is not one."""
        try:
            conv = cls(str(data["id"]))
            conv.canary = str(data["canary"])
            values = data.get("values", [])
            counts = data.get("counts", {})
            prompts = data.get("system_prompts", [])
            assert isinstance(values, list) and isinstance(counts, dict)
            assert isinstance(prompts, list)
            for name, value in values:
                name, value = str(name), str(value)
                entity = name.rsplit("_", 1)[0]
                conv.vault._by_placeholder[name.upper()] = value
                conv.vault._by_value[Vault._key(entity, value)] = f"<{name}>"
            conv.vault._counts.update({str(k): int(v) for k, v in counts.items()})
            for p in prompts[-4:]:
                conv.remember_system_prompt(str(p))
        except (KeyError, TypeError, ValueError, AssertionError) as exc:
            raise ValueError(f"not a saved conversation ({type(exc).__name__})") from None
        return conv

    def remember_system_prompt(self, prompt: str) -> None:
        with self._lock:
            if prompt in self._prompts:
                return
            self._prompts.append(prompt[:200_000])
            del self._prompts[:-4]  # the last few system prompts are enough
            self._ngrams.clear()

    @property
    def system_prompts(self) -> tuple[str, ...]:
        return tuple(self._prompts)

    def prompt_ngrams(self, n: int) -> frozenset[int]:
        with self._lock:
            if not self._prompts:
                return frozenset()
            found = self._ngrams.get(n)
            if found is None:
                found = frozenset().union(*(ngram_hashes(p, n) for p in self._prompts))
                self._ngrams[n] = found
            return found
