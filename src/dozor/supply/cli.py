"""`dozor sign`, `verify`, `bom`, `attest`, `seal` and `unseal`: argument parsing only.

The work is in `dozor.supply.signing`, `.bom`, `.attest` and `.seal`; heavy imports
happen inside the command functions so `dozor --help` stays fast.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from dozor.cli_support import EXIT_CLEAN, EXIT_FINDINGS, fail, require

PROGRESS_MIN_BYTES = 64 << 20
"""Below this a progress bar would only flicker."""


class Hash(StrEnum):
    sha256 = "sha256"
    blake3 = "blake3"


class OutFormat(StrEnum):
    console = "console"
    json = "json"


KeyOpt = Annotated[Path | None, typer.Option(
    "--key", "-k", help="PEM elliptic-curve key (P-256/384/521). sign: the PRIVATE key; "
    "verify: the signer's PUBLIC key. Make a pair with: openssl ecparam -name prime256v1 "
    "-genkey -noout -out key.pem && openssl ec -in key.pem -pubout -out key.pub",
    show_default=False)]
SignatureOpt = Annotated[Path | None, typer.Option(
    "--signature", "-s", help="Signature file [default: MODEL/model.sig for a folder, "
    "MODEL.sig beside a single file].", show_default=False)]
ChainOpt = Annotated[list[Path] | None, typer.Option(
    "--certificate-chain", help="PEM certificates. sign: intermediates then root, embedded "
    "in the signature; verify: the trusted CA certificates (repeat the option).",
    show_default=False)]


@contextlib.contextmanager
def _progress(total: int, label: str, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr for `total` bytes; a no-op when small or not a tty."""
    if not enabled or total < PROGRESS_MIN_BYTES or not sys.stderr.isatty():
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    with Progress(TextColumn(label), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  TimeRemainingColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _size_arg(text: str | None) -> int | None:
    if not text:
        return None
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    t = text.strip().lower().removesuffix("ib").removesuffix("b")
    try:
        if t and t[-1] in units:
            return int(float(t[:-1]) * units[t[-1]])
        return int(t)
    except ValueError:
        raise fail(f"--shard-size: {text!r} is not a size (e.g. 256M, 1G)") from None


def sign(
    model: Annotated[Path, typer.Argument(help="Model file or folder to sign.",
                                          show_default=False)],
    key: KeyOpt = None,
    signature: SignatureOpt = None,
    certificate: Annotated[Path | None, typer.Option(
        "--certificate", help="PEM signing certificate of --key (certificate mode: verifiers "
        "then trust a CA, not one key). Needs the digitalSignature key usage.",
        show_default=False)] = None,
    chain: ChainOpt = None,
    sigstore: Annotated[bool, typer.Option(
        "--sigstore", help="Keyless signing through Sigstore's public services (an OIDC "
        "login, Fulcio, Rekor). Needs the network: offline, use --key or --certificate.")]
    = False,
    identity_token: Annotated[str | None, typer.Option(
        "--identity-token", help="With --sigstore: an OIDC token to sign as, instead of "
        "the browser flow (e.g. a CI workload identity).", show_default=False)] = None,
    staging: Annotated[bool, typer.Option(
        "--staging", help="With --sigstore: use Sigstore's staging instance (testing).")]
    = False,
    hash_algorithm: Annotated[Hash, typer.Option(
        "--hash", help="Digest of each file: sha256 (the default everywhere) or blake3 "
        "(multi-threaded, several times faster on big files; model_signing verifies both).")]
    = Hash.sha256,
    shard_size: Annotated[str | None, typer.Option(
        "--shard-size", help="Hash big files in pieces of this size in parallel (e.g. 512M)"
        ": faster for one huge file with sha256; the signature lists every piece.",
        show_default=False)] = None,
    ignore: Annotated[list[str] | None, typer.Option(
        "--ignore", help="Path inside the model folder to leave out of the signature "
        "(repeat). Git metadata and the signature itself are always left out.",
        show_default=False)] = None,
    password_env: Annotated[str | None, typer.Option(
        "--password-env", help="Name of an environment variable holding the private key's "
        "password (never pass a password on the command line).", show_default=False)] = None,
    scan_first: Annotated[bool, typer.Option(
        "--scan", help="Scan the model first (dozor scan) and refuse to sign it (exit 1) "
        "when a finding reaches the policy's fail_on: sign only what was scanned.")] = False,
    progress: Annotated[bool, typer.Option(
        "--progress/--no-progress", help="Progress bar for big models (only on a terminal).")]
    = True,
) -> None:
    """Sign a model (file or folder) in the OpenSSF model-signing format.

    The signature lists a digest for every file; `dozor verify` (or the `model_signing`
    command) then rejects any changed, added or missing file.

    [b]Examples[/b]

      dozor sign models/bert --key signing-key.pem

      dozor sign model.safetensors --key leaf.key --certificate leaf.pem
    --certificate-chain intermediate.pem --certificate-chain root.pem

      dozor sign big-model/ --key key.pem --hash blake3
    """
    require("model_signing", "supply")
    from dozor.supply.signing import SigningError, model_bytes, sign_model

    if not model.exists():
        raise fail(f"{model} does not exist")
    if not sigstore and key is None:
        raise fail("give the private key to sign with (--key KEY.pem), or --sigstore")
    password = os.environ.get(password_env) if password_env else \
        os.environ.get("DOZOR_KEY_PASSWORD")
    if scan_first:
        _refuse_findings(model)
    try:
        with _progress(model_bytes(model), "signing", progress) as advance:
            result = sign_model(model, key=key, signature=signature, certificate=certificate,
                                chain=chain or (), password=password, sigstore=sigstore,
                                identity_token=identity_token, staging=staging,
                                hash_algorithm=hash_algorithm.value,
                                shard_size=_size_arg(shard_size), ignore=ignore or (),
                                progress=advance)
    except SigningError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"signed {result.model}: {result.files} files, {_human(result.bytes)}, "
               f"{result.hash_algorithm}, in {result.seconds:.2f}s -> {result.signature}")
    raise typer.Exit(EXIT_CLEAN)


