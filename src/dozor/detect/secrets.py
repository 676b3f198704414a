"""Secrets in text: ML-service API keys, cloud credentials, tokens, private keys, passwords.

Why two passes. Most credentials have a documented shape that starts with a fixed
prefix (``hf_``, ``sk-proj-``, ``AKIA``); one combined expression of those prefixes
finds them in a single pass. Loose formats (a 40-character Cohere key, an AWS secret
key, a password) are only credible next to a name that says what they are, so a
second pass finds assignments to names such as ``api_key``, ``WANDB_API_KEY`` or
``password`` and judges the value by the name and the rest of its line.

Every candidate is validated before it is reported: exact format, then entropy,
then the placeholder checks of `dozor.detect.entropy` (``your_api_key``, ``xxxx``,
``AKIA…EXAMPLE``, ``${VAR}``, ``sha256:…``). Patterns are bounded and possessive and
check their left edge right after the prefix, so no input makes them backtrack.

The value itself never leaves this module: a `SecretMatch` carries offsets (so the
guard can redact in place) and a redacted rendering such as ``hf_AbCd…wxyz (37 chars)``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from dozor.detect.entropy import (
    char_classes,
    has_sequence,
    is_hash_value,
    is_hex,
    is_placeholder,
    is_reference,
    is_repetitive,
    is_uuid,
    looks_random,
    shannon_entropy,
)
from dozor.findings import Finding, Location, Severity

AI_SERVICE_KEY = "DZ-SEC-001"
CLOUD_CREDENTIAL = "DZ-SEC-002"
PRIVATE_KEY = "DZ-SEC-003"
SERVICE_TOKEN = "DZ-SEC-004"
JSON_WEB_TOKEN = "DZ-SEC-005"
GENERIC_SECRET = "DZ-SEC-006"
URL_CREDENTIALS = "DZ-SEC-007"

TAXONOMY = ("LLM02:2025", "AML.T0055")  # Sensitive Information Disclosure; Unsecured Credentials

MAX_MATCHES = 1000
"""More secrets than this in one text is a generated file; the rest is not reported."""
MAX_CANDIDATES = 20_000
"""Candidates judged per prefix pattern: an ordinary 10 MB file has a handful; the
bound keeps a file made of near-misses from taking minutes."""
MAX_ASSIGNMENTS = 50_000
"""Assignments judged per text: about 3,000 in 10 MB of Python source."""

_REMEDIATION = {
    AI_SERVICE_KEY: "Revoke the key in the provider's console now (it is already exposed), "
    "remove it from the file and its history, and read it from the environment or a "
    "secret manager.",
    CLOUD_CREDENTIAL: "Deactivate the credential in the cloud console now, check its "
    "activity log for misuse, remove it from the file and its history, and use "
    "short-lived credentials (instance roles, workload identity) instead.",
    PRIVATE_KEY: "Treat the key as compromised: replace it, revoke what it signs or "
    "unlocks, and keep private keys out of source, notebooks and images.",
    SERVICE_TOKEN: "Revoke the token at the service now, remove it from the file and its "
    "history, and read it from the environment or a secret manager.",
    JSON_WEB_TOKEN: "Check whether the token is still valid; if so, revoke the session or "
    "rotate the signing key, and do not store tokens in files.",
    GENERIC_SECRET: "If the value is a real secret, change it and load it from the "
    "environment or a secret manager; if it is a test value, suppress the finding.",
    URL_CREDENTIALS: "Change the password and pass it separately (environment, secret "
    "manager) instead of inside the connection URL.",
}


@dataclass(frozen=True)
class SecretMatch:
    """One credential found in a text, without its value."""

    kind: str
    """What it is, e.g. ``huggingface``, ``aws-secret-access-key``, ``password``."""
    rule_id: str
    """The finding rule, ``DZ-SEC-0xx``."""
    line: int
    """1-based line of the first character."""
    column: int
    """1-based column of the first character."""
    redacted: str
    """A safe rendering, e.g. ``hf_AbCd…wxyz (37 chars)``; never the value."""
    severity: Severity
    confidence: float
    """0..1: format, entropy and context together."""
    start: int
    """Character offset of the value in the text (inclusive)."""
    end: int
    """Character offset just past the value, so ``text[start:end]`` is the secret."""
    name: str = ""
    """The variable or key the value was assigned to, where there is one."""


@dataclass(frozen=True)
class _Kind:
    label: str
    rule_id: str
    severity: Severity


_H, _M, _L = Severity.HIGH, Severity.MEDIUM, Severity.LOW
KINDS: dict[str, _Kind] = {
    "huggingface": _Kind("Hugging Face access token", AI_SERVICE_KEY, _H),
    "huggingface-org": _Kind("Hugging Face organisation API token", AI_SERVICE_KEY, _H),
    "openai": _Kind("OpenAI API key", AI_SERVICE_KEY, _H),
    "openai-compatible": _Kind("sk- API key (OpenAI-compatible service)", AI_SERVICE_KEY, _H),
    "openrouter": _Kind("OpenRouter API key", AI_SERVICE_KEY, _H),
    "anthropic": _Kind("Anthropic API key", AI_SERVICE_KEY, _H),
    "cohere": _Kind("Cohere API key", AI_SERVICE_KEY, _H),
    "replicate": _Kind("Replicate API token", AI_SERVICE_KEY, _H),
    "wandb": _Kind("Weights & Biases API key", AI_SERVICE_KEY, _H),
    "google-api-key": _Kind("Google API key (Gemini / Google Cloud)", AI_SERVICE_KEY, _H),
    "groq": _Kind("Groq API key", AI_SERVICE_KEY, _H),
    "mistral": _Kind("Mistral API key", AI_SERVICE_KEY, _H),
    "together": _Kind("Together AI API key", AI_SERVICE_KEY, _H),
    "perplexity": _Kind("Perplexity API key", AI_SERVICE_KEY, _H),
    "azure-openai": _Kind("Azure OpenAI key", AI_SERVICE_KEY, _H),
    "xai": _Kind("xAI API key", AI_SERVICE_KEY, _H),
    "nvidia": _Kind("NVIDIA API key", AI_SERVICE_KEY, _H),
    "langsmith": _Kind("LangSmith API key", AI_SERVICE_KEY, _H),
    "aws-access-key-id": _Kind("AWS access key id", CLOUD_CREDENTIAL, _M),
    "aws-secret-access-key": _Kind("AWS secret access key", CLOUD_CREDENTIAL, _H),
    "gcp-service-account": _Kind("Google service-account private key", CLOUD_CREDENTIAL, _H),
    "private-key": _Kind("Private key", PRIVATE_KEY, _H),
    "encrypted-private-key": _Kind("Encrypted private key", PRIVATE_KEY, _M),
    "github": _Kind("GitHub token", SERVICE_TOKEN, _H),
    "slack": _Kind("Slack token", SERVICE_TOKEN, _H),
    "slack-webhook": _Kind("Slack incoming-webhook URL", SERVICE_TOKEN, _M),
    "stripe": _Kind("Stripe live secret key", SERVICE_TOKEN, _H),
    "jwt": _Kind("JSON Web Token", JSON_WEB_TOKEN, _M),
    "password": _Kind("Hard-coded password", GENERIC_SECRET, _M),
    "generic-secret": _Kind("Hard-coded secret", GENERIC_SECRET, _M),
    "bearer-token": _Kind("Bearer token", GENERIC_SECRET, _M),
    "url-credentials": _Kind("Password in a URL", URL_CREDENTIALS, _M),
}


def redact(value: str, *, public_prefix: str = "") -> str:
    """A rendering that identifies `value` without disclosing it.

    Shows at most 4 characters at each end, and never more than a third of the value;
    `public_prefix`, a documented non-secret prefix such as ``hf_``, is shown in full
    and not counted: ``hf_AbCd…wxyz (37 chars)``.
    """
    prefix = public_prefix if public_prefix and value.startswith(public_prefix) else ""
    body = value[len(prefix) :]
    keep = min(4, len(body) // 6)
    shown = f"{prefix}{body[:keep]}…{body[-keep:]}" if keep else f"{prefix}…"
    return f"{shown} ({len(value)} chars)"


# ---------------------------------------------------------------------------------------
# Pass 1: prefixed formats
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    kind: str
    start: int
    end: int
    confidence: float
    redacted: str
    name: str = ""
    specific: bool = True
    """A documented format (pass 1 or a context format) beats a generic assignment."""
    severity: Severity | None = None


_Validator = Callable[[str, str, int, int], "_Candidate | None"]

_EDGE = r"A-Za-z0-9_\-"  # token characters: a match must not start or end inside a run


def _token(lead: str, rest: str, *, left: str = _EDGE, right: str = _EDGE) -> str:
    """`lead` (fixed width), not preceded by a token character, then `rest`, not followed
    by one. Checking the left edge after the lead keeps the literal prefix first, so the
    engine can search for it quickly, and stops a scan from restarting inside a run."""
    return f"{lead}(?<![{left}]{lead}){rest}(?![{right}])"


def _random_body(body: str, *, min_entropy: float | None = None, classes: int = 2) -> bool:
    return not is_placeholder(body) and looks_random(
        body, min_entropy=min_entropy, min_classes=classes
    )


def _simple(kind: str, prefix: str, confidence: float = 0.95, classes: int = 2) -> _Validator:
    """A fixed prefix and a random body of the documented length."""

    def check(value: str, text: str, start: int, end: int) -> _Candidate | None:
        if not _random_body(value[len(prefix) :], classes=classes):
            return None
        return _Candidate(kind, start, end, confidence, redact(value, public_prefix=prefix))

    return check


_openrouter = _simple("openrouter", "sk-or-v1-", classes=1)


def _sk(value: str, text: str, start: int, end: int) -> _Candidate | None:
    """The ``sk-`` family: Anthropic, OpenRouter, OpenAI project/service keys, legacy."""
    if value.startswith("sk-ant-"):
        return _anthropic(value, text, start, end)
    if value.startswith("sk-or-v1-"):
        return _openrouter(value, text, start, end)
    if value[3:].startswith(("proj-", "svcacct-", "admin-", "None-")):
        return _openai_project(value, text, start, end)
    return _openai_sk(value, text, start, end)


def _openai_project(value: str, text: str, start: int, end: int) -> _Candidate | None:
    prefix = value[: value.index("-", 3) + 1]
    body = value[len(prefix) :]
    if not _random_body(body):
        return None
    confidence = 0.99 if "T3BlbkFJ" in body else 0.8
    return _Candidate("openai", start, end, confidence, redact(value, public_prefix=prefix))


def _openai_sk(value: str, text: str, start: int, end: int) -> _Candidate | None:
    body = value[3:]
    if not _random_body(body):
        return None
    if len(body) == 48 and body[20:28] == "T3BlbkFJ":
        return _Candidate("openai", start, end, 0.99, redact(value, public_prefix="sk-"))
    kind = "openai" if len(body) == 48 else "openai-compatible"
    return _Candidate(kind, start, end, 0.6, redact(value, public_prefix="sk-"))


def _anthropic(value: str, text: str, start: int, end: int) -> _Candidate | None:
    prefix = value[: value.index("-", 7) + 1]
    body = value[len(prefix) :]
    if not _random_body(body):
        return None
    confidence = 0.99 if body.endswith("AA") else 0.85
    return _Candidate("anthropic", start, end, confidence, redact(value, public_prefix=prefix))


def _aws_key_id(value: str, text: str, start: int, end: int) -> _Candidate | None:
    body = value[4:]
    # ids are base32 of account and key bits: no words, few repeats
    if "EXAMPLE" in value or is_repetitive(body) or has_sequence(body, 5):
        return None
    if shannon_entropy(body) < 2.8:
        return None
    return _Candidate("aws-access-key-id", start, end, 0.9, redact(value, public_prefix=value[:4]))


def _github(value: str, text: str, start: int, end: int) -> _Candidate | None:
    prefix = "github_pat_" if value.startswith("github_pat_") else value[:4]
    if not _random_body(value[len(prefix) :]):
        return None
    return _Candidate("github", start, end, 0.95, redact(value, public_prefix=prefix))


def _slack(value: str, text: str, start: int, end: int) -> _Candidate | None:
    prefix = value[:5]
    body = value[5:]
    parts = body.split("-")
    # bot, user and app tokens: numeric team/user ids, then a random secret part
    if len(parts) < 2 or not any(p.isdigit() for p in parts) or len(parts[-1]) < 10:
        return None
    if not _random_body(parts[-1]):
        return None
    return _Candidate("slack", start, end, 0.9, redact(value, public_prefix=prefix))


def _slack_webhook(value: str, text: str, start: int, end: int) -> _Candidate | None:
    secret = value.rsplit("/", 1)[-1]
    if not _random_body(secret):
        return None
    public = value[: len(value) - len(secret)]
    return _Candidate("slack-webhook", start, end, 0.9, redact(value, public_prefix=public))


def _google_api_key(value: str, text: str, start: int, end: int) -> _Candidate | None:
    if not _random_body(value[4:], min_entropy=3.5):
        return None
    return _Candidate("google-api-key", start, end, 0.9, redact(value, public_prefix="AIza"))


def _b64url_json(part: str) -> object:
    padded = part + "=" * (-len(part) % 4)
    try:
        return json.loads(base64.urlsafe_b64decode(padded))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        return None


def _jwt(value: str, text: str, start: int, end: int) -> _Candidate | None:
    header_part, payload_part, signature = value.split(".")
    header = _b64url_json(header_part)
    if not isinstance(header, dict) or "alg" not in header:
        return None
    if str(header.get("alg")).lower() != "none" and len(signature) < 16:
        return None
    payload = _b64url_json(payload_part)
    confidence = 0.95 if isinstance(payload, dict) else 0.7
    return _Candidate("jwt", start, end, confidence, redact(value, public_prefix="eyJ"))


_PEM_END = re.compile(r"-----END [A-Z0-9 ]{0,30}PRIVATE KEY(?: BLOCK)?-----")
# after the header: line breaks (real or JSON-escaped), optional "Name: value" headers
# (Proc-Type, DEK-Info, PGP Version), then the first line of key material
_PEM_FIRST_LINE = re.compile(
    r"(?:\\[nr]|\s){1,8}+(?:[A-Za-z][A-Za-z\-]{0,20}: [^\n\\]{0,120}+(?:\\[nr]|\s){1,8}+){0,6}+"
    r"(?P<b64>[A-Za-z0-9+/=]{40,})"
)
_PEM_MAX = 64 << 10
"""Longest key block followed to its END line (a 4096-bit RSA key is about 3 KiB)."""
_SERVICE_ACCOUNT = re.compile(r'"type"\s*:\s*"service_account"|gserviceaccount\.com')
_JSON_PRIVATE_KEY = re.compile(r'"private_key"\s*:\s*"$')


class _PemReader:
    """Finds where a private-key block ends. It remembers the last END marker found, so
    a text full of BEGIN lines costs one forward search, not one per line."""

    def __init__(self) -> None:
        self._from = -1
        self._end: re.Match[str] | None = None

    def __call__(self, value: str, text: str, start: int, end: int) -> _Candidate | None:
        first = _PEM_FIRST_LINE.match(text, end)
        if first is None:
            return None  # the header alone, as code and docs mention it
        material = first.group("b64")
        if is_repetitive(material) or "EXAMPLE" in material.upper():
            return None
        stop = self._end_after(text, end)
        finish = stop.end() if stop and stop.start() - start <= _PEM_MAX else first.end()
        encrypted = "ENCRYPTED" in value or "ENCRYPTED" in text[end : first.start("b64")]
        kind = "encrypted-private-key" if encrypted else "private-key"
        if (
            not encrypted
            and _JSON_PRIVATE_KEY.search(text, max(0, start - 40), start)
            and _SERVICE_ACCOUNT.search(text[max(0, start - 3000) : finish + 3000])
        ):
            kind = "gcp-service-account"  # the private_key field of a key file
        return _Candidate(kind, start, finish, 0.99, f"{value} … ({finish - start} chars)")

    def _end_after(self, text: str, pos: int) -> re.Match[str] | None:
        if self._from < 0 or (self._end is not None and self._end.start() < pos):
            self._end = _PEM_END.search(text, pos)
            self._from = pos
        return self._end


_URL_PARTS = re.compile(r"://([^\s:/@\"'<>]{1,128}):([^\s/@\"'<>]{1,256})@([^\s/:?#\"'<>]{1,255})")
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "0.0.0.0", "::1", "example.com", "example.org", "host")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{0,30}$")


def _url_credentials(value: str, text: str, start: int, end: int) -> _Candidate | None:
    m = _URL_PARTS.match(value)
    if m is None:
        return None
    user, password, host = m.groups()
    scheme = _SCHEME.search(text, max(0, start - 31), start)
    if scheme is None or password.lower() == user.lower() or len(password) < 4:
        return None
    if is_placeholder(password) or any(c in password for c in ":,[]{}()"):
        return None
    if password.isalpha() and password.islower() and len(password) < 12:
        return None  # a word such as "token" or "repo" in a URL template
    if password.startswith(("{", "%", "$")) or (password.isupper() and "_" in password):
        return None  # a template variable such as {password} or DB_PASSWORD
    pstart = start + m.start(2)
    pend = start + m.end(2)
    for pattern, check in zip(_PATTERNS[:-2], _VALIDATORS[:-2], strict=True):
        inner = pattern.fullmatch(text, pstart, pend)  # a token used as the password
        if inner is not None and check is not None:
            return check(inner.group(), text, pstart, pend)
    host_low = host.lower().strip("[]")
    local = host_low.split(".")[0] in _LOCAL_HOSTS or host_low in _LOCAL_HOSTS
    shown = f"{scheme.group()}://{user}:{redact(password)}@{host}"
    return _Candidate(
        "url-credentials", pstart, pend, 0.6 if local else 0.8, shown,
        severity=_L if local else None,
    )


# One expression per documented prefix: each starts with a literal, which the regex
# engine finds as fast as str.find (a single alternation of all of them cannot use
# that and is ten times slower).
_PREFIXED: tuple[tuple[str, _Validator | None], ...] = (
    (_token("sk-", r"(?:ant-(?:api|admin|oat)\d\d-[A-Za-z0-9_\-]{80,120}+"
                   r"|or-v1-[0-9a-f]{64}"
                   r"|(?:proj|svcacct|admin|None)-[A-Za-z0-9_\-]{40,250}+"
                   r"|[A-Za-z0-9]{32,64}+)"), _sk),
    (_token("hf_", r"[A-Za-z0-9]{34}"), _simple("huggingface", "hf_")),
    (_token("api_org_", r"[A-Za-z0-9]{34}"), _simple("huggingface-org", "api_org_")),
    (_token("r8_", r"[A-Za-z0-9]{37}"), _simple("replicate", "r8_")),
    (_token("AIza", r"[0-9A-Za-z_\-]{35}"), _google_api_key),
    (_token("gsk_", r"[A-Za-z0-9]{52}"), _simple("groq", "gsk_")),
    (_token("pplx-", r"[A-Za-z0-9]{40,64}+"), _simple("perplexity", "pplx-")),
    (_token("tgp_v1_", r"[A-Za-z0-9_\-]{30,80}+"), _simple("together", "tgp_v1_")),
    (_token("xai-", r"[A-Za-z0-9]{70,90}+"), _simple("xai", "xai-")),
    (_token("nvapi-", r"[A-Za-z0-9_\-]{60,70}+"), _simple("nvidia", "nvapi-")),
    (_token("lsv2_", r"(?:pt|sk)_[0-9a-f]{32}_[0-9a-f]{10}"),
     _simple("langsmith", "lsv2_", classes=1)),
    (_token("A(?:KIA|SIA|BIA|CCA)", r"[A-Z2-7]{16}"), _aws_key_id),
    (_token("gh[pousr]_", r"[A-Za-z0-9]{36,251}+"), _github),
    (_token("github_pat_", r"[A-Za-z0-9_]{60,251}+"), _github),
    (_token("xox[abposre]-", r"[A-Za-z0-9\-]{10,250}+"), _slack),
    (_token("xapp-", r"\d-[A-Za-z0-9\-]{20,250}+"), _slack),
    (r"hooks\.slack\.com/services/T[A-Z0-9]{6,12}/B[A-Z0-9]{6,12}/[A-Za-z0-9]{20,32}"
     r"(?![A-Za-z0-9])", _slack_webhook),
    (_token("sk_live_", r"[A-Za-z0-9]{20,250}+"), _simple("stripe", "sk_live_")),
    (_token("rk_live_", r"[A-Za-z0-9]{20,250}+"), _simple("stripe", "rk_live_")),
    (_token("eyJ", r"[A-Za-z0-9_\-]{6,2000}+\.[A-Za-z0-9_\-]{2,16000}+\.[A-Za-z0-9_\-]{0,2000}+",
            left=r"A-Za-z0-9_\-."), _jwt),
    (r"-----BEGIN (?:[A-Z0-9]{2,10} ){0,2}PRIVATE KEY(?: BLOCK)?-----", None),  # _PemReader
    (r"://[^\s:/@\"'<>]{1,128}+:[^\s/@\"'<>]{1,256}+@[^\s/:?#\"'<>]{1,255}+", _url_credentials),
)
_PATTERNS = tuple(re.compile(pattern) for pattern, _ in _PREFIXED)
_VALIDATORS = tuple(validator for _, validator in _PREFIXED)


# ---------------------------------------------------------------------------------------
# Pass 2: assignments to credential-like names, and Bearer tokens
# ---------------------------------------------------------------------------------------

# Written for lower-cased text (`_lower`): case-sensitive literals let the engine skip
# quickly to the letters the names start with; values are read from the original text
# at the same offsets.
_PASS2_SOURCE = (
    r"(?:pass(?:word|wd|phrase)?|pwd|secret|token|key|credentials?|cohere|wandb|mistral)"
    r"[\w.\-]{0,40}+"
    r"(?:\\?[\"'])?\]?"
    r"(?::[ \t]{0,4}+[A-Za-z_][\w.\[\]|, ]{0,60}+)?"  # a type annotation: `key: str = ...`
    r"[ \t]{0,4}+"
    r"(?:(?P<sep>:=|=>|=|:|\(|,)[ \t]{0,4}+"
    r"[rRbBuU]{0,2}(?P<q>\\?[\"'`])(?P<qv>[^\"'`\\\s]{4,512}+)(?P=q)"
    r"|(?P<bsep>:=|=|:)[ \t]{0,4}+"
    r"(?P<bv>[^\s\"'`,;(){}\[\]<>=\\][^\s\"'`,;(){}\[\]<>=\\]{3,511}+=*))"
    r"|bearer[ \t]{1,4}+(?P<bt>[A-Za-z0-9._~+/\-]{16,1024}+=*)"
    r"|password[ \t]{1,4}+(?P<nv>[^\s\"'`(){}\[\]<>,;]{8,512}+)(?!\S)"  # .netrc entries
)
_NETRC_PREFIX = re.compile(r"[ \t]*(?:machine[ \t]+\S+[ \t]+)?(?:login[ \t]+\S+[ \t]+)?")
_PASS2 = re.compile(_PASS2_SOURCE)
_PASS2_ANY_CASE = re.compile(_PASS2_SOURCE, re.IGNORECASE)

# A credential name ends with one of these (after lower-casing and dropping _ and -).
_KEY_COMPOUNDS = ("apikey", "secretkey", "accesskey", "privatekey", "authkey", "signingkey",
                  "encryptionkey", "masterkey", "licensekey", "appkey")
_SECRET_ENDINGS = ("password", "passwd", "passphrase", "pwd", "secret", "token", "credential",
                   "credentials", "key")
# ... except these, which name data, not credentials.
_NOT_SECRET_ENDINGS = (
    "padtoken", "bostoken", "eostoken", "unktoken", "septoken", "clstoken", "masktoken",
    "starttoken", "endtoken", "specialtoken", "imagetoken", "audiotoken", "videotoken",
    "pagetoken", "nexttoken", "continuationtoken", "csrftoken", "eottoken", "fimtoken",
    "placeholdertoken", "defaulttoken", "chattoken", "tooltoken", "thinktoken",
    "sortkey", "primarykey", "foreignkey", "partitionkey", "cachekey", "dictkey",
    "groupkey", "labelkey", "imagekey", "textkey", "inputkey", "outputkey", "s3key",
    "hotkey", "lookupkey", "mapkey", "rowkey", "columnkey", "colkey", "indexkey",
    "hashkey", "fieldkey", "idkey", "publickey", "pubkey", "targetkey", "sourcekey",
    "valuekey", "statekey", "metrickey", "modelkey", "datakey", "objectkey", "namekey",
    "featurekey", "prefixkey", "configkey", "layerkey", "modulekey", "paramkey",
    "secretname", "secretref", "tokenizer", "publickeytoken",
)
_PASSWORD_ENDINGS = ("password", "passwd", "passphrase", "pwd")


def _last_segment(name: str) -> str:
    """``environ["OPENAI_API_KEY"`` -> ``OPENAI_API_KEY``, ``cfg.db.password`` -> ``password``."""
    parts = re.split(r"[.\[\]\"'/]", name)
    return next((p for p in reversed(parts) if p), "")


def _normalise(name: str) -> str:
    return _last_segment(name).lower().replace("_", "").replace("-", "")


def _name_kind(name: str, norm: str) -> str | None:
    """``password``, ``generic-secret`` or None, for a name and its `_normalise` form."""
    if not norm.endswith(_SECRET_ENDINGS) or norm.endswith(_NOT_SECRET_ENDINGS):
        return None
    if norm.endswith("key") and not (
        norm == "key"
        or norm.endswith(_KEY_COMPOUNDS)
        or any(provider in norm for provider in _PROVIDERS)
        or re.fullmatch(r"[A-Z0-9]+_[A-Z0-9_]+", _last_segment(name)) is not None
        # an environment variable: STRIPE_KEY
    ):
        return None  # sortkey, dispatchkey, iternextkey: a key of a mapping
    return "password" if norm.endswith(_PASSWORD_ENDINGS) else "generic-secret"


_PROVIDERS = ("openai", "anthropic", "claude", "cohere", "huggingface", "hf", "wandb", "stripe",
              "aws", "azure", "gcp", "google", "gemini", "github", "gitlab", "slack", "groq",
              "mistral", "together", "replicate", "pinecone", "langchain", "langsmith",
              "perplexity", "deepseek", "openrouter", "llm", "service", "client")


def _context_kind(value: str, context: str) -> tuple[str, float] | None:
    """A loose provider format, credible only next to its provider's name."""
    if ("cohere" in context or "co_api_key" in context) and re.fullmatch(
        r"[A-Za-z0-9]{40}", value
    ):
        return "cohere", 0.85
    if "wandb" in context and re.fullmatch(r"(?:local-)?[0-9a-f]{40}", value):
        return "wandb", 0.9
    if "aws" in context and "secret" in context and re.fullmatch(r"[A-Za-z0-9/+]{40}", value):
        return "aws-secret-access-key", 0.9
    if "azure" in context and re.fullmatch(r"[0-9a-f]{32}|[A-Za-z0-9]{84}", value):
        return "azure-openai", 0.85
    if "mistral" in context and re.fullmatch(r"[A-Za-z0-9]{32}", value):
        return "mistral", 0.85
    if "together" in context and re.fullmatch(r"[0-9a-f]{64}", value):
        return "together", 0.85
    return None


_NAME_TAIL = re.compile(r"[\w.\-]{0,65}")  # run over the reversed text before the anchor


def _assignment(m: re.Match[str], text: str) -> _Candidate | None:
    """Judge one assignment (`m` matched the lower-cased text; values are read from
    `text`). The cheap checks on the value come first, since most assignments to names
    like ``key`` hold ordinary words."""
    if m.group("bt") is not None:
        value = text[m.start("bt") : m.end("bt")]
        if is_placeholder(value) or not looks_random(value, min_entropy=3.5):
            return None
        vstart = m.start("bt")
        return _Candidate("bearer-token", vstart, m.end("bt"), 0.7, redact(value),
                          specific=False)
    if m.group("nv") is not None:
        return _netrc(m, text)
    quoted = m.group("qv") is not None
    group = "qv" if quoted else "bv"
    vstart, vend = m.start(group), m.end(group)
    value = text[vstart:vend]
    if len(value) < 8 or shannon_entropy(value) < 2.5:
        return None
    if not quoted and (
        text[vend : vend + 1] in ("(", "[", "{") or value[0] == ":" or is_reference(value)
    ):
        return None  # a call, an index, a C++ scope or an attribute: code, not a value
    if is_placeholder(value) or is_hash_value(value):
        return None
    # the name: the anchor word plus what precedes it on the same identifier
    anchor = m.start()
    tail = _NAME_TAIL.match(text[max(0, anchor - 65) : anchor][::-1])
    assert tail is not None
    if tail.end() > 64:
        return None  # inside a long run (base64 data, minified code): not a name
    sep = m.group("sep") if quoted else m.group("bsep")
    sep_at = m.start("sep") if quoted else m.start("bsep")
    name = text[anchor - tail.end() : sep_at].split(":", 1)[0].strip(" \t\"'\\]")
    line_start = text.rfind("\n", max(0, anchor - 200), anchor) + 1 or max(0, anchor - 200)
    context = text[line_start:vstart].lower()
    found = _context_kind(value, context)
    if found is not None:
        kind, confidence = found
        if shannon_entropy(value) < 3.0:
            return None
        return _Candidate(kind, vstart, vend, confidence, redact(value), name)
    if sep in ("(", ","):
        return None  # positional arguments only count for a provider's constructor
    norm = _normalise(name)
    kind_of_name = _name_kind(name, norm)
    if kind_of_name is None:
        return None
    return _generic(kind_of_name, name, norm, value, vstart, vend, quoted)


_SEGMENTS = re.compile(r"[./:_\-]")
_WORD = re.compile(r"[A-Za-z]+|[A-Za-z]{0,3}[0-9]{1,3}|[A-Z][a-z]+(?:[A-Z][a-z]+)*")


def _is_worded(value: str) -> bool:
    """Built of words joined by separators: ``tokenizer.chat_template``,
    ``dozorFingerprint/v1``, ``models/bert-base-v2``, ``my-app-secret-2``."""
    parts = [p for p in _SEGMENTS.split(value) if p]
    return len(parts) >= 2 and all(_WORD.fullmatch(p) for p in parts)


def _is_path(value: str) -> bool:
    """A URL or a file path rather than a value: base64 may hold ``/`` but not ``.`` or
    ``:``."""
    return "/" in value and re.fullmatch(r"[A-Za-z0-9+/=_\-]+", value) is None


def _netrc(m: re.Match[str], text: str) -> _Candidate | None:
    """A ``.netrc`` entry (how ``wandb login`` and ``huggingface-cli`` store keys)."""
    anchor, vstart, vend = m.start(), m.start("nv"), m.end("nv")
    line_start = text.rfind("\n", max(0, anchor - 200), anchor) + 1 or max(0, anchor - 200)
    if _NETRC_PREFIX.fullmatch(text, line_start, anchor) is None:
        return None  # "password" in prose
    value = text[vstart:vend]
    if is_placeholder(value):
        return None
    context = text[max(0, anchor - 200) : anchor].lower()  # the machine line above
    found = _context_kind(value, context)
    if found is not None:
        return _Candidate(found[0], vstart, vend, found[1], redact(value), "password")
    return _generic("password", "password", "password", value, vstart, vend, quoted=False)


def _generic(
    kind: str, name: str, norm: str, value: str, start: int, end: int, quoted: bool
) -> _Candidate | None:
    if is_uuid(value):
        return None
    if kind == "password":
        if len(value) < 8 or char_classes(value) < 2 or shannon_entropy(value) < 2.5:
            return None
        if value.isidentifier() and not re.search("[0-9]", value):
            return None  # a variable name or a word
        if not re.search("[A-Za-z]", value) or _is_worded(value):
            return None  # a version, a number, a path
        confidence = 0.6
    else:
        weak_name = norm in ("key", "token", "secret") or norm.endswith("credentials")
        if len(value) < (20 if weak_name else 12):
            return None
        if is_hex(value) and (weak_name or len(value) in (32, 40, 64, 128)):
            if weak_name or not norm.endswith(("secret", "apikey", "secretkey", "token")):
                return None  # hashes and commit ids under ordinary names
        if not looks_random(value, min_entropy=3.7 if weak_name else None):
            return None
        if not re.search("[0-9]", value) or _is_worded(value) or _is_path(value):
            return None  # generated secrets have digits; names, paths and ids are words
        confidence = 0.7 if shannon_entropy(value) >= 4.0 else 0.55
    return _Candidate(kind, start, end, confidence, redact(value), name, specific=False)


# ---------------------------------------------------------------------------------------
# The one entry point
# ---------------------------------------------------------------------------------------


def find_secrets(text: str, *, max_bytes: int = 10_000_000) -> list[SecretMatch]:
    """Every credential in the first `max_bytes` characters of `text`, in text order.

    Overlapping candidates keep the most specific one (an ``OPENAI_API_KEY = "sk-…"``
    line is one OpenAI key, not also a generic secret). At most `MAX_MATCHES` are
    returned.
    """
    if len(text) > max_bytes:
        text = text[:max_bytes]
    candidates: list[_Candidate] = []
    pem = _PemReader()
    for pattern, check in zip(_PATTERNS, _VALIDATORS, strict=True):
        validate = check if check is not None else pem
        for n, m in enumerate(pattern.finditer(text)):
            if n >= MAX_CANDIDATES:
                break
            found = validate(m.group(), text, m.start(), m.end())
            if found is not None:
                candidates.append(found)
                if len(candidates) >= MAX_MATCHES:
                    break
    low = _lower(text)
    assignments = _PASS2.finditer(low) if low is not None else _PASS2_ANY_CASE.finditer(text)
    for n, m in enumerate(assignments):
        if n >= MAX_ASSIGNMENTS:
            break
        found = _assignment(m, text)
        if found is not None:
            candidates.append(found)
            if len(candidates) >= 2 * MAX_MATCHES:
                break
    return _locate(text, _resolve(candidates))[:MAX_MATCHES]


def _lower(text: str) -> str | None:
    """`text` lower-cased with every offset unchanged, or None if that is impossible.
    Only U+0130 (capital I with dot) lower-cases to two characters; it is mapped to
    ``i`` first."""
    low = text.translate(_DOTTED_I).lower() if "\u0130" in text else text.lower()
    return low if len(low) == len(text) else None


_DOTTED_I = {0x130: "i"}


def _resolve(candidates: list[_Candidate]) -> list[_Candidate]:
    """Drop candidates that overlap a more specific (or, if equal, longer) one."""
    candidates.sort(key=lambda c: (c.start, not c.specific, -(c.end - c.start)))
    kept: list[_Candidate] = []
    for c in candidates:
        if kept and c.start < kept[-1].end:
            last = kept[-1]
            if (c.specific, c.end - c.start) > (last.specific, last.end - last.start):
                kept[-1] = c
            continue
        kept.append(c)
    if any(c.kind == "aws-secret-access-key" for c in kept):
        # an access key id with its secret beside it is a usable credential
        kept = [replace(c, severity=_H) if c.kind == "aws-access-key-id" else c for c in kept]
    return kept


def _locate(text: str, candidates: Iterable[_Candidate]) -> list[SecretMatch]:
    """Line and column of each candidate, counting newlines once from start to end."""
    out: list[SecretMatch] = []
    line, line_start, pos = 1, 0, 0
    for c in candidates:
        newlines = text.count("\n", pos, c.start)
        if newlines:
            line += newlines
            line_start = text.rfind("\n", pos, c.start) + 1
        pos = c.start
        kind = KINDS[c.kind]
        out.append(
            SecretMatch(
                kind=c.kind,
                rule_id=kind.rule_id,
                line=line,
                column=c.start - line_start + 1,
                redacted=c.redacted,
                severity=c.severity if c.severity is not None else kind.severity,
                confidence=c.confidence,
                start=c.start,
                end=c.end,
                name=c.name,
            )
        )
    return out


def secret_findings(
    matches: Iterable[SecretMatch], location: Location, scanner: str
) -> list[Finding]:
    """Findings for `matches` at `location` (narrowed to each match's line).

    The evidence names the kind and shows only the redacted value; `details` carries
    the kind, the variable name and the column, never the value.
    """
    findings = []
    for m in matches:
        kind = KINDS[m.kind]
        where = f" (`{m.name}`)" if m.name else ""
        details = {"kind": m.kind, "column": str(m.column)}
        if m.name:
            details["name"] = m.name
        findings.append(
            Finding(
                rule_id=m.rule_id,
                title=f"{kind.label} in clear text",
                severity=m.severity,
                location=location.at(line=m.line),
                evidence=f"{kind.label}{where}: {m.redacted}",
                remediation=_REMEDIATION[m.rule_id],
                confidence=m.confidence,
                taxonomy=TAXONOMY,
                scanner=scanner,
                details=tuple(sorted(details.items())),
            )
        )
    return findings
