"""The guard's policy: which scanners run on input and output, their thresholds,
actions and options. YAML or a dict; validated when loaded, with one-line errors.

A policy file only states what differs from the default policy (`DEFAULT_POLICY`):
sections and scanners it does not mention keep their defaults; ``enabled: false``
turns a scanner off, and ``defaults: false`` at the top starts from nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dozor.guard.scanners import SCANNER_MODULES, scanner_class
from dozor.guard.scanners.base import ACTIONS, INPUT, OUTPUT, Scanner

DEFAULT_POLICY = """\
# dozor guard: the default policy (`dozor guard check --show-policy` prints it)
version: 1
untrusted_roles: [user, tool, function]   # roles whose messages get every input scanner
on_error: allow   # a scanner that fails (a bug) lets the text through; "block" fails closed
input:
  limits:    {action: block, max_chars: 100000, max_tokens: 32000}
  injection: {action: block, threshold: 0.5}
  unicode:   {action: redact, threshold: 0.5}    # strip hidden characters, fold look-alikes
  encoded:   {action: block, threshold: 0.5, max_depth: 2}
  pii:       {action: anonymize, threshold: 0.7}  # <EMAIL_1> out, the value back in the answer
  secrets:   {action: redact, threshold: 0.5}
  banned:    {action: block, words: [], topics: {}, patterns: []}
output:
  leakage:   {action: block, threshold: 0.5, canary: true, overlap: true, ngram: 8, min_ngrams: 3}
  secrets:   {action: redact, threshold: 0.5}
  pii:       {action: redact, threshold: 0.7}     # values the user gave are not leaks
  images:    {action: redact, threshold: 0.5, allow_hosts: []}
  links:     {action: report, threshold: 0.5, allow_hosts: []}
  unicode:   {action: redact, threshold: 0.5}
  code:      {enabled: false, action: block}
  banned:    {enabled: false, action: block}
stream:
  window: 256      # characters of already-sent text kept as context for scanning
  holdback: 64     # characters held back at the end until more text arrives
