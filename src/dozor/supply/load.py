"""Verify, then scan, then load: `dozor.load` and a guard around `torch.load`.

A model that was signed and scanned is only safe if the bytes the loader reads are the
bytes that were verified and scanned. Verifying ``model.pt`` and then calling
``torch.load("model.pt")`` leaves a window in which the file can be swapped (a time-of-
check to time-of-use race), so `load` never hands the loader the original path:

1. the signature is checked alone (its cryptography and the signer), giving the signed
   manifest of digests, before any model byte is read;
2. the model is copied into a fresh private folder (``mkdtemp``: mode 0700, owned by us;
   symbolic links and special files are refused, never followed);
3. the *copy* is hashed and compared with the signed manifest, and the *copy* is scanned
   with dozor's static scanners;
4. only then is the loader called, on the copy, which is deleted afterwards.

Every byte the loader can read was therefore hashed and scanned after it was copied to
a place nobody else can write. The cost is one extra read and write of the model
(at disk speed; `dozor sign`'s benchmark gives the hashing cost).
"""

from __future__ import annotations

import contextlib
import io
import os
import pathlib
import stat
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from dozor.findings import Finding, Severity

if TYPE_CHECKING:
    from dozor.policy import Policy
    from dozor.supply.signing import Trust


class ModelRefused(Exception):
    """dozor refused to load a model; ``reasons`` says why, one line each."""

    def __init__(self, path: str, reasons: Sequence[str],
                 findings: Sequence[Finding] = ()) -> None:
        self.path = path
        self.reasons = tuple(reasons)
        self.findings = tuple(findings)
        super().__init__(f"refused to load {path}: " + "; ".join(self.reasons))


def _trust(key: Any, trust: Trust | None, chain: Sequence[Any]) -> Trust | None:
    from dozor.supply.signing import Trust

    if trust is not None:
        return trust
    if key is not None:
        return Trust(key=pathlib.Path(key))
    if chain:
        return Trust(chain=tuple(pathlib.Path(c) for c in chain))
    return None


def _find_signature(path: pathlib.Path, signature: Any) -> pathlib.Path:
    """The given signature, else ``X.sig`` beside a file, else the signed folder's."""
    from dozor.supply.signing import SIGNATURE_NAME, default_signature_path

    if signature is not None:
        return pathlib.Path(signature)
    own = default_signature_path(path)
    if own.is_file() or path.is_dir():
        return own
    for parent in path.resolve().parents:  # a file inside a signed folder
        if (parent / SIGNATURE_NAME).is_file():
            return parent / SIGNATURE_NAME
    return own


def _signed_root(path: pathlib.Path, sig: pathlib.Path, expected: Any) -> pathlib.Path:
    """What the signature covers: `path` itself, or the folder of `sig` that holds it."""
    from dozor.supply.signing import signed_files

    if path.is_dir() or signed_files(expected) == ["."]:
        return path  # a folder, or a single-file signature (its one entry is ".")
    folder = sig.resolve().parent
    try:
        path.resolve().relative_to(folder)
    except ValueError:
        raise ModelRefused(str(path), [f"the signature {sig} signs a folder that does not "
                                       "contain this file"]) from None
    return folder


def _copy_private(src: pathlib.Path, dest: pathlib.Path) -> None:
    """Copy a regular file, refusing anything else (links, devices, FIFOs).

    The type is checked on the opened descriptor (``O_NOFOLLOW | O_NONBLOCK``, then
    ``fstat``), so a file swapped for a link or a FIFO after listing cannot redirect or
    block the copy, and only the size seen at open time is copied: a file that keeps
    growing cannot fill the disk. Whatever was copied is then hashed against the
    signature, so a swap can only make verification fail.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(src, flags)
    except OSError as exc:
        raise ModelRefused(str(src), [f"cannot open {src}: {exc.strerror} (links and special "
                                      "files are refused)"]) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ModelRefused(str(src), [f"{src} is not a regular file (links and special "
                                          "files are refused)"])
        left = st.st_size
        with open(dest, "xb") as fout:
            while left > 0:
                chunk = os.read(fd, min(8 << 20, left))
                if not chunk:
                    break
                fout.write(chunk)
                left -= len(chunk)
    finally:
        os.close(fd)


def _snapshot(path: pathlib.Path, into: pathlib.Path) -> pathlib.Path:
    """Copy `path` (a file or a folder) under `into`; return the copy's path."""
    target = into / (path.name or "model")
    if not path.is_dir() or path.is_symlink():
        _copy_private(path, target)
        return target
    target.mkdir()
    for root, dirs, files in os.walk(path, followlinks=False):
        rel = pathlib.Path(root).relative_to(path)
        for d in dirs:
            if os.path.islink(os.path.join(root, d)):
                raise ModelRefused(str(path), [f"{rel / d} is a symbolic link (refused)"])
            (target / rel / d).mkdir()
        for name in files:
            _copy_private(pathlib.Path(root, name), target / rel / name)
    return target


