"""What one proxy runs with: upstream, policies per API key, rate limits, log settings.

The settings come from two places, merged once at start-up: the ``proxy:`` section of
the guard policy file (so one reviewed file says what the guard checks and how the proxy
behaves), and the command line, which wins. The rest of the policy file goes to
`dozor.guard.Guard.from_policy` unchanged.

Example policy file::

    proxy:
      redis: redis://127.0.0.1:6379/0   # share rate limits between replicas
      max_request_bytes: 1048576
      upstream_timeout: 120             # seconds to wait for the upstream's answer
      log_prompts: hash                 # hash | redacted | clear | none
      rate_limit: {requests_per_minute: 600, tokens_per_minute: 200000}
      require_key: false                # true: refuse keys not listed below (401)
      keys:
        - name: team-a
          sha256: 6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b
          policy: strict.yaml           # another guard policy for this key
          rate_limit: {requests_per_minute: 60}

API keys appear only as SHA-256 hex digests, in the file and everywhere else: the proxy
hashes the key a client sends and never logs or stores it in clear.

A plain dict is the source of truth (`ProxyConfig.to_dict` / `from_dict`) because
``--workers N`` starts N processes that each rebuild the configuration from it.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

LOG_MODES = ("hash", "redacted", "clear", "none")
OFFLOAD_MODES = ("auto", "thread", "inline")
CLIENTS = ("auto", "aiohttp", "httpx")


class ConfigError(Exception):
    """The proxy settings are invalid; the message is one line saying what to fix."""


def hash_key(key: str) -> str:
    """The SHA-256 hex digest that stands for an API key everywhere in the proxy."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class RateLimit:
    """Per-key budgets over a sliding one-minute window; None means no limit."""

    requests_per_minute: int | None = None
    """Requests admitted per key per minute."""
    tokens_per_minute: int | None = None
    """Prompt tokens (estimated) plus completion tokens (reported) per key per minute."""

    @property
    def active(self) -> bool:
        return bool(self.requests_per_minute or self.tokens_per_minute)

    def merged(self, other: RateLimit | None) -> RateLimit:
        """`other`'s limits where it sets them, this one's elsewhere."""
        if other is None:
            return self
        return RateLimit(
            other.requests_per_minute if other.requests_per_minute is not None
            else self.requests_per_minute,
            other.tokens_per_minute if other.tokens_per_minute is not None
            else self.tokens_per_minute,
        )


@dataclass(frozen=True)
class KeyPolicy:
    """What one API key gets: a name for logs and metrics, a guard policy, limits."""

    sha256: str
    """SHA-256 hex digest of the key (never the key itself)."""
    name: str
    """A label used in metrics and the decision log instead of the key."""
    policy: str | None = None
    """Guard policy file for this key; None uses the proxy's policy."""
    rate_limit: RateLimit | None = None
    """Overrides of the default rate limit for this key."""


@dataclass(frozen=True)
class ProxyConfig:
    upstream: str
    """Base URL of the OpenAI-compatible upstream, e.g. https://api.openai.com/v1."""
    policy: str | None = None
    """The guard policy file; None uses dozor's default policy."""
    redis_url: str | None = None
    """Redis URL for rate limits shared by replicas; None keeps them in memory."""
    store_url: str | None = None
    """Store for the decision log; None uses $DOZOR_STORE or .dozor/dozor.db."""
    decision_log: bool = True
    """Write one event per request to the store's `guard.decisions` stream."""
    log_prompts: str = "hash"
    """How prompts enter the decision log: hash, redacted, clear or none."""
    max_request_bytes: int = 1_048_576
    """Larger request bodies are refused with 413 before they are parsed."""
    upstream_timeout: float = 120.0
    """Seconds to wait for the upstream (per read); then 504."""
    connect_timeout: float = 5.0
    """Seconds to wait for a connection to the upstream; then 504."""
    upstream_key_env: str | None = None
    """Environment variable holding the upstream's API key; None forwards the client's."""
    rate_limit: RateLimit = field(default_factory=RateLimit)
    """Default limits for every key (each key has its own budget)."""
    keys: tuple[KeyPolicy, ...] = ()
    """Known keys with their own names, policies and limits."""
    require_key: bool = False
    """Refuse requests whose key is not in `keys` (401)."""
    guard_offload: str = "auto"
    """Run guard checks in a thread (thread), on the event loop (inline), or by size."""
    offload_chars: int = 16_000
    """With guard_offload=auto, texts longer than this (about 4,000 tokens, ~8 ms of
    checks) are checked in a thread; shorter ones cost less than the hand-off."""
    upstream_client: str = "auto"
    """HTTP client for the upstream: aiohttp (faster), httpx, or auto (aiohttp if installed)."""
    max_conversations: int = 10_000
    """Conversations (anonymisation vaults) kept in memory, least recently used dropped."""
    conversation_ttl: float = 3600.0
    """Seconds a conversation's vault is kept after its last request."""

    def __post_init__(self) -> None:
        if not self.upstream.startswith(("http://", "https://")):
            raise ConfigError(f"--upstream must be an http:// or https:// URL, not "
                              f"{self.upstream!r}")
        if self.log_prompts not in LOG_MODES:
            raise ConfigError(f"log_prompts must be one of {', '.join(LOG_MODES)}, not "
                              f"{self.log_prompts!r}")
        if self.guard_offload not in OFFLOAD_MODES:
            raise ConfigError(f"guard_offload must be one of {', '.join(OFFLOAD_MODES)}")
        if self.upstream_client not in CLIENTS:
            raise ConfigError(f"upstream_client must be one of {', '.join(CLIENTS)}")
        if self.max_request_bytes < 1024:
            raise ConfigError("max_request_bytes must be at least 1024")
        if self.upstream_timeout <= 0 or self.connect_timeout <= 0:
            raise ConfigError("timeouts must be positive numbers of seconds")

    def key_policy(self, digest: str) -> KeyPolicy | None:
        for key in self.keys:
            if key.sha256 == digest:
                return key
        return None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProxyConfig:
        data = dict(data)
        data["rate_limit"] = _limit(data.get("rate_limit")) or RateLimit()
        data["keys"] = tuple(_key(k, i) for i, k in enumerate(data.get("keys") or ()))
        try:
            return cls(**data)
        except TypeError as exc:
            raise ConfigError(f"proxy settings: {exc}") from None


