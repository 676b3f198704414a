"""Provenance of a training run: an in-toto Statement v1 with a SLSA Provenance v1
predicate, signed in a DSSE envelope with the same elliptic-curve keys as `dozor sign`.

The statement says: this model (its files and their SHA-256 digests, the subjects) was
produced from this code (a git commit), these datasets (their fingerprints) and this
base model (its digest), by this builder. Anyone holding the public key can check
that nobody changed the statement and that a model on disk is the one it describes.

Why our own DSSE code instead of a library: the envelope is a few lines of JSON around
a signature over the PAE encoding (spec: github.com/secure-systems-lab/dsse), and the
available libraries either pull a second crypto stack (securesystemslib) or sign only
through Sigstore's services; `cryptography` is already a dependency of model-signing.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import pathlib
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dozor.supply.digests import Fingerprint, fingerprint_dataset, fingerprint_tree

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
SLSA_PROVENANCE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "https://github.com/dozor-sec/dozor/attest/training/v1"
MAX_ENVELOPE = 64 << 20
"""An attestation larger than this is not read (a hostile file could be huge)."""


class AttestationError(Exception):
    """The attestation or the key cannot be read; the message says which and why."""


@dataclass(frozen=True)
class AttestationCheck:
    """What `verify_attestation` found; ``ok`` only without problems."""

    statement: dict[str, Any]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what is actually signed."""
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def _load_private(path: pathlib.Path, password: str | None) -> Any:
    from cryptography.hazmat.primitives import serialization

    try:
        return serialization.load_pem_private_key(path.read_bytes(),
                                                  password.encode() if password else None)
    except FileNotFoundError:
        raise AttestationError(f"{path} does not exist") from None
    except (ValueError, TypeError) as exc:
        raise AttestationError(f"cannot read the private key {path}: {exc}") from None


def _load_public(path: pathlib.Path) -> Any:
    from cryptography.hazmat.primitives import serialization

    try:
        return serialization.load_pem_public_key(path.read_bytes())
    except FileNotFoundError:
        raise AttestationError(f"{path} does not exist") from None
    except ValueError as exc:
        raise AttestationError(f"cannot read the public key {path}: {exc}") from None


def key_id(public_key: Any) -> str:
    """SHA-256 of the public key's SubjectPublicKeyInfo (DER), hex."""
    from cryptography.hazmat.primitives import serialization

    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def _ec_hash(key: Any) -> Any:
    from cryptography.hazmat.primitives import hashes

    size = key.curve.key_size
    return hashes.SHA256() if size <= 256 else hashes.SHA384() if size <= 384 else \
        hashes.SHA512()


def _sign(key: Any, data: bytes) -> bytes:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(_ec_hash(key)))
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    raise AttestationError("attestations are signed with an elliptic-curve (P-256/384/521) "
                           "or Ed25519 key")


def _verify(key: Any, sig: bytes, data: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(sig, data, ec.ECDSA(_ec_hash(key)))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(sig, data)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def sign_envelope(statement: dict[str, Any], private_key: Any) -> dict[str, Any]:
    """A DSSE envelope holding the statement, signed by `private_key`."""
    payload = json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()
    sig = _sign(private_key, pae(PAYLOAD_TYPE, payload))
    return {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": key_id(private_key.public_key()),
                        "sig": base64.b64encode(sig).decode()}],
    }


def open_envelope(envelope: Any, public_key: Any) -> dict[str, Any]:
    """Check the envelope's signature; return the statement, or raise AttestationError."""
    if not isinstance(envelope, dict) or not isinstance(envelope.get("signatures"), list):
        raise AttestationError("not a DSSE envelope (payloadType, payload, signatures)")
    if envelope.get("payloadType") != PAYLOAD_TYPE:
        raise AttestationError(f"payload type {envelope.get('payloadType')!r} is not "
                               f"{PAYLOAD_TYPE}")
    try:
        payload = base64.b64decode(str(envelope.get("payload", "")), validate=True)
    except ValueError:
        raise AttestationError("the envelope's payload is not base64") from None
    data = pae(PAYLOAD_TYPE, payload)
    for entry in envelope["signatures"][:16]:
        try:
            sig = base64.b64decode(str(entry.get("sig", "")), validate=True)
        except (ValueError, AttributeError):
            continue
        if _verify(public_key, sig, data):
            break
    else:
        raise AttestationError("the attestation's signature does not verify with this key "
                               "(changed after signing, or signed by another key)")
    try:
        statement = json.loads(payload)
    except ValueError:
        raise AttestationError("the signed payload is not JSON") from None
    if not isinstance(statement, dict):
        raise AttestationError("the signed payload is not an in-toto statement")
    return statement


def git_source(repo: pathlib.Path) -> dict[str, Any] | None:
    """The code a run used: the commit of `repo`, its remote, and whether it was dirty."""
    def git(*args: str) -> str:
        out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True,
                             text=True, timeout=20, check=True)
        return out.stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
    except (OSError, subprocess.SubprocessError):
        return None
    try:
        remote = git("config", "--get", "remote.origin.url")
    except (OSError, subprocess.SubprocessError):
        remote = ""
    try:
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        dirty = False
    uri = f"git+{remote}" if remote else f"git+file://{repo.resolve()}"
    dep: dict[str, Any] = {"uri": f"{uri}@{commit}", "digest": {"gitCommit": commit},
                           "name": "source"}
    if dirty:
        dep["annotations"] = {"dirty": True}
    return dep


