"""YAML for hostile input: PyYAML's safe loader with limits, keeping line numbers.

`yaml.safe_load` never runs code, but it still trusts the document's shape: aliases
let a few hundred bytes stand for billions of nodes once something walks the result
(the "billion laughs"), merge keys (``<<: *a``) copy their pairs for real and so can
grow exponentially while loading, and deep nesting exhausts the recursion limit. This
loader counts aliases, nodes, nesting and merged pairs as it composes, and raises
`LimitExceeded` when one runs out. The engine turns that into a finding.

Mappings and sequences come back as `LineDict` and `LineList`, which remember the
1-based line where they start and where each key or item starts, so checks can point
at the offending key.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, SequenceNode

from dozor.scan.base import LimitExceeded, ScanContext


@dataclass(frozen=True)
class YamlLimits:
    """Bounds for one YAML file (all documents together)."""

    max_bytes: int = 5 << 20
    max_documents: int = 1_000
    max_aliases: int = 1_000
    max_depth: int = 100
    max_nodes: int = 500_000
    max_merged_pairs: int = 200_000


class LineDict(dict[Any, Any]):
    """A mapping that knows where it and each of its keys start (1-based lines)."""

    line: int = 0
    key_lines: dict[Any, int]

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line) if hasattr(self, "key_lines") else self.line


class LineList(list[Any]):
    """A sequence that knows where it and each of its items start (1-based lines)."""

    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        lines = getattr(self, "item_lines", [])
        return lines[index] if 0 <= index < len(lines) else self.line


class _BoundedLoader(yaml.SafeLoader):
    def __init__(self, text: str, limits: YamlLimits, ctx: ScanContext | None) -> None:
        super().__init__(text)
        self.limits = limits
        self.ctx = ctx
        self.aliases = 0
        self.nodes = 0
        self.depth = 0
        self.merged = 0
        self.flattening: set[int] = set()

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > self.limits.max_aliases:
                raise LimitExceeded(f"more than {self.limits.max_aliases} YAML aliases")
        self.nodes += 1
        if self.nodes > self.limits.max_nodes:
            raise LimitExceeded(f"more than {self.limits.max_nodes} YAML nodes")
        if self.ctx is not None and not self.nodes & 0xFFF:
            self.ctx.check_time()
        self.depth += 1
        try:
            if self.depth > self.limits.max_depth:
                raise LimitExceeded(f"YAML nested deeper than {self.limits.max_depth}")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def flatten_mapping(self, node: Any) -> None:
        # Merged pairs are copied, so size the merge before PyYAML performs it: every
        # merged mapping is flattened (and counted) first, then this one.
        if id(node) in self.flattening:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping merges itself", node.start_mark
            )
        self.flattening.add(id(node))
        try:
            total = len(node.value)
            for key, value in node.value:
                if key.tag != "tag:yaml.org,2002:merge":
                    continue
                subs = value.value if isinstance(value, SequenceNode) else [value]
                for sub in subs:
                    if isinstance(sub, MappingNode):
                        self.flatten_mapping(sub)
                        total += len(sub.value)
            self.merged += total
            if self.merged > self.limits.max_merged_pairs:
                raise LimitExceeded(
                    f"YAML merge keys expand to more than {self.limits.max_merged_pairs} pairs"
                )
            super().flatten_mapping(node)
        finally:
            self.flattening.discard(id(node))


def _construct_map(loader: _BoundedLoader, node: MappingNode) -> Iterator[LineDict]:
    data = LineDict()
    data.line = node.start_mark.line + 1
    data.key_lines = {}
    yield data
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=False)
        value = loader.construct_object(value_node, deep=False)
        try:
            data[key] = value
            data.key_lines[key] = key_node.start_mark.line + 1
        except TypeError:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, "found an unhashable key",
                key_node.start_mark,
            ) from None


def _construct_seq(loader: _BoundedLoader, node: SequenceNode) -> Iterator[LineList]:
    data = LineList()
    data.line = node.start_mark.line + 1
    data.item_lines = [child.start_mark.line + 1 for child in node.value]
    yield data
    data.extend(loader.construct_object(child, deep=False) for child in node.value)


_BoundedLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_BoundedLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)

# What a malformed or hostile document can raise from inside PyYAML (bad dates,
# huge integers, unhashable keys, odd tags) besides YAMLError.
YAML_ERRORS = (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError)


def load_documents(
    text: str, limits: YamlLimits | None = None, ctx: ScanContext | None = None
) -> Iterator[Any]:
    """Each document of `text` in turn (lazily, so earlier ones are judged even when a
    later one is broken). Raises one of `YAML_ERRORS` on malformed YAML and
    `LimitExceeded` when a limit is reached."""
    limits = limits or YamlLimits()
    if len(text) > limits.max_bytes:
        raise LimitExceeded(f"YAML larger than {limits.max_bytes >> 20} MiB")
    loader = _BoundedLoader(text, limits, ctx)
    try:
        count = 0
        while loader.check_data():
            count += 1
            if count > limits.max_documents:
                raise LimitExceeded(f"more than {limits.max_documents} YAML documents")
            yield loader.get_data()
    finally:
        loader.dispose()


def walk(root: Any, budget: int = 100_000, max_depth: int = 40) -> Iterator[tuple[Any, int]]:
    """Every mapping and sequence under `root` once (aliases share objects, so a
    billion-laughs document is visited in linear time), with its depth."""
    seen: set[int] = set()
    stack: list[tuple[Any, int]] = [(root, 0)]
    while stack and budget > 0:
        obj, depth = stack.pop()
        if not isinstance(obj, (dict, list)) or id(obj) in seen or depth > max_depth:
            continue
        seen.add(id(obj))
        budget -= 1
        yield obj, depth
        children = obj.values() if isinstance(obj, dict) else obj
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))


# ---- reading loaded documents, whose shape is untrusted ------------------------------


def mapping(value: Any) -> dict[Any, Any]:
    """`value` if it is a mapping, else an empty one."""
    return value if isinstance(value, dict) else {}


def sequence(value: Any) -> list[Any]:
    """`value` if it is a sequence, else an empty one."""
    return value if isinstance(value, list) else []


def text(value: Any) -> str | None:
    """A scalar as text (YAML turns ``8080`` and ``true`` into int and bool), else None."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def get(value: Any, *keys: Any) -> Any:
    """``value[k1][k2]...`` through mappings, None where the path breaks."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def line_of(container: Any, key: Any = None, default: int = 0) -> int:
    """The line of `key` in a loaded mapping (or index in a sequence), else of the
    container itself, else `default`."""
    if isinstance(container, LineDict):
        return container.line_of(key) if key is not None else container.line
    if isinstance(container, LineList):
        return container.line_of(key) if isinstance(key, int) else container.line
    return default