def _limit(data: Any) -> RateLimit | None:
    if data is None:
        return None
    if isinstance(data, RateLimit):
        return data
    if not isinstance(data, dict):
        raise ConfigError("rate_limit must be a mapping with requests_per_minute and/or "
                          "tokens_per_minute")
    unknown = set(data) - {"requests_per_minute", "tokens_per_minute"}
    if unknown:
        raise ConfigError(f"rate_limit: unknown setting {sorted(unknown)[0]!r} (use "
                          "requests_per_minute, tokens_per_minute)")
    values: dict[str, int | None] = {}
    for name in ("requests_per_minute", "tokens_per_minute"):
        value = data.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or value < 1):
            raise ConfigError(f"rate_limit.{name} must be a positive whole number")
        values[name] = value
    return RateLimit(**values)


def _key(data: Any, index: int) -> KeyPolicy:
    if isinstance(data, KeyPolicy):
        return data
    if not isinstance(data, dict):
        raise ConfigError(f"keys[{index}] must be a mapping with sha256 and name")
    digest = str(data.get("sha256", "")).lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ConfigError(f"keys[{index}].sha256 must be the 64-character SHA-256 hex digest "
                          "of the key (printf %s KEY | sha256sum), never the key itself")
    unknown = set(data) - {"sha256", "name", "policy", "rate_limit"}
    if unknown:
        raise ConfigError(f"keys[{index}]: unknown setting {sorted(unknown)[0]!r}")
    policy = data.get("policy")
    return KeyPolicy(
        sha256=digest,
        name=str(data.get("name") or f"key-{digest[:8]}"),
        policy=str(policy) if policy else None,
        rate_limit=_limit(data.get("rate_limit")),
    )


_SECTION_KEYS = {
    "redis": "redis_url",
    "store": "store_url",
    "decision_log": "decision_log",
    "log_prompts": "log_prompts",
    "max_request_bytes": "max_request_bytes",
    "upstream_timeout": "upstream_timeout",
    "connect_timeout": "connect_timeout",
    "upstream_key_env": "upstream_key_env",
    "rate_limit": "rate_limit",
    "keys": "keys",
    "require_key": "require_key",
    "guard_offload": "guard_offload",
    "offload_chars": "offload_chars",
    "upstream_client": "upstream_client",
    "max_conversations": "max_conversations",
    "conversation_ttl": "conversation_ttl",
}


def read_policy_file(path: str | None) -> tuple[Any, dict[str, Any]]:
    """Split a policy file into (what `Guard.from_policy` takes, the ``proxy:`` section).

    Without a ``proxy:`` section the path itself is handed to the guard, so relative
    references inside the policy keep working.
    """
    if path is None:
        return None, {}
    import yaml

    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the policy {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"the policy {path} is not valid YAML: "
                          f"{str(exc).splitlines()[0]}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"the policy {path} must be a YAML mapping")
    section = data.get("proxy")
    if section is None:
        return str(file), {}
    if not isinstance(section, dict):
        raise ConfigError(f"the policy {path}: proxy must be a mapping")
    rest = {k: v for k, v in data.items() if k != "proxy"}
    return rest, section


def build_config(upstream: str, policy: str | None, section: dict[str, Any],
                 overrides: dict[str, Any]) -> ProxyConfig:
    """Settings from the policy's ``proxy:`` section, then command-line `overrides`."""
    data: dict[str, Any] = {"upstream": upstream.rstrip("/"), "policy": policy}
    for name, value in section.items():
        if name not in _SECTION_KEYS:
            raise ConfigError(f"proxy: unknown setting {name!r} (known: "
                              f"{', '.join(sorted(_SECTION_KEYS))})")
        data[_SECTION_KEYS[name]] = value
    if policy:
        base = Path(policy).parent
        keys = []
        for item in data.get("keys") or ():
            if isinstance(item, dict) and item.get("policy"):
                item = {**item, "policy": str(base / str(item["policy"]))}
            keys.append(item)
        data["keys"] = keys
    for name, value in overrides.items():
        if value is not None:
            data[name] = value
    return ProxyConfig.from_dict(data)
