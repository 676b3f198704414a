"""Dockerfiles: parsed into instructions (continuations, comments, heredocs, the
escape directive), then judged. The final stage becomes a `Container` for the checks
shared with other manifests; build-time checks read RUN, ADD, COPY, ARG and ENV."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

from dozor.findings import Severity
from dozor.scan.base import printable
from dozor.scan.iac import rules as r
from dozor.scan.iac.containers import (
    Container,
    EnvVar,
    check_image,
    check_listeners,
    check_remote_code,
    command_words,
    is_serving_image,
    literal_secret,
    secret_hits,
    secret_name,
)
from dozor.scan.iac.rules import Hit, hit

MAX_INSTRUCTIONS = 20_000


@dataclass(frozen=True)
class Instruction:
    keyword: str
    """Upper-case instruction name (FROM, RUN, ...)."""
    args: str
    """Everything after the keyword, continuations joined, heredoc bodies appended."""
    line: int


_DIRECTIVE = re.compile(r"^#\s*escape\s*=\s*(\S)\s*$", re.I)
_HEREDOC = re.compile(r"<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")


def parse(source: str) -> list[Instruction]:
    """Instructions of a Dockerfile with the line each starts on. Tolerant: a line that
    is not an instruction is skipped, as hostile input must not raise."""
    lines = source.splitlines()
    escape = "\\"
    for raw in lines[:20]:  # parser directives come first
        m = _DIRECTIVE.match(raw.strip())
        if m:
            escape = m.group(1)
        elif raw.strip() and not raw.lstrip().startswith("#"):
            break
    out: list[Instruction] = []
    i = 0
    while i < len(lines) and len(out) < MAX_INSTRUCTIONS:
        start = i
        stripped = lines[i].strip()
        i += 1
        if not stripped or stripped.startswith("#"):
            continue
        parts = [stripped]
        while parts[-1].endswith(escape) and i < len(lines):
            parts[-1] = parts[-1][: -len(escape)]
            nxt = lines[i].strip()
            i += 1
            if nxt.startswith("#"):
                parts.append(escape)  # comment inside a continuation: skipped
                continue
            parts.append(nxt)
        body = " ".join(p for p in parts if p != escape)
        keyword, _, args = body.partition(" ")
        if not re.fullmatch(r"[A-Za-z]+", keyword):
            continue
        for m in _HEREDOC.finditer(args):
            strip_tabs, delimiter = m.group(1) == "-", m.group(3)
            doc: list[str] = []
            while i < len(lines):
                line = lines[i].lstrip("\t") if strip_tabs else lines[i]
                i += 1
                if line == delimiter:
                    break
                doc.append(line)
            args += "\n" + "\n".join(doc)
        out.append(Instruction(keyword.upper(), args.strip(), start + 1))
    return out


def _flags(args: str) -> tuple[dict[str, str], str]:
    """Leading ``--flag=value`` options of an instruction, and the rest."""
    flags: dict[str, str] = {}
    rest = args
    while rest.startswith("--"):
        word, _, rest = rest.partition(" ")
        name, _, value = word[2:].partition("=")
        flags[name.lower()] = value
        rest = rest.lstrip()
    return flags, rest


def _exec_or_shell(args: str) -> list[str]:
    """A JSON exec form as its list, a shell form as one string."""
    if args.startswith("["):
        try:
            value = json.loads(args)
        except ValueError:
            return [args]
        if isinstance(value, list):
            return [str(v) for v in value]
    return [args]


def _pairs(args: str) -> list[tuple[str, str | None]]:
    """``KEY=value KEY2="v 2"`` or the legacy ``KEY value`` of ENV, ``NAME[=default]`` of ARG."""
    words = command_words([args]) if "=" in args.split(" ", 1)[0] else []
    if words:
        out: list[tuple[str, str | None]] = []
        for w in words:
            name, eq, value = w.partition("=")
            out.append((name, value if eq else None))
        return out
    name, _, value = args.partition(" ")
    return [(name, value.strip() if value.strip() else None)]


def _substitute(value: str, args: dict[str, str]) -> str | None:
    """Expand ``$NAME``/``${NAME}`` from known ARG defaults; None if one is unknown."""
    missing = False

    def repl(m: re.Match[str]) -> str:
        nonlocal missing
        name = m.group(1) or m.group(2)
        if name in args:
            return args[name]
        missing = True
        return ""

    out = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)", repl,
                 value)
    return None if missing else out


def check_dockerfile(source: str) -> Iterator[Hit]:
    instructions = parse(source)
    global_args: dict[str, str] = {}
    stages: dict[str, str | None] = {}
    """stage name -> the USER in effect at its end"""
    user: str | None = None
    user_line = 0
    final: Container | None = None
    seen_from = False
    current_alias = ""
    for ins in instructions:
        kw, args, line = ins.keyword, ins.args, ins.line
        if kw == "FROM":
            words = _flags(args)[1].split()
            ref = words[0] if words else ""
            alias = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else ""
            base_user = stages.get(ref.lower())
            resolved = _substitute(ref, global_args)
            if resolved and resolved.lower() not in stages and resolved.lower() != "scratch":
                yield from check_image(resolved, line, f"FROM {printable(ref)}",
                                       is_serving_image(resolved))
            user, user_line = base_user, line
            final = Container(where=f"stage {alias or ref}", line=line, image=resolved)
            if alias:
                stages[alias] = None
            seen_from = True
            current_alias = alias
            continue
        if kw == "ARG":
            for name, value in _pairs(args):
                if not seen_from and value is not None:
                    global_args[name] = value.strip("\"'")
                if secret_name(name):
                    if literal_secret(value):
                        yield from secret_hits(name, value, line, "Dockerfile", "ARG")
                    else:
                        yield hit(r.BUILD_SECRET, line,
                                  f"ARG {name}: build arguments stay in the image history")
                elif value:
                    yield from secret_hits(name, value, line, "Dockerfile", "ARG")
            continue
        if final is None:
            continue
        if kw == "USER":
            user, user_line = args.split()[0] if args.split() else "", line
            if current_alias:
                stages[current_alias] = user
        elif kw == "ENV":
            for name, value in _pairs(args):
                if value is None:
                    continue
                final.env.append(EnvVar(name, value, line))
                if secret_name(name) and value.strip().startswith("$"):
                    yield hit(r.BUILD_SECRET, line,
                              f"ENV {name}={printable(value, 40)} copies a secret into the "
                              "image configuration", Severity.MEDIUM)
                else:
                    yield from secret_hits(name, value, line, "Dockerfile", "ENV")
        elif kw in ("CMD", "ENTRYPOINT"):
            if kw == "ENTRYPOINT":
                final.argv = _exec_or_shell(args) + final.argv
            else:
                final.argv = final.argv + _exec_or_shell(args)
            final.argv_line = line
        elif kw == "RUN":
            yield from _check_run(args, line)
        elif kw in ("ADD", "COPY"):
            yield from _check_copy(kw, args, line)
    if final is None:
        return
    yield from check_remote_code(final)
    yield from check_listeners(final)
    name = (user or "").split(":")[0].strip().lower()
    if not name:
        yield hit(r.RUNS_AS_ROOT, final.line,
                  f"{final.where}: no USER in the final stage (the base image's user, often root)")
    elif name in ("root", "0"):
        yield hit(r.RUNS_AS_ROOT, user_line, f"USER {user} in the final stage", Severity.MEDIUM)


# ---- RUN ----------------------------------------------------------------------------

_PIPE_TO_SHELL = re.compile(
    r"\b(curl|wget)\b[^|;&\n]*\|\s*(sudo\s+(-\S+\s+)*)?(env\s+)?(/usr)?(/bin/)?(ba|z|da|k|fi)?sh\b",
    re.I,
)
_SHELL_OF_DOWNLOAD = re.compile(
    r"\b(ba|z|da)?sh\s+(-c\s+)?[\"']?(\$\(|<\()\s*(curl|wget)\b[^)]*", re.I
)
_PIP = re.compile(
    r"\b(pip3?|pip3\.\d+|python3?(\.\d+)?\s+-m\s+pip|uv\s+pip)\s+install\b(?P<args>.*)", re.I
)
_PIP_VALUE_OPTIONS = frozenset({
    "-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url",
    "--extra-index-url", "-f", "--find-links", "-t", "--target", "--prefix", "--root",
    "--platform", "--python-version", "--implementation", "--abi", "--only-binary",
    "--no-binary", "--trusted-host", "--upgrade-strategy", "--cache-dir", "--timeout",
    "--retries", "--progress-bar", "--src", "--config-settings", "-C", "--python", "-p",
    "--log", "--proxy", "--cert", "--client-cert", "--global-option", "--install-option",
    "--index-strategy", "--extra-index", "--report",
})
ML_PACKAGES = frozenset({
    "torch", "torchvision", "torchaudio", "transformers", "vllm", "tensorflow", "tensorflow-gpu",
    "keras", "jax", "jaxlib", "diffusers", "accelerate", "sentence-transformers",
    "huggingface-hub", "datasets", "tokenizers", "safetensors", "langchain", "langchain-core",
    "langchain-community", "langchain-openai", "llama-index", "openai", "anthropic", "xformers",
    "flash-attn", "bitsandbytes", "peft", "trl", "optimum", "onnx", "onnxruntime",
    "onnxruntime-gpu", "tritonclient", "ray", "mlflow", "scikit-learn", "xgboost", "lightgbm",
    "catboost", "sglang", "text-generation", "gradio", "streamlit", "jupyter", "jupyterlab",
    "notebook", "deepspeed", "auto-gptq", "autoawq", "llama-cpp-python", "ctransformers",
    "timm", "spacy", "einops", "triton", "kserve", "seldon-core", "bentoml", "lmdeploy",
    "tensorrt", "tensorrt-llm", "vllm-flash-attn", "fastchat", "fschat", "open-clip-torch",
    "whisper", "openai-whisper", "faiss-cpu", "faiss-gpu", "chromadb", "pytorch-lightning",
    "lightning", "joblib", "dill", "cloudpickle", "gguf", "ollama",
})


def _check_run(args: str, line: int) -> Iterator[Hit]:
    for pattern in (_PIPE_TO_SHELL, _SHELL_OF_DOWNLOAD):
        m = pattern.search(args)
        if m:
            plain = re.search(r"http://", m.group(0), re.I) is not None
            yield hit(
                r.PIPE_TO_SHELL, line,
                f"RUN {printable(m.group(0).strip(), 100)}",
                Severity.MEDIUM if plain else Severity.LOW,
            )
            break
    for segment in re.split(r"&&|\|\||;|\n|\|", args):
        m = _PIP.search(segment)
        if m:
            loose = _unpinned(m.group("args"))
            if loose:
                yield hit(r.UNPINNED_PIP, line,
                          f"RUN pip install {', '.join(loose[:6])} without ==versions")


def _unpinned(argv: str) -> list[str]:
    words = command_words([argv])
    loose: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
            continue
        if word.startswith("-"):
            name = word.split("=", 1)[0]
            if name in ("-c", "--constraint", "--require-hashes") or word.startswith("-c"):
                return []  # versions come from a constraints file or hashes
            skip = name in _PIP_VALUE_OPTIONS and "=" not in word
            continue
        if any(c in word for c in "/$@") or word.endswith((".whl", ".tar.gz", ".zip")):
            continue
        m = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?(.*)", word)
        if not m:
            continue
        name = re.sub(r"[._]+", "-", m.group(1).lower())
        spec = m.group(3)
        if name in ML_PACKAGES and "==" not in spec:
            loose.append(printable(word, 40))
    return loose


# ---- ADD / COPY ---------------------------------------------------------------------

_SECRET_FILE = re.compile(
    r"(^|/)(\.env(\.(?!example|sample|template|dist)[\w.-]+)?|id_(rsa|dsa|ecdsa|ed25519)|"
    r"[\w.-]+\.key|\.netrc|\.pypirc|\.npmrc|\.git-credentials|credentials(\.json)?|"
    r"\.aws(/.*)?|\.ssh(/.*)?|\.kube(/.*)?|kubeconfig|\.docker/config\.json|"
    r"\.huggingface(/.*)?|huggingface/token|[\w.-]*service[-_]?account[\w.-]*\.json)/?$",
    re.I,
)


def _check_copy(kw: str, args: str, line: int) -> Iterator[Hit]:
    flags, rest = _flags(args)
    if "from" in flags:
        return  # from another stage or image: not the build context
    paths = _exec_or_shell(rest)
    if len(paths) == 1:
        paths = command_words(paths)
    sources = paths[:-1]
    for src in sources:
        low = src.lower()
        if kw == "ADD" and low.startswith(("http://", "https://")):
            if low.startswith("http://"):
                yield hit(r.ADD_URL, line, f"ADD {printable(src, 100)} over plain http",
                          Severity.MEDIUM)
            elif "checksum" not in flags and not low.endswith(".git") and "#" not in low:
                yield hit(r.ADD_URL, line, f"ADD {printable(src, 100)} without --checksum")
        elif _SECRET_FILE.search(src.rstrip("/")) and not low.endswith(".pub"):
            yield hit(r.SECRET_FILE_COPIED, line, f"{kw} {printable(src, 100)}")