"""


class GuardPolicyError(ValueError):
    """The policy is not valid; the message is one line naming the key."""


@dataclass(frozen=True)
class ScannerSettings:
    name: str
    direction: str
    enabled: bool
    action: str
    threshold: float
    options: Mapping[str, Any]


@dataclass(frozen=True)
class GuardPolicy:
    input: tuple[ScannerSettings, ...]
    output: tuple[ScannerSettings, ...]
    untrusted_roles: frozenset[str] = frozenset({"user", "tool", "function"})
    stream_window: int = 256
    stream_holdback: int = 64
    on_error: str = "allow"
    """What a scanner that fails (a bug, never a finding) means: ``allow`` (fail open,
    the reason says which scanner failed) or ``block`` (fail closed)."""
    raw: Mapping[str, Any] = field(default_factory=dict)
    """The merged policy as a dict (what was validated)."""

    def settings(self, direction: str) -> tuple[ScannerSettings, ...]:
        return self.input if direction == INPUT else self.output

    def build(self, direction: str) -> list[tuple[ScannerSettings, Scanner]]:
        """Instances of the enabled scanners of one direction, in policy order."""
        out = []
        for s in self.settings(direction):
            if s.enabled:
                out.append((s, scanner_class(s.name)(s.options, direction)))
        return out


def _looks_like_yaml(text: str) -> bool:
    """A string is YAML text when it has several lines, a mapping or a flow mapping and
    is not the name of an existing file; otherwise it is a path."""
    if "\n" in text or text.lstrip().startswith("{"):
        return True
    if ": " in text or text.rstrip().endswith(":"):
        try:
            return not Path(text).exists()
        except OSError:
            return True
    return False


def _read(source: str | Path | Mapping[str, Any] | None) -> Mapping[str, Any]:
    import yaml

    if source is None:
        return {}
    if isinstance(source, Mapping):
        return source
    text: str
    if isinstance(source, Path) or not _looks_like_yaml(source):
        path = Path(source)
        try:
            if path.stat().st_size > 1_000_000:
                raise GuardPolicyError(f"policy {path}: larger than 1 MB")
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise GuardPolicyError(f"policy {path}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise GuardPolicyError(f"policy {path}: cannot read it ({exc})") from None
        where = str(path)
    else:
        text, where = source, "policy"
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise GuardPolicyError(f"{where}: not valid YAML{line}") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise GuardPolicyError(f"{where}: the top level must be a mapping")
    return data


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) and k != "topics":
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


_KINDS = {bool: "true or false", int: "a number", float: "a number", str: "a string",
          list: "a list of strings", dict: "a mapping"}


def _same_type(default: Any, value: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))


def _scanner(direction: str, name: str, conf: Any) -> ScannerSettings:
    key = f"{direction}.{name}"
    if name not in SCANNER_MODULES:
        raise GuardPolicyError(f"policy: {key}: unknown scanner; choose from "
                               f"{', '.join(SCANNER_MODULES)}")
    cls = scanner_class(name)
    if direction not in cls.directions:
        raise GuardPolicyError(f"policy: {key}: the {name} scanner does not run on {direction}")
    if conf is None:
        conf = {}
    if not isinstance(conf, Mapping):
        raise GuardPolicyError(f"policy: {key} must be a mapping")
    conf = dict(conf)
    enabled = conf.pop("enabled", True)
    if not isinstance(enabled, bool):
        raise GuardPolicyError(f"policy: {key}.enabled must be true or false")
    action = conf.pop("action", cls.actions[0])
    if action == "anonymise":
        action = "anonymize"
    if action == "allow":
        action = "report"
    if action not in ACTIONS or action not in cls.actions:
        raise GuardPolicyError(f"policy: {key}.action must be one of "
                               f"{', '.join(cls.actions)} (got {action!r})")
    threshold = conf.pop("threshold", cls.default_threshold)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) \
            or not 0.0 <= threshold <= 1.0:
        raise GuardPolicyError(f"policy: {key}.threshold must be a number from 0 to 1")
    for opt, value in conf.items():
        if opt not in cls.defaults:
            known = ", ".join(["enabled", "action", "threshold", *cls.defaults])
            raise GuardPolicyError(f"policy: {key}.{opt}: unknown option; {name} takes {known}")
        if not _same_type(cls.defaults[opt], value):
            kind = _KINDS.get(type(cls.defaults[opt]), type(cls.defaults[opt]).__name__)
            raise GuardPolicyError(f"policy: {key}.{opt} must be {kind}")
        if isinstance(value, list) and not all(isinstance(x, str) for x in value):
            raise GuardPolicyError(f"policy: {key}.{opt} must be a list of strings")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
            raise GuardPolicyError(f"policy: {key}.{opt} must not be negative")
    settings = ScannerSettings(name, direction, enabled, action, float(threshold), conf)
    if enabled:
        try:
            cls({**cls.defaults, **conf}, direction)
        except ValueError as exc:
            raise GuardPolicyError(f"policy: {key}: {exc}") from None
    return settings


def load_policy(source: str | Path | Mapping[str, Any] | None = None) -> GuardPolicy:
    """The policy from a file path, YAML text, a dict, or None for the default."""
    import yaml

    user = _read(source)
    unknown = set(user) - {"version", "defaults", "untrusted_roles", "input", "output", "stream",
                           "on_error", "proxy"}
    if unknown:
        raise GuardPolicyError(f"policy: unknown key {sorted(unknown)[0]!r}; the keys are "
                               "version, defaults, untrusted_roles, on_error, input, output, "
                               "stream "
                               "(and proxy, read by dozor guard serve)")
    if user.get("version", 1) != 1:
        raise GuardPolicyError("policy: version must be 1")
    inherit = user.get("defaults", True)
    if not isinstance(inherit, bool):
        raise GuardPolicyError("policy: defaults must be true or false")
    base = yaml.safe_load(DEFAULT_POLICY) if inherit else {"input": {}, "output": {}}
    merged = _merge(base, {k: v for k, v in user.items() if k not in ("defaults", "proxy")})
    sections: dict[str, tuple[ScannerSettings, ...]] = {}
    for direction in (INPUT, OUTPUT):
        conf = merged.get(direction) or {}
        if not isinstance(conf, Mapping):
            raise GuardPolicyError(f"policy: {direction} must be a mapping of scanners")
        sections[direction] = tuple(_scanner(direction, str(n), c) for n, c in conf.items())
    roles = merged.get("untrusted_roles", ["user", "tool", "function"])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise GuardPolicyError("policy: untrusted_roles must be a list of role names")
    stream = merged.get("stream") or {}
    if not isinstance(stream, Mapping) or set(stream) - {"window", "holdback"}:
        raise GuardPolicyError("policy: stream takes window and holdback")
    window, holdback = stream.get("window", 256), stream.get("holdback", 64)
    for k, v in (("window", window), ("holdback", holdback)):
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 100_000:
            raise GuardPolicyError(f"policy: stream.{k} must be a whole number of characters")
    on_error = merged.get("on_error", "allow")
    if on_error not in ("allow", "block"):
        raise GuardPolicyError("policy: on_error must be allow or block")
    return GuardPolicy(sections[INPUT], sections[OUTPUT], frozenset(roles), window, holdback,
                       on_error, merged)
