"""One model of a container, whatever described it, and the checks that judge it.

Kubernetes pod specs, KServe model specs, compose services and a Dockerfile's final
stage all become a `Container` (image, command words, environment, mounts), so the
checks that do not depend on the format (secrets in the environment, remote code,
mutable images, shared model caches, listeners without authentication) are written
once here.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from dozor.findings import Severity
from dozor.scan.base import printable
from dozor.scan.iac import rules as r
from dozor.scan.iac.rules import Hit, hit

_find_secrets: Callable[[str], list[Any]] | None
try:  # shared secret detectors (dozor.detect); the name-based check works without them
    from dozor.detect.secrets import find_secrets as _find_secrets
except Exception:  # pragma: no cover - missing (or broken) detectors: name check only
    _find_secrets = None


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: str | None
    """The literal value; None when it comes from a reference (secretKeyRef, ...)."""
    line: int


@dataclass(frozen=True)
class Mount:
    target: str
    """Path inside the container."""
    host: str | None
    """Host path for a hostPath volume or bind mount, else None."""
    read_only: bool
    line: int


@dataclass
class Container:
    where: str
    """Evidence prefix naming the resource and container, e.g. ``Deployment/llm container vllm``."""
    line: int
    image: str | None = None
    image_line: int = 0
    argv: list[str] = field(default_factory=list)
    argv_line: int = 0
    env: list[EnvVar] = field(default_factory=list)
    mounts: list[Mount] = field(default_factory=list)
    gpu: bool = False
    """Asks for an accelerator (nvidia.com/gpu, ...)."""
    serving_kind: bool = False
    """Described by a model-serving resource (InferenceService, RayCluster, ...)."""

    def words(self) -> list[str]:
        return command_words(self.argv)

    def env_value(self, name: str) -> str | None:
        for var in self.env:
            if var.name == name:
                return var.value
        return None


# ---- images -------------------------------------------------------------------------

# Repositories of model servers, notebooks and ML runtimes (matched on the path).
_SERVING_IMAGE = re.compile(
    r"(vllm|tritonserver|text-generation-inference|text-embeddings-inference|"
    r"rayproject/ray|anyscale/ray|mlflow|jupyter|pytorch/pytorch|torchserve|kserve/|"
    r"seldonio/|sglang|ollama|tensorflow/serving|llama[.-]?cpp|localai|lmdeploy|"
    r"xinference|bentoml|nvcr\.io/nim/|huggingface/|nvidia/.*(nim|triton))",
    re.I,
)
_MOVING_TAGS = frozenset({"", "latest", "nightly", "main", "master", "edge"})


@dataclass(frozen=True)
class ImageRef:
    repository: str
    tag: str
    digest: str

    @property
    def mutable(self) -> bool:
        return not self.digest and self.tag.lower() in _MOVING_TAGS


def parse_image(ref: str) -> ImageRef | None:
    """Split ``registry/path:tag@digest``; None for templated or empty references."""
    ref = ref.strip()
    if not ref or any(c in ref for c in "${}<> \t"):
        return None
    name, _, digest = ref.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = last.rsplit(":", 1)[1] if ":" in last else ""
    repository = name[: len(name) - len(tag) - 1] if tag else name
    return ImageRef(repository, tag, digest)


def is_serving_image(ref: str) -> bool:
    return bool(_SERVING_IMAGE.search(ref))


def check_image(ref: str, line: int, where: str, serving: bool) -> Iterator[Hit]:
    image = parse_image(ref)
    if image is None or not image.mutable or image.repository.lower() == "scratch":
        return
    serving = serving or is_serving_image(image.repository)
    state = f"tag {image.tag!r}" if image.tag else "no tag"
    yield hit(
        r.MUTABLE_IMAGE,
        line,
        f"{where}: image {printable(ref)} ({state}, no digest)",
        Severity.MEDIUM if serving else Severity.LOW,
    )


# ---- command lines --------------------------------------------------------------------

_MAX_WORDS = 4096


def command_words(argv: Iterable[Any]) -> list[str]:
    """The words of a command, splitting shell strings (``sh -c "vllm serve ..."``)."""
    words: list[str] = []
    for item in argv:
        if not isinstance(item, (str, int, float)) or isinstance(item, bool):
            continue
        text = str(item)[:65536]
        if any(c.isspace() for c in text):
            try:
                words.extend(shlex.split(text, comments=False))
            except ValueError:
                words.extend(text.split())
        else:
            words.append(text)
        if len(words) > _MAX_WORDS:
            break
    return words[:_MAX_WORDS]


def _program(word: str) -> str:
    return word.rsplit("/", 1)[-1].lower()


_SERVING_PROGRAMS = frozenset({
    "vllm", "text-generation-launcher", "tritonserver", "torchserve", "ollama",
    "llama-server", "lmdeploy", "mlflow", "jupyter", "jupyter-lab", "jupyter-notebook",
    "start-notebook.sh", "start-notebook.py", "start.sh", "ray", "serve", "sglang",
    "xinference", "bentoml", "text-embeddings-router", "tensorflow_model_server",
})
_SERVING_MODULES = re.compile(
    r"^(vllm\.entrypoints|sglang\.launch_server|mlflow|kserve|tgi|text_generation_server|"
    r"llama_cpp\.server|lmdeploy|fastchat\.serve|ray\.serve)", re.I
)


def is_serving(c: Container) -> bool:
    """A model server, notebook or ML runtime (the containers worth limits and pins)."""
    if c.serving_kind or c.gpu or (c.image and is_serving_image(c.image)):
        return True
    words = c.words()
    for i, word in enumerate(words[:64]):
        if _program(word) in _SERVING_PROGRAMS:
            return True
        if word == "-m" and i + 1 < len(words) and _SERVING_MODULES.match(words[i + 1]):
            return True
    return False


# Flags that make transformers import and run Python files shipped with the model.
_REMOTE_CODE_FLAG = re.compile(r"^--?trust[-_]remote[-_]code(=(?P<value>.*))?$", re.I)
_TRUTHY = frozenset({"true", "1", "yes", "on", "y"})


def check_remote_code(c: Container) -> Iterator[Hit]:
    for word in c.words():
        m = _REMOTE_CODE_FLAG.match(word)
        if m and (m.group("value") is None or m.group("value").strip("'\"").lower() in _TRUTHY):
            yield hit(r.REMOTE_CODE, c.argv_line or c.line, f"{c.where}: {printable(word)}")
            break
    for var in c.env:
        if re.fullmatch(r"(HF_|VLLM_)?TRUST_REMOTE_CODE", var.name, re.I) and (
            var.value is not None and var.value.strip().lower() in _TRUTHY
        ):
            yield hit(r.REMOTE_CODE, var.line, f"{c.where}: env {var.name}={var.value}")


def _option(words: list[str], names: tuple[str, ...]) -> str | None:
    """The value of ``--name value`` or ``--name=value`` (last one wins), else None."""
    found: str | None = None
    for i, word in enumerate(words):
        for name in names:
            if word == name and i + 1 < len(words):
                found = words[i + 1]
            elif word.startswith(name + "="):
                found = word[len(name) + 1 :]
    return found


_ALL_INTERFACES = frozenset({"0.0.0.0", "::", "[::]", "*", ""})
_EMPTY = frozenset({"", "''", '""'})


def check_listeners(c: Container) -> Iterator[Hit]:
    """Jupyter without a token, MLflow without auth, Ray's dashboard on all interfaces."""
    words = c.words()
    if not words:
        return
    programs = {_program(w) for w in words[:64]}
    line = c.argv_line or c.line
    if programs & {"jupyter", "jupyter-lab", "jupyter-notebook", "start-notebook.sh",
                   "start-notebook.py", "jupyterhub-singleuser"} or any(
        w in ("notebook", "lab") for w in words[:4]
    ):
        token = _option(words, ("--NotebookApp.token", "--ServerApp.token",
                                "--IdentityProvider.token"))
        password = _option(words, ("--NotebookApp.password", "--ServerApp.password",
                                   "--PasswordIdentityProvider.hashed_password"))
        if token is not None and token.strip() in _EMPTY and not (
            password and password.strip() not in _EMPTY
        ):
            yield hit(r.NOTEBOOK_NO_TOKEN, line, f"{c.where}: Jupyter token set to empty")
        elif token is None and password is None:
            ip = _option(words, ("--ip", "--NotebookApp.ip", "--ServerApp.ip"))
            if ip is not None and ip.strip("'\"") in _ALL_INTERFACES:
                yield hit(
                    r.OPEN_LISTENER, line,
                    f"{c.where}: Jupyter on {ip or '*'} relies on the token it prints at start",
                )
    if "mlflow" in programs and ("server" in words or "ui" in words):
        host = _option(words, ("--host", "-h"))
        app = _option(words, ("--app-name",))
        if host is not None and host.strip("'\"") in _ALL_INTERFACES and app != "basic-auth":
            yield hit(
                r.OPEN_LISTENER, line,
                f"{c.where}: mlflow server --host {host} without --app-name basic-auth",
                Severity.MEDIUM,
            )
    dash = _option(words, ("--dashboard-host",))
    if "ray" in programs and dash is not None and dash.strip("'\"") in _ALL_INTERFACES:
        yield hit(r.OPEN_LISTENER, line,
                  f"{c.where}: ray dashboard (no authentication) on --dashboard-host={dash}")


