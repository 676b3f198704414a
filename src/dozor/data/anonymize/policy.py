"""The anonymisation policy: which operator applies to which column or kind of value.

```yaml
default: hash                 # detected values with no entity rule (default: hash)
entities:                     # by detected kind of value
  EMAIL: fake
  CREDIT_CARD: {op: mask, keep: 4}
  DATE_OF_BIRTH: {op: generalize, to: year}
columns:                      # every value of a column, detected or not
  customer_id: hash
  age: {op: generalize, step: 10}
  country: keep               # left as it is and not scanned
detect:                       # passed to dozor.detect.pii.find_pii
  entities: [EMAIL, PHONE]    # default: all
  min_score: 0.5
  languages: [en, ru]
```

Without a policy every value the detector finds is pseudonymised (``hash``) and
everything else is left as it is, so joins on personal columns keep working.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dozor.data.anonymize.operators import OPERATORS, OperatorSpec

MAX_POLICY_BYTES = 1 << 20


class PolicyError(ValueError):
    """The policy file is unreadable or invalid; the message is one sentence."""


@dataclass(frozen=True)
class AnonymizePolicy:
    default: OperatorSpec = field(default_factory=lambda: OperatorSpec("hash"))
    entities: Mapping[str, OperatorSpec] = field(default_factory=dict)
    columns: Mapping[str, OperatorSpec] = field(default_factory=dict)
    detect_entities: tuple[str, ...] | None = None
    min_score: float = 0.5
    languages: tuple[str, ...] = ("en", "ru")

    def for_entity(self, entity: str | None) -> OperatorSpec:
        return self.entities.get(entity or "", self.default)

    def operators_used(self) -> set[str]:
        return {self.default.name, *(s.name for s in self.entities.values()),
                *(s.name for s in self.columns.values())}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> AnonymizePolicy:
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise PolicyError("the policy must be a mapping with default, entities, columns")
        unknown = set(data) - {"default", "entities", "columns", "detect"}
        if unknown:
            raise PolicyError(f"unknown policy key {sorted(unknown)[0]!r}; use default, "
                              "entities, columns, detect")
        default = _spec(data.get("default", "hash"), "default")
        entities = {str(k).upper(): _spec(v, f"entities.{k}")
                    for k, v in _mapping(data.get("entities"), "entities").items()}
        _known_entities(entities, "entities")
        columns = {str(k): _spec(v, f"columns.{k}")
                   for k, v in _mapping(data.get("columns"), "columns").items()}
        detect = _mapping(data.get("detect"), "detect")
        ents = detect.get("entities")
        if ents is not None and not (isinstance(ents, list) and all(isinstance(e, str)
                                                                     for e in ents)):
            raise PolicyError("detect.entities must be a list of entity names")
        try:
            min_score = float(detect.get("min_score", 0.5))
        except (TypeError, ValueError):
            raise PolicyError("detect.min_score must be a number between 0 and 1") from None
        langs = detect.get("languages", ["en", "ru"])
        if not isinstance(langs, list):
            raise PolicyError("detect.languages must be a list such as [en, ru]")
        if ents is not None:
            _known_entities([e.upper() for e in ents], "detect.entities")
        return cls(default, entities, columns,
                   tuple(e.upper() for e in ents) if ents is not None else None,
                   min_score, tuple(str(x) for x in langs))


def _known_entities(names: Iterable[str], where: str) -> None:
    from dozor.detect.pii import ENTITIES

    for name in names:
        if name not in ENTITIES:
            raise PolicyError(f"{where}: unknown entity type {name!r}; known: "
                              f"{', '.join(ENTITIES)}")


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise PolicyError(f"{where} must be a mapping")
    return value


def _spec(value: Any, where: str) -> OperatorSpec:
    if isinstance(value, str):
        name, params = value, {}
    elif isinstance(value, Mapping) and isinstance(value.get("op"), str):
        name, params = value["op"], {k: v for k, v in value.items() if k != "op"}
    else:
        raise PolicyError(f"{where}: give an operator name or {{op: NAME, ...}}")
    if not isinstance(params, Mapping) or not all(isinstance(k, str) for k in params):
        raise PolicyError(f"{where}: parameters must be a mapping of names to values")
    name = name.strip().lower().replace("generalise", "generalize")
    if name not in OPERATORS:
        raise PolicyError(f"{where}: unknown operator {name!r}; choose one of "
                          f"{', '.join(OPERATORS)}")
    for key, value in params.items():
        check = _PARAMS.get(key)
        if check is None:
            raise PolicyError(f"{where}: unknown parameter {key!r}; use "
                              f"{', '.join(sorted(_PARAMS))}")
        if not check[0](value):
            raise PolicyError(f"{where}: {key} must be {check[1]}")
    return OperatorSpec(name, params)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


_PARAMS: dict[str, tuple[Any, str]] = {
    "keep": (lambda v: _is_int(v) and 0 <= v <= 64, "a whole number from 0 to 64"),
    "char": (lambda v: isinstance(v, str) and len(v) == 1, "one character"),
    "text": (lambda v: isinstance(v, str) and len(v) <= 200, "a short text"),
    "step": (lambda v: isinstance(v, int | float) and not isinstance(v, bool) and 0 < v < 1e12,
             "a positive number"),
    "to": (lambda v: v in ("year", "month"), "year or month"),
    "prefix": (lambda v: _is_int(v) and 0 <= v <= 128, "a prefix length such as 24"),
    "zip": (lambda v: isinstance(v, bool), "true or false"),
    "length": (lambda v: _is_int(v) and 12 <= v <= 64, "a whole number from 12 to 64"),
    "entity": (lambda v: isinstance(v, str) and v.isidentifier(), "an entity name"),
}
"""Operator parameters, checked when the policy is read rather than mid-file."""


def load_policy(path: str | os.PathLike[str] | None) -> AnonymizePolicy:
    """Read a YAML policy file; None gives the default policy."""
    if path is None:
        return AnonymizePolicy()
    import yaml

    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_POLICY_BYTES + 1)
    except OSError as exc:
        raise PolicyError(f"cannot read policy {path}: {exc.strerror}") from None
    if len(raw) > MAX_POLICY_BYTES:
        raise PolicyError(f"policy {path} is larger than 1 MiB")
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise PolicyError(f"policy {path} is not valid YAML: {str(exc).splitlines()[0]}") \
            from None
    return AnonymizePolicy.from_dict(data)
