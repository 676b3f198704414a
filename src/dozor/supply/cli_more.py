"""`dozor bom`, `attest`, `seal` and `unseal`: argument parsing only (see `dozor.supply`)."""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from dozor.cli_support import EXIT_CLEAN, EXIT_FINDINGS, fail, require


class BomFormat(StrEnum):
    cyclonedx = "cyclonedx"
    spdx = "spdx"


def _write(text: str, output: Path | None) -> None:
    """Write whole or not at all (temp file + rename), or print."""
    if output is None:
        sys.stdout.write(text + "\n")
        return
    if not output.resolve().parent.is_dir():
        raise fail(f"--output: folder {output.parent} does not exist")
    tmp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text + "\n", encoding="utf-8")
        os.replace(tmp, output)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise fail(f"cannot write {output}: {exc.strerror}") from None


def bom(
    model: Annotated[Path, typer.Argument(help="Model file or folder (read statically, "
                                          "never loaded).", show_default=False)],
    dataset: Annotated[list[Path] | None, typer.Option(
        "--dataset", "-d", help="A training or evaluation dataset (file or folder) to "
        "fingerprint and list as a data component (repeat).", show_default=False)] = None,
    requirements: Annotated[list[Path] | None, typer.Option(
        "--requirements", "-r", help="A requirements, pyproject or lock file whose pinned "
        "packages the model needs (repeat).", show_default=False)] = None,
    environment: Annotated[bool, typer.Option(
        "--environment/--no-environment", help="List the packages installed in this Python "
        "environment (what runs the model here).")] = True,
    advisory_db: Annotated[Path | None, typer.Option(
        "--advisory-db", help="An OSV export to look advisories up in instead of the "
        "bundled offline snapshot.", show_default=False)] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the BOM here (whole or not at all) instead of "
        "standard output.", dir_okay=False, show_default=False)] = None,
    fmt: Annotated[BomFormat, typer.Option(
        "--format", "-f", help="cyclonedx (CycloneDX 1.6 JSON, with advisories) or spdx "
        "(SPDX 3.0.1 JSON-LD with the AI and Dataset profiles).")] = BomFormat.cyclonedx,
) -> None:
    """An AI bill of materials: a CycloneDX 1.6 ML-BOM of a model, its data and packages.

    The model becomes a machine-learning-model component with a model card (task,
    architecture, datasets, metrics from config.json, the README front matter,
    safetensors and GGUF headers), its files with SHA-256 hashes; datasets become data
    components with fingerprints; Python packages come with their known advisories
    (offline). The document is validated against the CycloneDX 1.6 schema.

    [b]Examples[/b]

      dozor bom models/bert --dataset data/train.parquet -o bert.cdx.json

      dozor bom model.gguf --no-environment -r requirements.txt
    """
    require("cyclonedx", "supply")
    from dozor.supply.bom import BomError, build_bom

    try:
        if fmt is BomFormat.spdx:
            require("spdx_python_model", "supply")
            from dozor.supply.spdx import build_spdx

            doc = build_spdx(model, datasets=dataset or (), requirements=requirements or (),
                             environment=environment)
        else:
            doc = build_bom(model, datasets=dataset or (), requirements=requirements or (),
                            environment=environment,
                            advisory_db=str(advisory_db) if advisory_db else None)
    except BomError as exc:
        raise fail(str(exc)) from None
    _write(json.dumps(doc, indent=2), output)
    if output is not None and fmt is BomFormat.spdx:
        typer.echo(f"wrote {output}: SPDX 3.0.1, {len(doc['@graph'])} elements", err=True)
    elif output is not None:
        vulns = len(doc.get("vulnerabilities", []))
        typer.echo(f"wrote {output}: {len(doc.get('components', []))} components, "
                   f"{vulns} known advisories (CycloneDX 1.6, schema-valid)", err=True)
    raise typer.Exit(EXIT_CLEAN)


