"""Sign and verify models in the OpenSSF model-signing format.

Why the `model_signing` library rather than our own: its signature (a Sigstore bundle
holding a DSSE envelope with an in-toto statement that lists every file's digest) is
the format other tools verify, so a model signed by dozor verifies with the
`model_signing` command and the other way round. It hashes files in parallel threads
(SHA-256 through hashlib, which releases the GIL; BLAKE3 through the `blake3` package,
which is multi-threaded and SIMD), supports the three methods we need (an elliptic-curve
private key, a certificate chain, Sigstore) and works offline for the first two.

What dozor adds on top:

* Verification compares the signed manifest with the files on disk itself, so each
  difference is a one-line reason naming the file: ``changed: weights.bin``,
  ``added: extra.py``, ``missing: config.json``. Any difference fails.
* `expected_manifest` checks the signature alone and returns the signed manifest, so
  `dozor.load` can hash a private copy of the model (the bytes the loader will read)
  instead of the files an attacker could swap after verification (TOCTOU).
* A progress callback advanced per file (or per shard with ``shard_size``).

The reader of the signed manifest uses `model_signing`'s internal modules
(``model_signing._signing``), which is why the extra pins ``model-signing<1.2``.
"""

from __future__ import annotations

import os
import pathlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

SIGNATURE_NAME = "model.sig"
"""Name of the signature inside a model folder (the `model_signing` command's default)."""

HASHES = ("sha256", "blake3")

Progress = Callable[[int], None]
"""Called with a number of bytes just hashed."""


class SigningError(Exception):
    """Signing or verification could not run (bad key, unreadable path, no network)."""


@dataclass(frozen=True)
class SignResult:
    """What `sign_model` signed."""

    model: str
    signature: str
    files: int
    """Number of files (not shards) in the signed manifest."""
    bytes: int
    hash_algorithm: str
    root_digest: str
    """SHA-256 over the ordered per-file digests: one digest naming the whole model."""
    seconds: float


@dataclass(frozen=True)
class Verification:
    """The outcome of `verify_model`: ``ok`` only when the signature and every file match."""

    ok: bool
    model: str
    signature: str
    reasons: tuple[str, ...] = ()
    """One line per problem, e.g. ``changed: weights.bin``; empty when ``ok``."""
    files: int = 0
    bytes: int = 0
    hash_algorithm: str = ""
    signer: str = ""
    """Who signed: the key fingerprint or the certificate subject, when known."""
    seconds: float = 0.0


def default_signature_path(model: pathlib.Path) -> pathlib.Path:
    """``MODEL/model.sig`` for a folder, ``MODEL.sig`` beside a single file."""
    if model.is_dir():
        return model / SIGNATURE_NAME
    return model.with_name(model.name + ".sig")


