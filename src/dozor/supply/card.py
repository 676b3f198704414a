"""What a model says about itself, read statically for the bill of materials.

Sources, all read as data and never loaded as a model: a Hugging Face ``config.json``
(architecture, model type), the YAML front matter of ``README.md`` (the model card:
pipeline tag, license, datasets, base model, ``model-index`` metrics), the JSON header
of ``.safetensors`` files (``__metadata__``, tensor and parameter counts) and the
key/value header of ``.gguf`` files (``general.*`` and the architecture's keys).

Every reader is bounded (file size, header size, number of keys, string length) and
returns what it could read; hostile or truncated files give less, never an exception.
The GGUF reader is our own and small because dozor's GGUF scanner keeps only what
security needs (chat templates, tensor extents), not the descriptive keys.
"""

from __future__ import annotations

import json
import pathlib
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

MAX_JSON = 4 << 20
MAX_README = 1 << 20
MAX_ST_HEADER = 100 << 20
MAX_GGUF_KEYS = 4096
MAX_GGUF_STRING = 1 << 16
MAX_FILES = 10_000

TASKS = (  # architecture-name suffix -> Hugging Face pipeline task
    ("ForSequenceClassification", "text-classification"),
    ("ForTokenClassification", "token-classification"),
    ("ForQuestionAnswering", "question-answering"),
    ("ForMaskedLM", "fill-mask"),
    ("ForCausalLM", "text-generation"),
    ("LMHeadModel", "text-generation"),
    ("ForConditionalGeneration", "text2text-generation"),
    ("ForImageClassification", "image-classification"),
    ("ForObjectDetection", "object-detection"),
    ("ForSpeechSeq2Seq", "automatic-speech-recognition"),
    ("ForCTC", "automatic-speech-recognition"),
    ("ForAudioClassification", "audio-classification"),
)


@dataclass(frozen=True)
class Metric:
    type: str
    value: str
    slice: str = ""


@dataclass
class ModelCard:
    """Facts about a model, each optional; `sources` says where they came from."""

    name: str = ""
    task: str = ""
    architecture: str = ""
    family: str = ""
    license: str = ""
    base_models: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    metrics: list[Metric] = field(default_factory=list)
    parameters: int | None = None
    formats: list[str] = field(default_factory=list)
    properties: dict[str, str] = field(default_factory=dict)
    description: str = ""
    sources: list[str] = field(default_factory=list)


def _text(value: Any, limit: int = 200) -> str:
    return str(value)[:limit] if value is not None else ""


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value[:200]]
    if isinstance(value, list):
        return [str(v)[:200] for v in value[:50] if isinstance(v, (str, int, float))]
    return []


def _read(path: pathlib.Path, limit: int) -> bytes | None:
    try:
        if path.stat().st_size > limit:
            return None
        return path.read_bytes()
    except OSError:
        return None


def read_config(card: ModelCard, path: pathlib.Path) -> None:
    raw = _read(path, MAX_JSON)
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        return
    if not isinstance(data, dict):
        return
    archs = _strings(data.get("architectures"))
    if archs:
        card.architecture = card.architecture or archs[0]
        for suffix, task in TASKS:
            if archs[0].endswith(suffix):
                card.task = card.task or task
                break
    if isinstance(data.get("model_type"), str):
        card.family = card.family or _text(data["model_type"])
    for key in ("num_hidden_layers", "hidden_size", "vocab_size", "torch_dtype",
                "max_position_embeddings", "num_labels"):
        if isinstance(data.get(key), (str, int, float)):
            card.properties[f"config:{key}"] = _text(data[key])
    card.sources.append(path.name)


def front_matter(text: str) -> dict[str, Any]:
    """The YAML between the leading ``---`` lines of a model card, or {}."""
    import yaml

    if not text.startswith("---"):
        return {}
    end = text.find("\n---", 3)
    if end < 0:
        return {}
    try:
        data = yaml.safe_load(text[3:end])
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def read_readme(card: ModelCard, path: pathlib.Path) -> None:
    raw = _read(path, MAX_README)
    if raw is None:
        return
    meta = front_matter(raw.decode("utf-8", "replace"))
    if not meta:
        return
    card.task = card.task or _text(meta.get("pipeline_tag"))
    lic = meta.get("license")
    card.license = card.license or (_text(lic) if isinstance(lic, str) else "")
    card.base_models += [b for b in _strings(meta.get("base_model")) if b not in card.base_models]
    card.datasets += [d for d in _strings(meta.get("datasets")) if d not in card.datasets]
    card.languages += _strings(meta.get("language"))
    card.metrics += list(_model_index(meta.get("model-index")))
    card.sources.append(path.name)


def _model_index(index: Any) -> Iterator[Metric]:
    if not isinstance(index, list):
        return
    for model in index[:10]:
        results = model.get("results") if isinstance(model, dict) else None
        for result in (results if isinstance(results, list) else [])[:50]:
            if not isinstance(result, dict):
                continue
            ds = result.get("dataset")
            ds = ds if isinstance(ds, dict) else {}
            where = _text(ds.get("name") or ds.get("type"))
            for m in (result.get("metrics") or [])[:50]:
                if isinstance(m, dict) and m.get("value") is not None:
                    yield Metric(_text(m.get("type") or m.get("name")), _text(m["value"]), where)