def _check_member(copy: pathlib.Path, expected: Any, rel: str) -> tuple[str, ...]:
    """Compare one copied file with its entry in a folder's signed manifest."""
    from dozor.supply.signing import _config_from_manifest, _digests, _file_of

    want = {k: v for k, v in _digests(expected).items() if _file_of(k) == rel}
    if not want:
        return (f"added: {rel} (not in the signature)",)
    config = _config_from_manifest(expected, copy, None, None)
    try:
        have = _digests(config.hash(copy))
    except (OSError, ValueError) as exc:
        return (f"cannot hash {rel}: {exc}",)
    have = {rel + k[1:] if k.startswith(".") else k: v for k, v in have.items()}
    return () if have == want else (f"changed: {rel} (its digest differs from the signed one)",)


def verify_scan(
    path: str | os.PathLike[str],
    workdir: pathlib.Path,
    *,
    key: str | os.PathLike[str] | None = None,
    chain: Sequence[str | os.PathLike[str]] = (),
    trust: Trust | None = None,
    signature: str | os.PathLike[str] | None = None,
    policy: Policy | str | os.PathLike[str] | None = None,
    require_signature: bool = True,
) -> pathlib.Path:
    """Steps 1-3 of the module docstring; return the verified, scanned private copy.

    Raises `ModelRefused` for an unsigned, tampered or malicious model.
    """
    from dozor.supply.signing import SignatureInvalid, check_files, expected_manifest

    model = pathlib.Path(path)
    if not model.exists():
        raise FileNotFoundError(f"{model} does not exist")
    trusted = _trust(key, trust, chain)
    expected = None
    sig_path = _find_signature(model, signature)
    root = model
    if require_signature:
        if trusted is None:
            raise ModelRefused(str(model), ["no key, certificate chain or identity to verify "
                                            "the signature with (or pass "
                                            "require_signature=False)"])
        try:
            expected, _signer = expected_manifest(sig_path, trusted)
        except SignatureInvalid as exc:
            raise ModelRefused(str(model), [str(exc)]) from None
        root = _signed_root(model, sig_path, expected)
    copy = _snapshot(model, workdir)
    if expected is not None:
        if root.resolve() != model.resolve():
            rel = model.resolve().relative_to(root.resolve()).as_posix()
            reasons = _check_member(copy, expected, rel)
        else:
            reasons = check_files(copy, expected, name=model.name)
            reasons = tuple(r for r in reasons if not r.startswith(f"added: {sig_path.name} "))
        if reasons:
            raise ModelRefused(str(model), reasons)
    findings = _scan(copy, model, policy)
    if findings:
        shown = [f"{f.severity} {f.rule_id} {f.title} at {f.location}" for f in findings[:5]]
        more = [f"and {len(findings) - 5} more findings"] if len(findings) > 5 else []
        raise ModelRefused(str(model), shown + more, findings)
    return copy


def _policy(policy: Policy | str | os.PathLike[str] | None) -> Policy:
    """A Policy as given, read from a policy file path, or the defaults (never the cwd's
    .dozor.yaml implicitly: a library call should not change with the working folder)."""
    from dozor.policy import Policy, PolicyError, load_policy

    if policy is None:
        return Policy()
    if isinstance(policy, Policy):
        return policy
    try:
        return load_policy(os.fspath(policy))
    except PolicyError as exc:
        raise ValueError(str(exc)) from None


def _scan(copy: pathlib.Path, original: pathlib.Path,
          policy: Policy | str | os.PathLike[str] | None) -> list[Finding]:
    """Scan the copy; findings at or above the policy's threshold, located at the original."""
    from dozor.scan.engine import scan_paths

    policy = _policy(policy)
    report = scan_paths([copy], limits=policy.limits, workers=1)
    prefix, dest = str(copy), str(original)
    report.findings = [
        replace(f, location=replace(f.location, path=dest + f.location.path[len(prefix):]))
        if f.location.path.startswith(prefix) else f
        for f in report.findings
    ]
    policy.apply(report)
    problems = report.at_least(policy.fail_on)
    for err in report.errors:
        # a file the scanner could not read cannot be vouched for: refuse it too
        problems.append(Finding("scan-error", err, Severity.HIGH, _location(dest)))
    return problems