def _file_size(path: pathlib.Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


class _CountingHasher:
    """Wraps a model_signing file hasher and reports the bytes it hashed."""

    def __init__(self, inner: Any, size: int, progress: Progress) -> None:
        self._inner = inner
        self._size = size
        self._progress = progress

    def compute(self) -> Any:
        digest = self._inner.compute()
        self._progress(self._size)
        return digest

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _wrap_progress(config: Any, progress: Progress | None) -> None:
    serializer = config._serializer
    if progress is None:
        return
    inner_factory = serializer._hasher_factory

    def factory(path: pathlib.Path, *shard: int) -> Any:
        hasher = inner_factory(path, *shard)
        size = shard[1] - shard[0] if shard else _file_size(path)
        return _CountingHasher(hasher, size, progress)

    serializer._hasher_factory = factory


def hashing_config(
    hash_algorithm: str = "sha256",
    *,
    shard_size: int | None = None,
    ignore: Iterable[pathlib.Path | str] = (),
    allow_symlinks: bool = False,
    workers: int | None = None,
    progress: Progress | None = None,
) -> Any:
    """A `model_signing.hashing.Config` for dozor's options (see `sign_model`)."""
    from model_signing import hashing

    if hash_algorithm not in HASHES:
        raise SigningError(f"unknown hash {hash_algorithm!r}; choose one of {', '.join(HASHES)}")
    config = hashing.Config()
    if shard_size and hash_algorithm != "blake3":
        config.use_shard_serialization(hashing_algorithm=hash_algorithm,  # type: ignore[arg-type]
                                       shard_size=shard_size, max_workers=workers,
                                       allow_symlinks=allow_symlinks)
    else:
        config.use_file_serialization(hashing_algorithm=hash_algorithm,  # type: ignore[arg-type]
                                      max_workers=workers, allow_symlinks=allow_symlinks)
    config.set_ignored_paths(paths=list(ignore), ignore_git_paths=True)
    config.set_allow_symlinks(allow_symlinks)
    _wrap_progress(config, progress)
    return config


def _config_from_manifest(manifest: Any, model: pathlib.Path,
                          progress: Progress | None, workers: int | None) -> Any:
    """Rebuild the hashing configuration the signer used, from the signed manifest."""
    args = manifest.serialization_type
    method = args.get("method")
    algorithm = str(args.get("hash_type", ""))
    if algorithm not in ("sha256", "blake2", "blake3"):
        raise SigningError(f"the signature uses an unsupported hash {algorithm!r}")
    symlinks = bool(args.get("allow_symlinks", False)) and args.get("allow_symlinks") != "false"
    from model_signing import hashing

    config = hashing.Config()
    if method == "files":
        config.use_file_serialization(hashing_algorithm=algorithm,  # type: ignore[arg-type]
                                      max_workers=workers, allow_symlinks=symlinks)
    elif method == "shards":
        config.use_shard_serialization(hashing_algorithm=algorithm,  # type: ignore[arg-type]
                                       shard_size=int(args["shard_size"]),
                                       max_workers=workers, allow_symlinks=symlinks)
    else:
        raise SigningError(f"the signature uses an unknown serialization {method!r}")
    config.set_ignored_paths(paths=list(args.get("ignore_paths", ())), ignore_git_paths=True)
    config.set_allow_symlinks(symlinks)
    _wrap_progress(config, progress)
    return config


def _file_of(identifier: str) -> str:
    """``dir/f.bin:0:1000`` (a shard) -> ``dir/f.bin``; a file identifier is unchanged."""
    parts = identifier.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return parts[0]
    return identifier


def _digests(manifest: Any) -> dict[str, str]:
    return {str(rd.identifier): rd.digest.digest_hex for rd in manifest.resource_descriptors()}


def compare_manifests(expected: Any, actual: Any, name: str = "") -> tuple[str, ...]:
    """One reason per file that differs: ``changed:``, ``added:`` or ``missing:``.

    A single-file model's one entry is called ``.``; `name` is shown for it instead.
    """
    want, have = _digests(expected), _digests(actual)
    want_files = {_file_of(k) for k in want}
    have_files = {_file_of(k) for k in have}
    reasons: list[str] = []
    def shown(file: str) -> str:
        return name if file == "." and name else file

    for file in sorted(have_files - want_files):
        reasons.append(f"added: {shown(file)} (not in the signature)")
    for file in sorted(want_files - have_files):
        reasons.append(f"missing: {shown(file)} (signed but not found)")
    changed = sorted({_file_of(k) for k in set(want) ^ set(have) | {
        k for k in set(want) & set(have) if want[k] != have[k]}} & want_files & have_files)
    for file in changed:
        reasons.append(f"changed: {shown(file)} (its digest differs from the signed one)")
    return tuple(reasons)


def _root_digest(manifest: Any) -> str:
    import hashlib

    h = hashlib.sha256()
    for rd in manifest.resource_descriptors():
        h.update(rd.digest.digest_value)
    return h.hexdigest()


def _count(manifest: Any) -> int:
    return len({_file_of(str(rd.identifier)) for rd in manifest.resource_descriptors()})


def model_bytes(model: pathlib.Path, ignore: Iterable[pathlib.Path] = ()) -> int:
    """Total size of the regular files under `model` (for a progress bar's total)."""
    skip = {p.resolve() for p in ignore}
    if model.is_file():
        return _file_size(model)
    total = 0
    for root, _dirs, files in os.walk(model):
        for name in files:
            path = pathlib.Path(root, name)
            if path.resolve() not in skip:
                total += _file_size(path)
    return total


def _signer(key: pathlib.Path | None, certificate: pathlib.Path | None,
            chain: Sequence[pathlib.Path], password: str | None,
            sigstore: bool, identity_token: str | None, staging: bool) -> Any:
    try:
        if sigstore:
            from model_signing._signing import sign_sigstore

            return sign_sigstore.Signer(identity_token=identity_token, use_staging=staging)
        if key is None:
            raise SigningError("give a private key (--key), or --sigstore")
        if certificate is not None:
            from model_signing._signing import sign_certificate

            return sign_certificate.Signer(key, certificate, list(chain))
        from model_signing._signing import sign_ec_key

        return sign_ec_key.Signer(key, password)
    except SigningError:
        raise
    except (OSError, ValueError, TypeError) as exc:
        raise SigningError(_key_error(exc, key, certificate)) from None
    except Exception as exc:  # network, OIDC: Sigstore's errors have no common base
        if sigstore:
            raise SigningError(_sigstore_offline(exc)) from None
        raise SigningError(f"cannot set up signing: {exc}") from None


def _key_error(exc: Exception, key: pathlib.Path | None, cert: pathlib.Path | None) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"{exc.filename} does not exist"
    if isinstance(exc, TypeError) and "password" in str(exc).lower():
        return f"{key} is encrypted: pass its password (--password or $DOZOR_KEY_PASSWORD)"
    text = str(exc).split("\n")[0]
    if "curve" in text.lower() or "unsupported" in text.lower():
        return (f"{key}: {text}; model signatures use elliptic-curve keys (P-256, P-384 or "
                "P-521): openssl ecparam -name prime256v1 -genkey -noout -out key.pem")
    return f"cannot read the key{' or certificate' if cert else ''}: {text}"


def _sigstore_offline(exc: Exception) -> str:
    detail = str(exc).splitlines()[0][:160] if str(exc) else ""
    cause = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return (f"Sigstore signing failed ({cause}); it needs the network (an OIDC identity, "
            "Fulcio and Rekor) and a valid identity token; offline, sign with --key or "
            "--certificate instead")


def sign_model(
    model: str | os.PathLike[str],
    *,
    key: str | os.PathLike[str] | None = None,
    signature: str | os.PathLike[str] | None = None,
    certificate: str | os.PathLike[str] | None = None,
    chain: Sequence[str | os.PathLike[str]] = (),
    password: str | None = None,
    sigstore: bool = False,
    identity_token: str | None = None,
    staging: bool = False,
    hash_algorithm: str = "sha256",
    shard_size: int | None = None,
    ignore: Iterable[str] = (),
    allow_symlinks: bool = False,
    workers: int | None = None,
    progress: Progress | None = None,
) -> SignResult:
    """Sign a model file or folder; write the signature (default: beside the model).

    ``key`` is a PEM elliptic-curve private key; with ``certificate`` (its PEM
    certificate) and ``chain`` (intermediates then root) the signature carries the chain.
    ``sigstore=True`` signs keylessly through Sigstore's public services (network).
    ``shard_size`` hashes big files in parallel pieces; ``hash_algorithm`` is ``sha256``
    or ``blake3``. The signature file and git metadata are never part of the manifest.
    """
    model_path = pathlib.Path(model)
    if not model_path.exists():
        raise SigningError(f"{model_path} does not exist")
    sig_path = pathlib.Path(signature) if signature else default_signature_path(model_path)
    start = time.perf_counter()
    signer = _signer(pathlib.Path(key) if key else None,
                     pathlib.Path(certificate) if certificate else None,
                     [pathlib.Path(c) for c in chain], password, sigstore, identity_token,
                     staging)
    ignored = [model_path / p for p in ignore]
    if model_path.is_dir():
        ignored.append(sig_path)  # kept only if the signature is written inside the model
    rel_ignored = []
    for p in ignored:
        try:
            rel_ignored.append(pathlib.Path(p).resolve().relative_to(model_path.resolve()))
        except ValueError:
            continue
    config = hashing_config(hash_algorithm, shard_size=shard_size, ignore=rel_ignored,
                            allow_symlinks=allow_symlinks, workers=workers, progress=progress)
    from model_signing._signing import signing

    try:
        manifest = config.hash(model_path)
    except ValueError as exc:  # a symlink, a special file
        raise SigningError(f"cannot hash {model_path}: {exc}") from None
    except OSError as exc:
        raise SigningError(f"cannot read {exc.filename or model_path}: {exc.strerror}") from None
    try:
        sig = signer.sign(signing.Payload(manifest))
    except Exception as exc:
        if sigstore:
            raise SigningError(_sigstore_offline(exc)) from None
        raise SigningError(f"signing failed: {exc}") from None
    tmp = sig_path.with_name(f".{sig_path.name}.{os.getpid()}.tmp")
    try:
        sig.write(tmp)
        os.replace(tmp, sig_path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise SigningError(f"cannot write the signature {sig_path}: {exc.strerror}") from None
    files = _count(manifest)
    return SignResult(str(model_path), str(sig_path), files, model_bytes(model_path, [sig_path]),
                      hash_algorithm, _root_digest(manifest), time.perf_counter() - start)


@dataclass(frozen=True)
class Trust:
    """What a signature must chain to: a public key, a certificate chain or a Sigstore identity."""

    key: pathlib.Path | None = None
    chain: tuple[pathlib.Path, ...] = ()
    identity: str | None = None
    issuer: str | None = None
    staging: bool = False

    def __post_init__(self) -> None:
        if self.key is not None:
            object.__setattr__(self, "key", pathlib.Path(self.key))
        object.__setattr__(self, "chain", tuple(pathlib.Path(c) for c in self.chain))

    def describe(self) -> str:
        if self.key:
            return f"key {self.key}"
        if self.chain:
            return "certificate chain " + ", ".join(str(c) for c in self.chain)
        return f"Sigstore identity {self.identity}"


def expected_manifest(signature: str | os.PathLike[str], trust: Trust) -> tuple[Any, str]:
    """Check the signature's cryptography alone; return the signed manifest and the signer.

    Raises `SignatureInvalid` (with a one-line reason) when the signature is unreadable,
    made by another key, or chains to nothing trusted; `SigningError` when the trust
    material itself cannot be read.
    """
    sig_path = pathlib.Path(signature)
    if not sig_path.is_file():
        raise SignatureInvalid(f"no signature at {sig_path}: the model is unsigned "
                               "(sign it with dozor sign)")
    try:
        if trust.identity:
            from model_signing._signing import sign_sigstore

            verifier: Any = sign_sigstore.Verifier(identity=trust.identity,
                                                   oidc_issuer=trust.issuer or "",
                                                   use_staging=trust.staging)
            sig: Any = sign_sigstore.Signature.read(sig_path)
        elif trust.key:
            from model_signing._signing import sign_ec_key, sign_sigstore_pb

            verifier = sign_ec_key.Verifier(trust.key)
            sig = None
        elif trust.chain:
            from model_signing._signing import sign_certificate

            verifier = sign_certificate.Verifier(list(trust.chain))
            sig = None
        else:
            raise SigningError("give a public key (--key), a certificate chain "
                               "(--certificate-chain) or a Sigstore --identity to verify with")
    except SigningError:
        raise
    except (OSError, ValueError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise SigningError(f"{exc.filename} does not exist") from None
        if trust.key and _is_private_key(trust.key):
            raise SigningError(f"{trust.key} is a private key: verify with the public key "
                               f"(openssl ec -in {trust.key} -pubout -out signer.pub) and "
                               "keep the private key with the signer") from None
        raise SigningError(f"cannot read {trust.describe()}: {str(exc).splitlines()[0]}") \
            from None
    except Exception as exc:
        if not trust.identity:
            raise
        raise SigningError("Sigstore verification needs the network (Sigstore's trust root "
                           f"and log) and could not reach it ({type(exc).__name__}); offline, "
                           "verify a key or certificate signature (--key, "
                           "--certificate-chain)") from None
    if sig is None:
        from model_signing._signing import sign_sigstore_pb

        try:
            sig = sign_sigstore_pb.Signature.read(sig_path)
        except Exception:
            raise SignatureInvalid(f"{sig_path} is not a model signature (unreadable bundle)") \
                from None
    import contextlib
    import io

    try:
        # model_signing print()s a warning for old-style bundles: keep stdout clean (JSON)
        with contextlib.redirect_stdout(io.StringIO()):
            manifest = verifier.verify(sig)
    except Exception as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if type(exc).__name__ == "InvalidSignature" or not text:
            text = "the signature does not match its content"
        raise SignatureInvalid(f"signature {sig_path} does not verify with "
                               f"{trust.describe()}: {text}") from None
    return manifest, _signer_name(sig, trust)


def _is_private_key(path: pathlib.Path) -> bool:
    try:
        with open(path, "rb") as f:
            return b"PRIVATE KEY-----" in f.read(1 << 16)
    except OSError:
        return False


def _signer_name(sig: Any, trust: Trust) -> str:
    if trust.key:
        import hashlib

        from cryptography.hazmat.primitives import serialization

        try:
            pub = serialization.load_pem_public_key(trust.key.read_bytes())
            der = pub.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)
            return "key sha256:" + hashlib.sha256(der).hexdigest()[:16]
        except (OSError, ValueError):
            return str(trust.key)
    if trust.chain:
        try:
            from cryptography import x509

            raw = sig.bundle.verification_material.x509_certificate_chain.certificates[0]
            cert = x509.load_der_x509_certificate(raw.raw_bytes)
            return cert.subject.rfc4514_string()
        except Exception:
            return "certificate"
    return trust.identity or ""


class SignatureInvalid(Exception):
    """The signature itself does not verify (missing, corrupt, or another signer)."""


def verify_model(
    model: str | os.PathLike[str],
    trust: Trust,
    *,
    signature: str | os.PathLike[str] | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> Verification:
    """Verify a model against its signature; any changed, added or missing file fails.

    Returns a `Verification` (``ok`` False with reasons when the model does not match
    or the signature does not verify). Raises `SigningError` when verification cannot
    run at all (the model or the trust material is missing or unreadable).
    """
    model_path = pathlib.Path(model)
    if not model_path.exists():
        raise SigningError(f"{model_path} does not exist")
    sig_path = pathlib.Path(signature) if signature else default_signature_path(model_path)
    start = time.perf_counter()
    try:
        expected, signer = expected_manifest(sig_path, trust)
    except SignatureInvalid as exc:
        return Verification(False, str(model_path), str(sig_path), (str(exc),),
                            seconds=time.perf_counter() - start)
    reasons = check_files(model_path, expected, workers=workers, progress=progress,
                          signature=sig_path)
    files = _count(expected)
    return Verification(not reasons, str(model_path), str(sig_path), reasons, files,
                        model_bytes(model_path, [sig_path]),
                        str(expected.serialization_type.get("hash_type", "")), signer,
                        time.perf_counter() - start)


def check_files(model_path: pathlib.Path, expected: Any, *, workers: int | None = None,
                progress: Progress | None = None, signature: pathlib.Path | None = None,
                name: str = "") -> tuple[str, ...]:
    """Hash `model_path` the way the signer did and compare with the signed manifest."""
    config = _config_from_manifest(expected, model_path, progress, workers)
    if signature is not None and model_path.is_dir():
        try:  # the signature never signs itself, wherever it was written
            rel = signature.resolve().relative_to(model_path.resolve())
            config.add_ignored_paths(model_path=model_path, paths=[rel])
        except ValueError:
            pass
    try:
        actual = config.hash(model_path)
    except ValueError as exc:
        return (f"cannot hash the model: {str(exc).splitlines()[0]}",)
    except OSError as exc:
        return (f"cannot read {exc.filename or model_path}: {exc.strerror}",)
    return compare_manifests(expected, actual, name or model_path.name)


def signed_files(manifest: Any) -> list[str]:
    """The relative file names a signed manifest covers (shards folded into files)."""
    return sorted({_file_of(str(rd.identifier)) for rd in manifest.resource_descriptors()})