def read_safetensors(card: ModelCard, path: pathlib.Path) -> None:
    try:
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                return
            (n,) = struct.unpack("<Q", head)
            if n > MAX_ST_HEADER:
                return
            header = json.loads(f.read(n))
    except (OSError, ValueError, UnicodeDecodeError):
        return
    if not isinstance(header, dict):
        return
    meta = header.pop("__metadata__", None)
    if isinstance(meta, dict):
        for k, v in list(meta.items())[:100]:
            card.properties[f"safetensors:{_text(k, 100)}"] = _text(v)
    params = 0
    for entry in header.values():
        shape = entry.get("shape") if isinstance(entry, dict) else None
        if isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape):
            count = 1
            for d in shape:
                count *= d
            params += count
    card.parameters = (card.parameters or 0) + params
    if "safetensors" not in card.formats:
        card.formats.append("safetensors")
    card.sources.append(path.name)


_GGUF_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
                 10: "<Q", 11: "<q", 12: "<d"}


def gguf_metadata(data: bytes) -> dict[str, Any]:
    """Scalar and string keys of a GGUF v2/v3 header (arrays are skipped), bounded."""
    out: dict[str, Any] = {}
    if data[:4] != b"GGUF" or len(data) < 24:
        return out
    pos = 4
    try:
        (version,) = struct.unpack_from("<I", data, pos)
        if version not in (2, 3):
            return out
        _tensors, kv_count = struct.unpack_from("<QQ", data, 8)
        pos = 24

        def string() -> str:
            nonlocal pos
            (n,) = struct.unpack_from("<Q", data, pos)
            pos += 8
            if n > MAX_GGUF_STRING or pos + n > len(data):
                raise ValueError("string too long")
            s = data[pos:pos + n].decode("utf-8", "replace")
            pos += n
            return s

        def skip(kind: int, depth: int = 0) -> Any:
            nonlocal pos
            if kind in _GGUF_SCALARS:
                fmt = _GGUF_SCALARS[kind]
                (v,) = struct.unpack_from(fmt, data, pos)
                pos += struct.calcsize(fmt)
                return v
            if kind == 8:
                return string()
            if kind == 9 and depth == 0:
                (inner, count) = struct.unpack_from("<IQ", data, pos)
                pos += 12
                if inner in _GGUF_SCALARS and inner != 8:
                    pos += count * struct.calcsize(_GGUF_SCALARS[inner])
                    if pos > len(data):
                        raise ValueError("array past the end")
                else:
                    for _ in range(min(count, 1 << 20)):
                        skip(inner, depth + 1)
                    if count > 1 << 20:
                        raise ValueError("array too long")
                return None
            raise ValueError(f"unknown type {kind}")

        for _ in range(min(kv_count, MAX_GGUF_KEYS)):
            key = string()
            (kind,) = struct.unpack_from("<I", data, pos)
            pos += 4
            value = skip(kind)
            if value is not None and not key.startswith("tokenizer.chat_template"):
                out[key] = value
    except (struct.error, ValueError, RecursionError):
        pass
    return out


def read_gguf(card: ModelCard, path: pathlib.Path) -> None:
    try:
        with open(path, "rb") as f:
            data = f.read(32 << 20)  # the header of any real GGUF fits
    except OSError:
        return
    meta = gguf_metadata(data)
    if not meta:
        return
    arch = _text(meta.get("general.architecture"))
    card.family = card.family or arch
    card.architecture = card.architecture or _text(meta.get("general.basename")
                                                   or meta.get("general.name"))
    card.name = card.name or _text(meta.get("general.name"))
    card.license = card.license or _text(meta.get("general.license"))
    card.description = card.description or _text(meta.get("general.description"), 1000)
    for key in ("general.size_label", "general.file_type", "general.quantization_version",
                f"{arch}.context_length", f"{arch}.block_count", f"{arch}.embedding_length"):
        if key in meta:
            card.properties[f"gguf:{key}"] = _text(meta[key])
    if "gguf" not in card.formats:
        card.formats.append("gguf")
    card.task = card.task or ("text-generation" if arch else "")
    card.sources.append(path.name)


def read_model_card(model: pathlib.Path) -> ModelCard:
    """Everything the files of `model` (a file or folder) say about it, read statically."""
    from itertools import islice

    from dozor.supply.digests import walk_files

    card = ModelCard(name=model.name)
    for _rel, path in islice(walk_files(model), MAX_FILES):  # links are not followed
        name = path.name.lower()
        if name == "config.json":
            read_config(card, path)
        elif name in ("readme.md", "model_card.md"):
            read_readme(card, path)
        elif name.endswith(".safetensors"):
            read_safetensors(card, path)
        elif name.endswith(".gguf"):
            read_gguf(card, path)
        elif name.endswith((".pt", ".pth", ".bin", ".ckpt")) and "pytorch" not in card.formats:
            card.formats.append("pytorch")
        elif name.endswith(".onnx") and "onnx" not in card.formats:
            card.formats.append("onnx")
    return card
