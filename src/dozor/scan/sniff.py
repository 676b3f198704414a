"""Decide a file's format from its bytes, never from its name.

Strong magic numbers decide at once. Weak ones (a zlib or lzma-alone header is two
bytes that occur in ordinary data) are confirmed by decompressing a few bytes. Formats
without magic (ONNX and TF SavedModel protobufs, protocol 0/1 pickles) get a cheap
structural check. A name is only used to route JSON that carries templates.
"""

from __future__ import annotations

import lzma
import struct
import zlib

from dozor.scan.base import Blob, Buffer

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),
    (b"PK\x07\x08PK", "zip"),
    (b"\x89HDF\r\n\x1a\n", "hdf5"),
    (b"GGUF", "gguf"),
    (b"FUGG", "gguf"),
    (b"\x93NUMPY", "npy"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"\x1f\x8b\x08", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x04\x22\x4d\x18", "lz4"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"PAR1", "dataset"),  # Parquet: personal data per column
    (b"%PDF-", "document"),
)


# Extensions whose formats have a fixed header. Content still decides; the name only
# chooses which parser explains why a file that claims the format is not valid.
_CLAIMED = {"safetensors": "safetensors", "gguf": "gguf", "npy": "npy", "onnx": "onnx"}


def _head(data: Buffer, n: int) -> bytes:
    return bytes(data[:n])


def sniff_all(blob: Blob) -> list[str]:
    """Every format `blob` should be scanned as: its own, plus "zip" for a polyglot
    whose end holds a zip directory (Python's zipfile reads from the end, torch and
    pickle from the start, so both readings are scanned)."""
    kind = sniff(blob)
    kinds = [kind] if kind else []
    if kind in _POLYGLOT_HOSTS and _has_zip_end(blob.data):
        kinds.append("zip")
    if kind == "zip" and _is_word_document(blob):
        kinds.append("document")
    if kind is None and _is_text(blob.data):
        kinds = text_kinds(blob.name)
    return kinds


def text_kinds(name: str) -> list[str]:
    """Scanners for a text file. Source, lock and manifest files are known by their
    names (as every code scanner knows them); every text file is checked for secrets.
    Binary formats never get here: magic numbers are checked first."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    low = base.lower()
    if low.endswith(".ipynb"):
        return ["notebook"]  # cells and outputs: code rules and secrets per cell
    kinds: list[str] = []
    if low.endswith((".py", ".pyw", ".pyi")):
        kinds.append("python-code")
    elif _is_dependency_file(low):
        kinds.append("deps")
    elif _is_manifest(low):
        kinds.append("manifest")
    elif low.endswith(_DOCUMENT_SUFFIXES):
        kinds.append("document")  # hidden text a model would read
    elif low.endswith((".csv", ".tsv", ".tab", ".jsonl", ".ndjson")):
        kinds.append("dataset")  # personal data per column
    kinds.append("secrets")
    return kinds


_DOCUMENT_SUFFIXES = (".html", ".htm", ".xhtml", ".md", ".markdown", ".txt")


def _is_word_document(blob: Blob) -> bool:
    """A zip that holds word/document.xml (its name is in the first local header or the
    central directory; the name of the file is only a hint)."""
    data = blob.data
    return (
        blob.name.lower().endswith((".docx", ".docm"))
        or b"word/document.xml" in bytes(data[:4096])
        or b"word/document.xml" in bytes(data[-65536:])
    )


def _is_dependency_file(low: str) -> bool:
    return (
        low in ("pyproject.toml", "poetry.lock", "uv.lock", "pipfile.lock", "pipfile",
                "setup.cfg", "pylock.toml")
        or (low.startswith("requirements") and low.endswith((".txt", ".in")))
        or low.endswith(".requirements.txt")
        or (low.startswith("constraints") and low.endswith(".txt"))
    )


def _is_manifest(low: str) -> bool:
    return (
        low == "dockerfile"
        or low.startswith("dockerfile.")
        or low.endswith((".dockerfile", ".containerfile"))
        or low == "containerfile"
        or low.endswith((".yaml", ".yml"))
    )


def _is_text(data: Buffer) -> bool:
    """No NUL byte and valid UTF-8 in the first 8 KiB (a cut character at the end is
    fine)."""
    head = bytes(data[:8192])
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start > len(head) - 4
    return True


# Formats read from the start whose files could also be read as a zip from the end.
# Containers (tar, 7z, compressed) are not listed: they scan their members already,
# and a zip member near a tar's end would otherwise be read twice.
_POLYGLOT_HOSTS = frozenset({"pickle", "embedded-pickle", "npy", "hdf5", "gguf", "safetensors",
                             "onnx", "tf-savedmodel"})


def sniff(blob: Blob) -> str | None:
    """The format name for `blob`'s content (a key of the registry), or None."""
    data = blob.data
    size = len(data)
    if size < 4:
        return None
    head = _head(data, 16)
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head[0] == 0x80 and 2 <= head[1] <= 5:
        return "pickle"
    if head.startswith(b"BZh") and head[3:4].isdigit() and head[4:10] == b"1AY&SY":
        return "bz2"
    if size > 512 and bytes(data[257:262]) == b"ustar":
        return "tar"
    if _looks_like_safetensors(data, head):
        return "safetensors"
    for off in (512, 1024, 2048, 4096):
        if size > off + 8 and bytes(data[off : off + 8]) == b"\x89HDF\r\n\x1a\n":
            return "hdf5"
    if head.startswith(b"ZF") or _is_zlib(data, head):
        return "zlib"
    if head[0] == 0x5D and _is_lzma_alone(data):
        return "lzma"
    if head[0] == 0x08:
        proto_kind = _protobuf_kind(data)
        if proto_kind:
            return proto_kind
    if head[0] == 0x0A:
        from dozor.scan.models.savedmodel import looks_like_keras_metadata

        if looks_like_keras_metadata(data):
            return "tf-savedmodel"
    if _has_zip_end(data):
        return "zip"
    name = blob.name.rsplit("/", 1)[-1].lower()
    if name in ("tokenizer_config.json", "chat_template.json") and head.lstrip()[:1] == b"{":
        return "tokenizer-config"
    if name.endswith((".jinja", ".jinja2", ".j2")):
        return "chat-template"  # template text: parsed, never rendered
    claimed = _CLAIMED.get(name.rsplit(".", 1)[-1]) if "." in name else None
    if claimed:
        return claimed  # named like a strict format but not one: its parser says why
    from dozor.scan.models.pickle_scan import looks_like_pickle

    if looks_like_pickle(data):
        return "embedded-pickle"  # protocol 0/1: reported only if it parses as a pickle
    return None