def _location(path: str) -> Any:
    from dozor.findings import Location

    return Location(path)


def _default_loader(path: pathlib.Path) -> Any:
    try:
        import torch
    except ImportError:
        raise RuntimeError("dozor.load without a loader uses torch.load, and torch is not "
                           "installed: pass loader=...") from None
    return torch.load(path, map_location="cpu", weights_only=True)


def load(
    path: str | os.PathLike[str],
    loader: Callable[[pathlib.Path], Any] | None = None,
    *,
    key: str | os.PathLike[str] | None = None,
    chain: Sequence[str | os.PathLike[str]] = (),
    trust: Trust | None = None,
    signature: str | os.PathLike[str] | None = None,
    policy: Policy | str | os.PathLike[str] | None = None,
    require_signature: bool = True,
) -> Any:
    """Verify the signature, scan, then call ``loader`` on a private verified copy.

    ``loader`` gets the path of the copy (a file, or a folder for a folder model) and
    its result is returned; the copy is deleted when it returns. Default:
    ``torch.load(copy, map_location="cpu", weights_only=True)``. ``key`` is the signer's
    PEM public key (or ``chain``: the PEM CA certificates; or a `Trust`). The signature
    is ``MODEL.sig`` beside a file, ``model.sig`` in a folder, or the ``model.sig`` of a
    signed folder the file is in. ``policy`` (a `dozor.policy.Policy` or the path of a
    policy file) sets the severity that refuses (default: medium) and suppressions.

    Raises `ModelRefused` (reasons in ``.reasons``, scanner findings in ``.findings``)
    for an unsigned, tampered or malicious model; the loader is then never called.
    How the race between checking and loading is closed: see the module docstring.
    """
    with tempfile.TemporaryDirectory(prefix="dozor-load-") as tmp:
        copy = verify_scan(path, pathlib.Path(tmp), key=key, chain=chain, trust=trust,
                           signature=signature, policy=policy,
                           require_signature=require_signature)
        return (loader or _default_loader)(copy)


@contextlib.contextmanager
def guard_torch_load(
    *,
    key: str | os.PathLike[str] | None = None,
    chain: Sequence[str | os.PathLike[str]] = (),
    trust: Trust | None = None,
    policy: Policy | str | os.PathLike[str] | None = None,
    require_signature: bool = True,
) -> Iterator[None]:
    """Inside this block, ``torch.load`` verifies, scans and loads a private copy.

    ``torch.load(path, ...)`` goes through `load` (same arguments as ``torch.load``
    otherwise). A file object has no signature beside it: it is refused when a
    signature is required, else its bytes are read once into memory, scanned, and
    loaded from that memory. Nested or concurrent use in threads is not supported.
    """
    import torch

    original = torch.load

    def guarded(f: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(f, (str, os.PathLike)):
            return load(f, lambda copy: original(copy, *args, **kwargs), key=key,
                        chain=chain, trust=trust, policy=policy,
                        require_signature=require_signature)
        if require_signature:
            raise ModelRefused(repr(f), ["a file object has no signature to verify: pass "
                                         "the path of a signed model"])
        data = f.read()
        with tempfile.TemporaryDirectory(prefix="dozor-load-") as tmp:
            p = pathlib.Path(tmp, "stream")
            p.write_bytes(data)
            findings = _scan(p, pathlib.Path("<stream>"), policy)
            if findings:
                raise ModelRefused("<stream>", [f"{x.severity} {x.rule_id} {x.title}"
                                                for x in findings[:5]], findings)
        return original(io.BytesIO(data), *args, **kwargs)

    torch.load = guarded
    try:
        yield
    finally:
        torch.load = original


def install_torch_guard(**options: Any) -> Callable[[], None]:
    """Guard ``torch.load`` for the whole process (see `guard_torch_load`); return undo."""
    cm = guard_torch_load(**options)
    cm.__enter__()

    def undo() -> None:
        cm.__exit__(None, None, None)

    return undo


__all__ = ["ModelRefused", "guard_torch_load", "install_torch_guard", "load", "verify_scan"]