# ---- secrets in the environment ----------------------------------------------------

_SECRET_WORDS = frozenset({"TOKEN", "SECRET", "PASSWORD", "PASSWD", "APIKEY", "CREDENTIALS",
                           "CREDENTIAL", "PASSPHRASE"})
_SECRET_LAST = _SECRET_WORDS | {"PASS", "PWD"}
_KEY_OWNERS = frozenset({"API", "ACCESS", "SECRET", "PRIVATE", "SIGNING", "ENCRYPTION", "AUTH",
                         "MASTER", "CLIENT", "SERVICE", "ADMIN", "SESSION", "HMAC", "JWT",
                         "SUBSCRIPTION", "LICENSE", "ACCOUNT", "STORAGE"})
# Names that point at a secret (a file, an id) or describe one, rather than hold it.
_POINTER_LAST = frozenset({"FILE", "PATH", "DIR", "NAME", "ID", "REF", "ARN", "URL", "URI",
                           "ENABLED", "ENABLE", "HEADER", "TYPE", "LENGTH", "LEN", "SIZE",
                           "LIMIT", "COUNT", "MAX", "MIN", "ALGORITHM", "FIELD", "ENV",
                           "EXPIRY", "TTL", "TIMEOUT", "MODE", "PREFIX", "FORMAT", "REQUIRED"})


