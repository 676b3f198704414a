"""The user's anonymisation key and the sub-keys derived from it.

One secret the user holds (a file or an environment variable) drives every keyed
operator. Each operator gets its own sub-key through HKDF-SHA256 with a distinct
label, so a pseudonym never reveals anything about the encryption key and the same
key file gives the same pseudonyms in every table and every run (joins keep working).
"""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

KEY_ENV = "DOZOR_ANON_KEY"
"""Environment variable read when no key file is given."""
MIN_KEY_BYTES = 16
MAX_KEY_FILE = 4096


class AnonKeyError(ValueError):
    """The key is missing, too short or unreadable; the message is one sentence."""


@dataclass(frozen=True)
class AnonKey:
    """The user's secret and its purpose-bound sub-keys."""

    secret: bytes

    def derive(self, purpose: str, length: int = 32) -> bytes:
        """A sub-key for one purpose (``pseudonym``, ``fake``, ``encrypt``)."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        return HKDF(
            algorithm=hashes.SHA256(), length=length, salt=b"dozor-anonymize-v1",
            info=purpose.encode(),
        ).derive(self.secret)


def _decode(raw: bytes) -> bytes:
    text = raw.strip()
    try:
        if len(text) >= 2 * MIN_KEY_BYTES and len(text) % 2 == 0:
            return bytes.fromhex(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        pass
    return text


def load_key(key_file: str | os.PathLike[str] | None = None, *, env: str = KEY_ENV) -> AnonKey:
    """Read the key from `key_file`, else from the environment variable `env`.

    A file or variable holding 64 hex characters is decoded; anything else is used as
    raw bytes. At least 16 bytes are required.
    """
    if key_file is not None:
        path = Path(key_file)
        try:
            if path.stat().st_size > MAX_KEY_FILE:
                raise AnonKeyError(f"key file {path} is larger than {MAX_KEY_FILE} bytes")
            raw = path.read_bytes()
        except OSError as exc:
            raise AnonKeyError(f"cannot read key file {path}: {exc.strerror}") from None
        where = f"key file {path}"
    else:
        value = os.environ.get(env)
        if not value:
            raise AnonKeyError(
                f"no key: give --key-file FILE or set {env} (create one with "
                "--create-key, and keep it: without it pseudonyms change and "
                "encrypted values cannot be restored)"
            )
        raw = value.encode()
        where = f"${env}"
    secret = _decode(raw)
    if len(secret) < MIN_KEY_BYTES:
        raise AnonKeyError(f"{where} holds {len(secret)} bytes; use at least {MIN_KEY_BYTES}")
    return AnonKey(secret)


def create_key_file(path: str | os.PathLike[str]) -> AnonKey:
    """Write a new random 32-byte key (hex) to `path`, readable by the owner only.

    Refuses to overwrite an existing file: losing a key loses the way back.
    """
    target = Path(path)
    secret = secrets.token_bytes(32)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    except FileExistsError:
        raise AnonKeyError(f"key file {target} already exists; not overwriting it") from None
    except OSError as exc:
        raise AnonKeyError(f"cannot create key file {target}: {exc.strerror}") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(secret.hex() + "\n")
    return AnonKey(secret)