def _dependency(kind: str, fp: Fingerprint, path: pathlib.Path) -> dict[str, Any]:
    notes: dict[str, Any] = {"kind": kind, "files": len(fp.files), "bytes": fp.size,
                             "fingerprint": fp.source}
    if fp.rows:
        notes["rows"] = fp.rows
    if fp.manifest_sha256:
        notes["dataManifestSha256"] = fp.manifest_sha256
    return {"name": f"{kind}:{fp.name}", "uri": path.resolve().as_uri(),
            "digest": {"sha256": fp.digest}, "annotations": notes}


def _subjects(model: pathlib.Path) -> list[dict[str, Any]]:
    fp = fingerprint_tree(model)
    if model.is_file():
        return [{"name": model.name, "digest": {"sha256": fp.digest}}]
    return [{"name": f.name, "digest": {"sha256": f.sha256}} for f in fp.files]


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_statement(
    model: pathlib.Path,
    *,
    datasets: Sequence[pathlib.Path] = (),
    base_model: pathlib.Path | None = None,
    repo: pathlib.Path | None = None,
    builder_id: str = "",
    parameters: dict[str, str] | None = None,
    started: str | None = None,
    finished: str | None = None,
) -> dict[str, Any]:
    """The in-toto Statement v1 with a SLSA Provenance v1 predicate for one training run."""
    deps: list[dict[str, Any]] = []
    source = git_source(repo) if repo is not None else None
    if source:
        deps.append(source)
    for data in datasets:
        deps.append(_dependency("dataset", fingerprint_dataset(data), data))
    if base_model is not None:
        deps.append(_dependency("base-model", fingerprint_tree(base_model), base_model))
    external: dict[str, Any] = {"model": model.name, **(parameters or {})}
    if source:
        external["source"] = source["uri"]
    return {
        "_type": STATEMENT_TYPE,
        "subject": _subjects(model),
        "predicateType": SLSA_PROVENANCE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": external,
                "internalParameters": {"dozor": _dozor_version()},
                "resolvedDependencies": deps,
            },
            "runDetails": {
                "builder": {"id": builder_id or f"urn:dozor:host:{os.uname().nodename}"},
                "metadata": {"invocationId": hashlib.sha256(os.urandom(16)).hexdigest()[:32],
                             "startedOn": started or _now(), "finishedOn": finished or _now()},
            },
        },
    }


def _dozor_version() -> str:
    from dozor import __version__

    return __version__


def attest(model: pathlib.Path, key: pathlib.Path, *, password: str | None = None,
           **options: Any) -> dict[str, Any]:
    """Build the statement for `model` (options: see `build_statement`) and sign it."""
    if not model.exists():
        raise AttestationError(f"{model} does not exist")
    private = _load_private(key, password)
    return sign_envelope(build_statement(model, **options), private)


def verify_attestation(path: pathlib.Path, key: pathlib.Path, *,
                       model: pathlib.Path | None = None) -> AttestationCheck:
    """Check the envelope's signature and, given `model`, that its files are the subjects."""
    try:
        if path.stat().st_size > MAX_ENVELOPE:
            raise AttestationError(f"{path} is larger than {MAX_ENVELOPE >> 20} MiB")
        envelope = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise AttestationError(f"{path} does not exist") from None
    except ValueError:
        return AttestationCheck({}, (f"attestation {path} is not JSON",))
    try:
        statement = open_envelope(envelope, _load_public(key))
    except AttestationError as exc:
        if "does not exist" in str(exc) or "cannot read the public key" in str(exc):
            raise
        return AttestationCheck({}, (f"attestation {path}: {exc}",))
    problems: list[str] = []
    if statement.get("_type") != STATEMENT_TYPE:
        problems.append(f"attestation: statement type {statement.get('_type')!r} is not "
                        "in-toto v1")
    if statement.get("predicateType") != SLSA_PROVENANCE:
        problems.append("attestation: the predicate is not SLSA provenance v1")
    if model is not None:
        problems += _compare_subjects(statement.get("subject"), model)
    return AttestationCheck(statement, tuple(problems))


def _compare_subjects(subjects: Any, model: pathlib.Path) -> list[str]:
    if not isinstance(subjects, list):
        return ["attestation: no subjects"]
    want: dict[str, str] = {}
    for s in subjects:
        if isinstance(s, dict) and isinstance(s.get("digest"), dict):
            want[str(s.get("name"))] = str(s["digest"].get("sha256"))
    have = {s["name"]: s["digest"]["sha256"] for s in _subjects(model)}
    out = [f"attestation: added: {n} (not in the attested output)"
           for n in sorted(set(have) - set(want))]
    out += [f"attestation: missing: {n} (attested but not found)"
            for n in sorted(set(want) - set(have))]
    out += [f"attestation: changed: {n} (digest differs from the attested output)"
            for n in sorted(set(want) & set(have)) if want[n] != have[n]]
    return out