def _name_words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.upper()) if w]


def secret_name(name: str) -> bool:
    """An environment or build-argument name that conventionally holds a credential."""
    words = _name_words(name)
    if not words or words[-1] in _POINTER_LAST or name in ("PWD", "OLDPWD"):
        return False
    if words[-1] in _SECRET_LAST or any(w in _SECRET_WORDS for w in words):
        return True
    return words[-1] == "KEY" and len(words) > 1 and words[-2] in _KEY_OWNERS


_PLACEHOLDER = re.compile(
    r"^(\$.*|.*\{\{.*|<.*>|\[.*\]|%\(.*|[x*._#-]+|(none|null|true|false|yes|no|on|off|"
    r"changeme|change[-_]me|replace[-_]?me|todo|tbd|placeholder|redacted|dummy|example|"
    r"secret|password|token|your[-_].*|.*[-_]here|\d+))$",
    re.I,
)


def literal_secret(value: str | None) -> bool:
    """A value that is really there (not empty, a reference or an obvious placeholder)."""
    return value is not None and len(value.strip()) >= 4 and not _PLACEHOLDER.match(value.strip())


def redact(value: str) -> str:
    value = value.strip()
    shown = value[:4] if len(value) >= 16 else ""
    return f"{printable(shown)}... ({len(value)} chars)"


def detected_secrets(value: str) -> list[Any]:
    """Matches of the shared secret detectors in `value` (none if they are not installed)."""
    if _find_secrets is None or not value:
        return []
    try:
        return list(_find_secrets(value[:4096]))
    except Exception:  # a detector bug must not hide the name-based check
        return []


def secret_hits(
    name: str, value: str | None, line: int, where: str, what: str = "env"
) -> Iterator[Hit]:
    """PLAIN_SECRET for a literal credential in `name=value`."""
    if value is None:
        return
    matches = detected_secrets(value)
    if matches:
        m = matches[0]
        kind = getattr(m, "kind", "secret")
        shown = getattr(m, "redacted", "") or redact(value)
        severity = getattr(m, "severity", None)
        confidence = getattr(m, "confidence", 0.9)
        yield hit(
            r.PLAIN_SECRET, line, f"{where}: {what} {name} holds a {kind}: {shown}",
            severity if isinstance(severity, Severity) else None,
            confidence=confidence if isinstance(confidence, float) else 0.9,
        )
    elif secret_name(name) and literal_secret(value):
        yield hit(r.PLAIN_SECRET, line, f"{where}: {what} {name} = {redact(value)}",
                  confidence=0.7)


def check_env_secrets(c: Container) -> Iterator[Hit]:
    for var in c.env:
        yield from secret_hits(var.name, var.value, var.line, c.where)


# ---- model caches -------------------------------------------------------------------

_CACHE_PATH = re.compile(
    r"(^|/)(\.cache(?!/(pip|uv|npm|yarn|go-build|bazel|apt)(/|$))|huggingface|"
    r"hf[-_]?(home|cache|hub)|\.ollama|ollama|torch[-_]?home|models?|checkpoints?|weights|model[-_]?(cache|store|repository|repo|dir)s?)(/|$)",
    re.I,
)
_CACHE_ENV = ("HF_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "TRANSFORMERS_CACHE",
              "TORCH_HOME", "SENTENCE_TRANSFORMERS_HOME", "OLLAMA_MODELS", "XDG_CACHE_HOME",
              "VLLM_CACHE_ROOT", "HF_DATASETS_CACHE", "MODEL_DIR", "MODEL_PATH")


def is_model_cache(c: Container, target: str, host: str | None = None) -> bool:
    """Whether a mount holds models or a model cache (by path or by the env vars that
    point model libraries at it)."""
    paths = [p.rstrip("/") for p in (target, host or "") if p]
    if any(_CACHE_PATH.search(p) for p in paths):
        return True
    t = target.rstrip("/") or "/"
    for name in _CACHE_ENV:
        value = c.env_value(name)
        if value and t != "/" and (value.rstrip("/") == t or value.startswith(t + "/")):
            return True
    # text-generation-inference keeps its hub cache in /data
    return t == "/data" and bool(c.image and "text-generation-inference" in c.image)


def common_checks(c: Container, *, image_check: bool = True) -> Iterator[Hit]:
    """The checks every kind of manifest applies to a container."""
    yield from check_env_secrets(c)
    yield from check_remote_code(c)
    yield from check_listeners(c)
    if image_check and c.image:
        yield from check_image(c.image, c.image_line or c.line, c.where, is_serving(c))