def _refuse_findings(model: Path) -> None:
    """Stop with exit 1 when the model has findings at or above the policy's fail_on."""
    from dozor.policy import PolicyError, load_policy
    from dozor.scan import scan_report

    try:
        policy = load_policy(None)
    except PolicyError as exc:
        raise fail(str(exc)) from None
    report = scan_report(model, policy=policy)
    bad = report.at_least(policy.fail_on)
    if report.errors or bad:
        typer.echo(f"not signed: {model} has {len(bad)} finding(s) at or above "
                   f"{policy.fail_on}:", err=True)
        for f in bad[:10]:
            typer.echo(f"  {f.severity} {f.rule_id} {f.title} at {f.location}", err=True)
        for err in report.errors[:5]:
            typer.echo(f"  {err}", err=True)
        raise typer.Exit(EXIT_FINDINGS)


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def verify(
    model: Annotated[Path, typer.Argument(help="Model file or folder to verify.",
                                          show_default=False)],
    key: KeyOpt = None,
    signature: SignatureOpt = None,
    chain: ChainOpt = None,
    identity: Annotated[str | None, typer.Option(
        "--identity", help="Sigstore mode: the identity (e-mail or workload URI) that must "
        "have signed. Needs the network to check Sigstore's log.", show_default=False)]
    = None,
    issuer: Annotated[str | None, typer.Option(
        "--issuer", help="Sigstore mode: the OIDC issuer of --identity.", show_default=False)]
    = None,
    attestation: Annotated[Path | None, typer.Option(
        "--attestation", help="Also check this provenance attestation (from dozor attest): "
        "its signature with --key and that its output digest is this model's.",
        show_default=False)] = None,
    fmt: Annotated[OutFormat, typer.Option("--format", "-f", help="Output format.")]
    = OutFormat.console,
    progress: Annotated[bool, typer.Option(
        "--progress/--no-progress", help="Progress bar for big models (only on a terminal).")]
    = True,
) -> None:
    """Verify a model against its signature: exit 0 verified, 1 not verified, 2 error.

    Fails closed: a changed byte, an added or a missing file, a signature made for
    another model or by another key all fail, each reason on its own line.

    [b]Examples[/b]

      dozor verify models/bert --key signing-key.pub

      dozor verify model.safetensors --certificate-chain root.pem

      dozor verify models/bert --key signing-key.pub --attestation bert.intoto.json
    """
    require("model_signing", "supply")
    from dozor.supply.signing import SigningError, Trust, model_bytes, verify_model

    if not model.exists():
        raise fail(f"{model} does not exist")
    if key is None and not chain and not identity:
        raise fail("give what to trust: the signer's public key (--key KEY.pub), the CA "
                   "certificates (--certificate-chain) or a Sigstore --identity")
    trust = Trust(key=key, chain=tuple(chain or ()), identity=identity, issuer=issuer)
    try:
        with _progress(model_bytes(model), "verifying", progress) as advance:
            result = verify_model(model, trust, signature=signature, progress=advance)
    except SigningError as exc:
        raise fail(str(exc)) from None
    reasons = list(result.reasons)
    if attestation is not None:
        from dozor.supply.attest import AttestationError, verify_attestation

        if key is None:
            raise fail("--attestation needs the signer's public key (--key)")
        try:
            reasons += verify_attestation(attestation, key, model=model).problems
        except AttestationError as exc:
            raise fail(str(exc)) from None
    ok = result.ok and not reasons
    if fmt is OutFormat.json:
        typer.echo(json.dumps({"verified": ok, "model": result.model,
                               "signature": result.signature, "signer": result.signer,
                               "files": result.files, "bytes": result.bytes,
                               "hash": result.hash_algorithm, "reasons": reasons,
                               "seconds": round(result.seconds, 3)}, indent=2))
    elif ok:
        typer.echo(f"verified {result.model}: {result.files} files, {_human(result.bytes)}, "
                   f"signed by {result.signer}"
                   + (", provenance attestation matches" if attestation else ""))
    else:
        typer.echo(f"NOT verified {result.model}:", err=True)
        for reason in reasons:
            typer.echo(f"  {reason}", err=True)
    raise typer.Exit(EXIT_CLEAN if ok else EXIT_FINDINGS)


def register(app: typer.Typer) -> None:
    app.command("sign")(sign)
    app.command("verify")(verify)
    from dozor.supply import cli_more

    cli_more.register(app)
