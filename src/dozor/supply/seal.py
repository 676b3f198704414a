"""Sealed transfer: encrypt a model for one named recipient and sign the result.

The safe version of "split the model and change its code before sending it". A bundle
is::

    DOZORSEAL1\\n | age ciphertext of a tar (model/..., MANIFEST.json) | envelope | len | DOZOREND

* Encryption is age (X25519 recipients, ChaCha20-Poly1305 in 64 KiB authenticated
  chunks) through `pyrage`, the Python binding of the Rust `age` crate: a well-kept,
  audited format with no options to get wrong. Only the holder of the recipient's
  ``AGE-SECRET-KEY-1...`` can open it.
* age says nothing about who sent a file, so the ciphertext's SHA-256 and the intended
  recipient are signed in a DSSE envelope (an in-toto statement) with the sender's
  elliptic-curve key, the same keys as `dozor sign`.

`unseal` fails closed and in this order, before a byte is decrypted: the envelope's
signature must verify with the expected sender's public key; the bundle must be sealed
for *this* identity (a bundle re-encrypted and forwarded by its first recipient is
refused); the ciphertext, copied into a private temporary folder, must hash to the
signed digest (so the bytes decrypted are the bytes checked). Extraction then reads the
tar as a stream and writes only regular files under names that stay inside the output
folder (no absolute paths, ``..``, links or devices), within a file count and size
budget, checks every file against the manifest, and renames the finished folder into
place: there is never a half-extracted output.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import pathlib
import shutil
import struct
import tarfile
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from dozor.supply.attest import AttestationError, _load_private, _load_public, open_envelope
from dozor.supply.attest import sign_envelope as _sign_envelope
from dozor.supply.digests import fingerprint_tree, walk_files

MAGIC = b"DOZORSEAL1\n"
TRAILER = b"DOZOREND"
PREDICATE = "https://github.com/dozor-sec/dozor/seal/v1"
MAX_ENVELOPE = 1 << 20
MANIFEST = "MANIFEST.json"
CHUNK = 4 << 20


class SealError(Exception):
    """A bundle could not be made or opened; the message says why, in one line."""


class SealRefused(SealError):
    """The bundle was checked and refused: tampered, damaged, wrong sender or recipient."""


@dataclass(frozen=True)
class Limits:
    """Budget for unsealing (a signed bundle is trusted, its size is still bounded)."""

    max_files: int = 100_000
    max_bytes: int = 1 << 40
    max_file_bytes: int = 256 << 30


@dataclass(frozen=True)
class SealResult:
    bundle: str
    recipient: str
    files: int
    bytes: int
    sha256: str
    """SHA-256 of the ciphertext (what the envelope signs)."""


@dataclass(frozen=True)
class UnsealResult:
    output: str
    files: int
    bytes: int
    signer: str
    model: str


def _recipient(text: str) -> Any:
    import pyrage

    try:
        return pyrage.x25519.Recipient.from_str(text.strip())
    except Exception:
        raise SealError(f"{text.strip()[:20]}... is not an age public key (age1...)") from None


def read_identity(path: pathlib.Path) -> Any:
    """The first ``AGE-SECRET-KEY-1`` line of an age identity file (``age-keygen`` output)."""
    import pyrage

    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise SealError(f"cannot read the identity {path}: {exc.strerror}") from None
    for line in text.splitlines():
        if line.strip().startswith("AGE-SECRET-KEY-1"):
            try:
                return pyrage.x25519.Identity.from_str(line.strip())
            except Exception:
                break
    raise SealError(f"{path} holds no age identity (an AGE-SECRET-KEY-1... line)")


def recipient_arg(value: str) -> str:
    """A recipient given as ``age1...`` or as a file holding one (a ``.pub`` file)."""
    if value.startswith("age1"):
        return value.strip()
    path = pathlib.Path(value)
    try:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            line = line.strip()
            if line.startswith("age1"):
                return line
            if "public key: age1" in line:
                return line.split("public key: ", 1)[1].strip()
    except OSError:
        pass
    raise SealError(f"{value} is neither an age public key (age1...) nor a file holding one")


class _HashingWriter(io.RawIOBase):
    def __init__(self, out: IO[bytes]) -> None:
        self.out, self.sha, self.size = out, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        data = bytes(b)
        self.out.write(data)
        self.sha.update(data)
        self.size += len(data)
        return len(data)


@contextlib.contextmanager
def _pipe_from(produce: Callable[[IO[bytes]], None]) -> Iterator[IO[bytes]]:
    """Run `produce(writer)` in a thread; yield the reading end of the pipe it writes."""
    rfd, wfd = os.pipe()
    reader = os.fdopen(rfd, "rb", buffering=CHUNK)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with os.fdopen(wfd, "wb", buffering=CHUNK) as writer:
                produce(writer)
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield reader
    finally:
        reader.close()  # unblocks a writer the caller stopped reading
        thread.join()
    if errors and not isinstance(errors[0], BrokenPipeError):
        raise errors[0]


def seal(model: pathlib.Path, recipient: str, key: pathlib.Path, output: pathlib.Path, *,
         password: str | None = None) -> SealResult:
    """Encrypt `model` (file or folder) for `recipient` (age1...), sign, write `output`."""
    import pyrage

    if not model.exists():
        raise SealError(f"{model} does not exist")
    rcpt = _recipient(recipient)
    try:
        private = _load_private(key, password)
    except AttestationError as exc:
        raise SealError(str(exc)) from None
    fp = fingerprint_tree(model, skip_signature=False)
    manifest = json.dumps({"model": model.name, "files": [
        {"name": f.name, "size": f.size, "sha256": f.sha256} for f in fp.files]},
        indent=1).encode()

    def write_tar(out: IO[bytes]) -> None:
        with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(manifest)
            tar.addfile(info, io.BytesIO(manifest))
            for rel, path in walk_files(model, skip_signature=False):
                with open(path, "rb") as f:
                    info = tarfile.TarInfo(f"model/{rel}")
                    info.size = os.fstat(f.fileno()).st_size
                    info.mode = 0o644
                    tar.addfile(info, f)

    tmp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as out:
            out.write(MAGIC)
            hashing = _HashingWriter(out)
            with _pipe_from(write_tar) as plain:
                try:
                    pyrage.encrypt_io(plain, hashing, [rcpt])
                except Exception as exc:
                    raise SealError(f"encryption failed: {exc}") from None
            digest = hashing.sha.hexdigest()
            statement = {
                "_type": "https://in-toto.io/Statement/v1",
                "subject": [{"name": "ciphertext", "digest": {"sha256": digest}}],
                "predicateType": PREDICATE,
                "predicate": {"recipient": recipient.strip(), "model": model.name,
                              "files": len(fp.files), "bytes": fp.size,
                              "modelDigest": {"sha256": fp.digest}},
            }
            envelope = json.dumps(_sign_envelope(statement, private)).encode()
            out.write(envelope)
            out.write(struct.pack(">Q", len(envelope)))
            out.write(TRAILER)
        os.replace(tmp, output)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return SealResult(str(output), recipient.strip(), len(fp.files), fp.size, digest)


def _read_envelope(f: IO[bytes], size: int) -> tuple[dict[str, Any], int]:
    """The envelope and the ciphertext's length, from the bundle's trailer."""
    head = f.read(len(MAGIC))
    tail_len = 8 + len(TRAILER)
    if head != MAGIC or size < len(MAGIC) + tail_len:
        raise SealRefused("not a dozor sealed bundle (bad header)")
    f.seek(size - tail_len)
    tail = f.read(tail_len)
    if tail[8:] != TRAILER:
        raise SealRefused("the bundle is truncated or damaged (no trailer)")
    (env_len,) = struct.unpack(">Q", tail[:8])
    ct_len = size - len(MAGIC) - tail_len - env_len
    if env_len > MAX_ENVELOPE or ct_len <= 0:
        raise SealRefused("the bundle is damaged (impossible signature length)")
    f.seek(size - tail_len - env_len)
    try:
        envelope = json.loads(f.read(env_len))
    except ValueError:
        raise SealRefused("the bundle's signature is damaged (not JSON)") from None
    return envelope, ct_len


def _signed_digest(statement: dict[str, Any]) -> str | None:
    """The ciphertext's SHA-256 from the statement's one subject, or None."""
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or len(subjects) != 1 or \
            not isinstance(subjects[0], dict) or not isinstance(subjects[0].get("digest"), dict):
        return None
    value = subjects[0]["digest"].get("sha256")
    return value if isinstance(value, str) else None


def _safe_name(name: str) -> str | None:
    """``model/a/b.bin`` -> ``a/b.bin``; None for anything that could leave the folder."""
    if not name.startswith("model/") or "\\" in name or "\0" in name:
        return None
    rel = name[len("model/"):]
    parts = rel.split("/")
    if not rel or rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
        return None
    return rel


def unseal(bundle: pathlib.Path, identity: pathlib.Path, signer: pathlib.Path,
           output: pathlib.Path, *, limits: Limits | None = None) -> UnsealResult:
    """Check, decrypt and extract a bundle into `output` (which must not exist yet)."""
    import pyrage

    limits = limits or Limits()
    if output.exists():
        raise SealError(f"{output} already exists: give a new folder to extract into")
    ident = read_identity(identity)
    try:
        public = _load_public(signer)
    except AttestationError as exc:
        raise SealError(str(exc)) from None
    try:
        size = bundle.stat().st_size
        f = open(bundle, "rb")
    except OSError as exc:
        raise SealError(f"cannot read {bundle}: {exc.strerror}") from None
    parent = output.resolve().parent
    if not parent.is_dir():
        raise SealError(f"folder {parent} does not exist")
    with f, tempfile.TemporaryDirectory(prefix=".dozor-unseal-", dir=parent) as tmp:
        envelope, ct_len = _read_envelope(f, size)
        try:
            statement = open_envelope(envelope, public)
        except AttestationError as exc:
            raise SealRefused(f"refused: {exc}") from None
        pred = statement.get("predicate") if isinstance(statement, dict) else None
        if statement.get("predicateType") != PREDICATE or not isinstance(pred, dict):
            raise SealRefused("refused: the signed statement is not a dozor seal")
        mine = str(ident.to_public())
        if pred.get("recipient") != mine:
            raise SealRefused(f"refused: sealed for {str(pred.get('recipient'))[:24]}..., not "
                            f"for this identity ({mine[:24]}...): it was forwarded")
        want = _signed_digest(statement)
        ct_path = pathlib.Path(tmp, "ciphertext.age")
        sha = hashlib.sha256()
        f.seek(len(MAGIC))
        left = ct_len
        with open(ct_path, "wb") as ct:
            while left:
                chunk = f.read(min(CHUNK, left))
                if not chunk:
                    raise SealRefused("the bundle is truncated")
                sha.update(chunk)
                ct.write(chunk)
                left -= len(chunk)
        if want is None or sha.hexdigest() != want:
            raise SealRefused("refused: the encrypted content was changed after it was signed")
        stage = pathlib.Path(tmp, "out")
        stage.mkdir()

        def decrypt(out: IO[bytes]) -> None:
            with open(ct_path, "rb") as src:
                pyrage.decrypt_io(src, out, [ident])

        try:
            with _pipe_from(decrypt) as plain:
                manifest = _extract(plain, stage, limits)
        except pyrage.DecryptError as exc:
            raise SealRefused(f"cannot decrypt with this identity: {exc}") from None
        files, total = _check_manifest(stage, manifest)
        os.rename(stage, output)
    return UnsealResult(str(output), files, total, str(envelope["signatures"][0].get("keyid")),
                        str(pred.get("model", "")))


def _extract(stream: IO[bytes], stage: pathlib.Path, limits: Limits) -> dict[str, Any]:
    manifest: dict[str, Any] | None = None
    count = total = 0
    try:
        tar = tarfile.open(fileobj=stream, mode="r|")
    except tarfile.TarError as exc:
        raise SealRefused(f"the decrypted content is not a bundle: {exc}") from None
    with tar:
        for member in tar:
            count += 1
            if count > limits.max_files + 1:
                raise SealRefused(f"refused: more than {limits.max_files} files")
            if not member.isreg():
                raise SealRefused(f"refused: {member.name!r} is not a regular file")
            if member.size > limits.max_file_bytes or total + member.size > limits.max_bytes:
                raise SealRefused(f"refused: {member.name!r} is over the size limit")
            total += member.size
            src = tar.extractfile(member)
            if src is None:
                raise SealRefused(f"refused: cannot read {member.name!r}")
            if member.name == MANIFEST and manifest is None:
                try:
                    manifest = json.loads(src.read(min(member.size, 64 << 20)))
                except ValueError:
                    raise SealRefused("the bundle's manifest is damaged") from None
                continue
            rel = _safe_name(member.name)
            if rel is None:
                raise SealRefused(f"refused: unsafe name {member.name!r} in the bundle")
            dest = stage.joinpath(*rel.split("/"))
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                out = open(dest, "xb")  # "x": a repeated name is refused, never replaced
            except FileExistsError:
                raise SealRefused(f"refused: {member.name!r} appears twice") from None
            with out:
                shutil.copyfileobj(src, out, CHUNK)
    if not isinstance(manifest, dict):
        raise SealRefused("the bundle has no manifest")
    return manifest


def _check_manifest(stage: pathlib.Path, manifest: dict[str, Any]) -> tuple[int, int]:
    want = {str(e.get("name")): str(e.get("sha256")) for e in manifest.get("files", [])
            if isinstance(e, dict)}
    fp = fingerprint_tree(stage, skip_signature=False)
    have = {f.name: f.sha256 for f in fp.files}
    if have != want:
        bad = sorted(set(want) ^ set(have) | {k for k in want if have.get(k) != want[k]})
        raise SealRefused("refused: extracted files differ from the sealed manifest: "
                        + ", ".join(bad[:5]))
    return len(fp.files), fp.size
