"""An AI bill of materials: a CycloneDX 1.6 ML-BOM for a model, its data and its code.

The document has

* the model as a ``machine-learning-model`` component (the BOM's subject) with its
  files as nested ``file`` components (SHA-256 each) and a ``modelCard`` (task,
  architecture, family, datasets, metrics) read statically by `dozor.supply.card`;
* each dataset as a ``data`` component with its fingerprint (`dozor.data` when
  installed, else SHA-256 per file and a folder digest) and datasets the model card
  names but that were not given as files, without a hash;
* base models the card names, as ``machine-learning-model`` components it depends on;
* Python dependencies (the running environment and/or requirement files) as
  ``library`` components with package URLs, and their known advisories from dozor's
  offline database (`dozor.scan.deps`) as ``vulnerabilities``.

Built with cyclonedx-python-lib (the reference library: serial numbers, package URLs,
the dependency graph, vulnerabilities and its JSON writer). That library does not
model ``modelCard`` or a component's ``data`` yet (CycloneDX 1.5 fields it leaves as a
TODO), so those two are added to its JSON output, and the result is checked against
the CycloneDX 1.6 JSON schema the library ships before it is returned.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dozor.supply.card import ModelCard, read_model_card
from dozor.supply.digests import Fingerprint, fingerprint_dataset, fingerprint_tree

SEVERITIES = ("none", "info", "low", "medium", "high", "critical")


class BomError(Exception):
    """The BOM could not be made or is not valid CycloneDX 1.6; the message says why."""


@dataclass(frozen=True)
class PythonPackage:
    name: str
    version: str
    source: str
    """``environment`` or the requirement file it came from."""


def environment_packages() -> list[PythonPackage]:
    """Every distribution installed in the running Python environment."""
    from dozor.findings import Location
    from dozor.scan.deps.environment import installed_dependencies

    return [PythonPackage(d.name, d.version, "environment")
            for d in installed_dependencies(Location("<environment>")) if d.version]


def requirement_packages(path: pathlib.Path) -> list[PythonPackage]:
    """Pinned dependencies of a requirements, pyproject or lock file (unpinned are skipped)."""
    from dozor.findings import Location
    from dozor.scan.deps.scan import parse_dependency_file

    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise BomError(f"cannot read {path}: {exc.strerror}") from None
    deps, _problems = parse_dependency_file(path.name, text, Location(str(path)), str(path))
    return [PythonPackage(d.name, d.version, path.name) for d in deps if d.version]


def _hash(alg: str, value: str) -> Any:
    from cyclonedx.model import HashAlgorithm, HashType

    return HashType(alg=HashAlgorithm.SHA_256 if alg == "sha256" else HashAlgorithm.BLAKE3,
                    content=value)


def _props(items: dict[str, str]) -> list[Any]:
    from cyclonedx.model import Property

    return [Property(name=k, value=v) for k, v in items.items() if v]


def _license(text: str) -> list[Any]:
    from cyclonedx import spdx
    from cyclonedx.model.license import DisjunctiveLicense

    if not text:
        return []
    spdx_id = spdx.fixup_id(text)  # model cards write ids in lower case: apache-2.0
    return [DisjunctiveLicense(id=spdx_id) if spdx_id else DisjunctiveLicense(name=text)]


def _ref(kind: str, name: str) -> str:
    safe = "".join(c if c.isalnum() or c in "._-/@" else "-" for c in name)
    return f"{kind}:{safe}"


def build_bom(
    model: pathlib.Path,
    *,
    datasets: Sequence[pathlib.Path] = (),
    requirements: Sequence[pathlib.Path] = (),
    environment: bool = True,
    advisory_db: str | None = None,
) -> dict[str, Any]:
    """The CycloneDX 1.6 ML-BOM of `model` as a JSON document (a dict), validated."""
    from cyclonedx.model import ExternalReference, ExternalReferenceType, XsUri
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.output.json import JsonV1Dot6
    from packageurl import PackageURL

    if not model.exists():
        raise BomError(f"{model} does not exist")
    card = read_model_card(model)
    model_fp = fingerprint_tree(model)
    bom = Bom()
    from dozor import __version__

    bom.metadata.tools.components.add(Component(type=ComponentType.APPLICATION, name="dozor",
                                                version=__version__))
    model_ref = _ref("model", model.name)
    files = [Component(type=ComponentType.FILE, name=f.name, bom_ref=_ref("file", f.name),
                       hashes=[_hash("sha256", f.sha256)],
                       properties=_props({"dozor:size": str(f.size)}))
             for f in model_fp.files]
    props = {f"dozor:{k}": v for k, v in card.properties.items()}
    props.update({"dozor:format": ",".join(card.formats),
                  "dozor:parameters": str(card.parameters) if card.parameters else "",
                  "dozor:digest-sha256": model_fp.digest,
                  "dozor:card-sources": ",".join(card.sources)})
    model_comp = Component(
        type=ComponentType.MACHINE_LEARNING_MODEL, name=card.name or model.name,
        bom_ref=model_ref, description=card.description or None,
        hashes=[_hash("sha256", model_fp.digest)] if model.is_file() else [],
        licenses=_license(card.license), properties=_props(props), components=files)
    bom.metadata.component = model_comp

    data_comps: list[tuple[Component, dict[str, Any]]] = []
    for i, path in enumerate(datasets):
        if not path.exists():
            raise BomError(f"dataset {path} does not exist")
        fp = fingerprint_dataset(path)
        same = [p for p in datasets[:i] if p.name == path.name]
        data_comps.append(_data_component(fp, path, f"-{len(same) + 1}" if same else ""))
    given = {c.name for c, _ in data_comps}
    for name in card.datasets:
        if name not in given:
            comp = Component(type=ComponentType.DATA, name=name, bom_ref=_ref("data", name),
                             properties=_props({"dozor:source": "model card (not hashed)"}),
                             external_references=[ExternalReference(
                                 type=ExternalReferenceType.DISTRIBUTION,
                                 url=XsUri(f"https://huggingface.co/datasets/{name}"))]
                             if "/" in name else [])
            data_comps.append((comp, {"type": "dataset", "name": name}))
    for comp, _ in data_comps:
        bom.components.add(comp)

    base_comps = [Component(type=ComponentType.MACHINE_LEARNING_MODEL, name=b,
                            bom_ref=_ref("base-model", b),
                            properties=_props({"dozor:source": "model card base_model"}))
                  for b in card.base_models]
    for comp in base_comps:
        bom.components.add(comp)

    packages: dict[tuple[str, str], PythonPackage] = {}
    for pkg in (environment_packages() if environment else []):
        packages[(pkg.name.lower(), pkg.version)] = pkg
    for req in requirements:
        for pkg in requirement_packages(req):
            packages.setdefault((pkg.name.lower(), pkg.version), pkg)
    libs: list[Component] = []
    for (_, version), pkg in sorted(packages.items()):
        purl = PackageURL(type="pypi", name=pkg.name.lower(), version=version)
        libs.append(Component(type=ComponentType.LIBRARY, name=pkg.name, version=version,
                              purl=purl, bom_ref=str(purl),
                              properties=_props({"dozor:source": pkg.source})))
    for lib in libs:
        bom.components.add(lib)
    _add_vulnerabilities(bom, libs, advisory_db)
    bom.register_dependency(model_comp, [*base_comps, *libs])

    doc = json.loads(JsonV1Dot6(bom).output_as_string())
    _add_ml_fields(doc, card, data_comps, model_ref)
    validate(doc)
    return doc


def _data_component(fp: Fingerprint, path: pathlib.Path,
                    suffix: str = "") -> tuple[Any, dict[str, Any]]:
    from cyclonedx.model.component import Component, ComponentType

    ref = _ref("data", fp.name) + suffix  # two datasets may share a folder name
    comp = Component(type=ComponentType.DATA, name=fp.name, bom_ref=ref,
                     hashes=[_hash("sha256", fp.digest)],
                     properties=_props({"dozor:fingerprint": fp.source,
                                        "dozor:files": str(len(fp.files)),
                                        "dozor:bytes": str(fp.size),
                                        "dozor:rows": str(fp.rows) if fp.rows else "",
                                        "dozor:data-manifest-sha256": fp.manifest_sha256}),
                     components=[Component(type=ComponentType.FILE, name=f.name,
                                           bom_ref=f"{ref}/{f.name}",
                                           hashes=[_hash("sha256", f.sha256)])
                                 for f in fp.files[:10_000]] if len(fp.files) > 1 else [])
    rows = f", {fp.rows} rows" if fp.rows else ""
    data: dict[str, Any] = {
        "type": "dataset", "name": fp.name, "contents": {"url": path.resolve().as_uri()},
        "description": f"{len(fp.files)} files, {fp.size} bytes{rows}; fingerprint "
                       f"sha256:{fp.digest} ({fp.source})"}
    if fp.sensitive:
        data["sensitiveData"] = [f"personal data found: {e}" for e in fp.sensitive]
    return comp, data


def _add_vulnerabilities(bom: Any, libs: list[Any], advisory_db: str | None) -> None:
    from cyclonedx.model.vulnerability import (
        BomTarget,
        Vulnerability,
        VulnerabilityRating,
        VulnerabilitySeverity,
        VulnerabilitySource,
    )

    from dozor.scan.deps.database import AdvisorySourceError, load_database

    try:
        db = load_database(advisory_db)
    except AdvisorySourceError as exc:
        raise BomError(str(exc)) from None
    source = VulnerabilitySource(name="dozor offline advisory database (PyPA, OSV)")
    for lib in libs:
        pkg = db.package(lib.name)
        if pkg is None:
            continue
        for match in pkg.affecting(lib.version):
            adv = match.advisory
            sev = adv.severity if adv.severity in SEVERITIES else "unknown"
            vuln = Vulnerability(
                bom_ref=f"{adv.id}@{lib.bom_ref.value}", id=adv.label, source=source,
                description=adv.summary or None,
                ratings=[VulnerabilityRating(severity=VulnerabilitySeverity(sev))],
                recommendation=(f"upgrade {lib.name} to {match.fixed} or later"
                                if match.fixed else "no fixed release is known"),
                affects=[BomTarget(ref=lib.bom_ref.value)])
            bom.vulnerabilities.add(vuln)


def _add_ml_fields(doc: dict[str, Any], card: ModelCard,
                   data_comps: list[tuple[Any, dict[str, Any]]], model_ref: str) -> None:
    """Add ``modelCard`` to the model and ``data`` to data components (see module doc)."""
    params: dict[str, Any] = {}
    if card.task:
        params["task"] = card.task
    if card.family:
        params["architectureFamily"] = card.family
    if card.architecture:
        params["modelArchitecture"] = card.architecture
    if data_comps:
        params["datasets"] = [{"ref": comp.bom_ref.value} for comp, _ in data_comps]
    model_card: dict[str, Any] = {"bom-ref": f"{model_ref}#card"}
    if params:
        model_card["modelParameters"] = params
    if card.metrics:
        model_card["quantitativeAnalysis"] = {"performanceMetrics": [
            {"type": m.type, "value": m.value, **({"slice": m.slice} if m.slice else {})}
            for m in card.metrics]}
    props = [{"name": "dozor:languages", "value": ",".join(card.languages)}] \
        if card.languages else []
    if props:
        model_card["properties"] = props
    doc["metadata"]["component"]["modelCard"] = model_card
    by_ref = {c.bom_ref.value: data for c, data in data_comps}
    for comp in doc.get("components", []):
        data = by_ref.get(comp.get("bom-ref"))
        if data is not None:
            comp["data"] = [data]


def validate(doc: dict[str, Any]) -> None:
    """Raise BomError unless `doc` is valid CycloneDX 1.6 JSON (strict schema)."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(doc))
    if error is not None:
        raise BomError(f"the BOM is not valid CycloneDX 1.6: {str(error)[:300]}")