def attest(
    model: Annotated[Path, typer.Argument(help="The trained model (file or folder): the "
                                          "run's output.", show_default=False)],
    key: Annotated[Path, typer.Option("--key", "-k", help="PEM private key to sign with "
                                      "(the same elliptic-curve keys as dozor sign).",
                                      show_default=False)],
    dataset: Annotated[list[Path] | None, typer.Option(
        "--dataset", "-d", help="A dataset the run trained on (repeat); recorded by its "
        "fingerprint.", show_default=False)] = None,
    base_model: Annotated[Path | None, typer.Option(
        "--base-model", help="The model the run started from; recorded by its digest.",
        show_default=False)] = None,
    repo: Annotated[Path, typer.Option(
        "--repo", help="Git checkout of the training code; its commit is recorded.")]
    = Path("."),
    builder_id: Annotated[str, typer.Option(
        "--builder-id", help="URI naming who ran the training (e.g. a CI runner) "
        "[default: this host].", show_default=False)] = "",
    param: Annotated[list[str] | None, typer.Option(
        "--param", help="A training parameter to record, KEY=VALUE (repeat).",
        show_default=False)] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Where to write the signed attestation [default: "
        "MODEL.intoto.json beside the model].", dir_okay=False, show_default=False)] = None,
    password_env: Annotated[str | None, typer.Option(
        "--password-env", help="Environment variable holding the key's password.",
        show_default=False)] = None,
) -> None:
    """Sign the provenance of a training run: in-toto Statement v1, SLSA provenance v1.

    Inputs: the code's git commit, the datasets' fingerprints, the base model's digest;
    output: the model's file digests. Signed in a DSSE envelope; check it with
    dozor verify MODEL --key KEY.pub --attestation FILE.

    [b]Example[/b]

      dozor attest runs/42/model --key key.pem --dataset data/train --base-model base/
    """
    require("cryptography", "supply")
    from dozor.supply.attest import AttestationError
    from dozor.supply.attest import attest as make

    params: dict[str, str] = {}
    for item in param or []:
        k, sep, v = item.partition("=")
        if not sep or not k:
            raise fail(f"--param {item!r}: write KEY=VALUE")
        params[k] = v
    for path in [*(dataset or []), *([base_model] if base_model else [])]:
        if not path.exists():
            raise fail(f"{path} does not exist")
    password = os.environ.get(password_env) if password_env else None
    try:
        envelope = make(model, key, password=password, datasets=dataset or (),
                        base_model=base_model, repo=repo, builder_id=builder_id,
                        parameters=params)
    except AttestationError as exc:
        raise fail(str(exc)) from None
    dest = output or model.with_name(model.name + ".intoto.json")
    _write(json.dumps(envelope, indent=2), dest)
    typer.echo(f"attested {model} -> {dest}", err=True)
    raise typer.Exit(EXIT_CLEAN)


def seal(
    model: Annotated[Path, typer.Argument(help="Model file or folder to send.",
                                          show_default=False)],
    recipient: Annotated[str, typer.Option(
        "--recipient", "-r", help="The recipient's age public key (age1...) or a file "
        "holding it. Make one with: age-keygen -o me.key (or dozor's tests).",
        show_default=False)],
    key: Annotated[Path, typer.Option("--key", "-k", help="Your PEM private signing key "
                                      "(elliptic curve): the recipient checks it.",
                                      show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="The bundle to write.",
                                         dir_okay=False, show_default=False)],
) -> None:
    """Encrypt a model for one recipient (age) and sign the bundle (your key).

    [b]Example[/b]

      dozor seal models/bert --recipient age1q... --key me.pem -o bert.dozorseal
    """
    require("pyrage", "supply")
    from dozor.supply.seal import SealError, recipient_arg
    from dozor.supply.seal import seal as make

    try:
        result = make(model, recipient_arg(recipient), key, output)
    except SealError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"sealed {result.files} files ({result.bytes} bytes) for "
               f"{result.recipient[:16]}... -> {result.bundle}")
    raise typer.Exit(EXIT_CLEAN)


def unseal(
    bundle: Annotated[Path, typer.Argument(help="The sealed bundle.", show_default=False)],
    identity: Annotated[Path, typer.Option(
        "--identity", "-i", help="Your age identity file (AGE-SECRET-KEY-1...).",
        show_default=False)],
    key: Annotated[Path, typer.Option("--key", "-k", help="The sender's PEM public key: "
                                      "the bundle must be signed with it.",
                                      show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to create with the "
                                         "model (must not exist; written whole or not at "
                                         "all).", show_default=False)],
) -> None:
    """Check a sealed bundle's signature and recipient, then decrypt and extract it.

    Exit 0 opened, 1 refused (tampered, wrong sender, sealed for someone else),
    2 error. Nothing is written unless every check passes.
    """
    require("pyrage", "supply")
    from dozor.supply.seal import SealError, SealRefused
    from dozor.supply.seal import unseal as open_bundle

    if not bundle.is_file():
        raise fail(f"{bundle} does not exist")
    try:
        result = open_bundle(bundle, identity, key, output)
    except SealError as exc:
        if not isinstance(exc, SealRefused):
            raise fail(str(exc)) from None
        typer.echo(f"dozor: {exc}", err=True)
        raise typer.Exit(EXIT_FINDINGS) from None
    typer.echo(f"unsealed {result.files} files ({result.bytes} bytes) of {result.model} "
               f"into {result.output}; signed by key {result.signer[:16]}")
    raise typer.Exit(EXIT_CLEAN)


def register(app: typer.Typer) -> None:
    app.command("bom")(bom)
    app.command("attest")(attest)
    app.command("seal")(seal)
    app.command("unseal")(unseal)