def _looks_like_safetensors(data: Buffer, head: bytes) -> bool:
    if len(head) < 9:
        return False
    (n,) = struct.unpack_from("<Q", head)
    return 2 <= n <= len(data) - 8 and head[8:9] == b"{"


def _is_zlib(data: Buffer, head: bytes) -> bool:
    if head[0] != 0x78 or (head[0] << 8 | head[1]) % 31:
        return False
    try:
        out = zlib.decompressobj().decompress(bytes(data[:4096]), 64)
    except zlib.error:
        return False
    return len(out) > 0


def _is_lzma_alone(data: Buffer) -> bool:
    # 0x5d is also "]" (a protocol 0/1 pickle's EMPTY_LIST): check the header fields
    # an lzma encoder writes before trusting a trial decompression
    if len(data) < 13:
        return False
    dict_size = int.from_bytes(bytes(data[1:5]), "little")
    size = int.from_bytes(bytes(data[5:13]), "little")
    if dict_size < 4096 or not any(dict_size in (1 << n, 3 << (n - 1)) for n in range(12, 32)):
        return False
    if size != (1 << 64) - 1 and size > 1 << 48:
        return False
    try:
        out = lzma.LZMADecompressor(format=lzma.FORMAT_ALONE).decompress(
            bytes(data[:4096]), max_length=64
        )
    except lzma.LZMAError:
        return False
    return len(out) > 0


def _protobuf_kind(data: Buffer) -> str | None:
    from dozor.scan.models.onnx import looks_like_onnx
    from dozor.scan.models.savedmodel import looks_like_savedmodel

    if looks_like_savedmodel(data):
        return "tf-savedmodel"
    if looks_like_onnx(data):
        return "onnx"
    return None


def _has_zip_end(data: Buffer) -> bool:
    """A zip whose start is hidden behind other data: look for the end record."""
    size = len(data)
    if size < 22:
        return False
    tail = bytes(data[max(0, size - 65557) :])
    return tail.rfind(b"PK\x05\x06") >= 0 and tail.rfind(b"PK\x01\x02") >= 0
