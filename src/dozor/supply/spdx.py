"""The AI bill of materials as SPDX 3.0.1 (JSON-LD, AI and Dataset profiles).

The same facts as the CycloneDX ML-BOM (`dozor.supply.bom`), in the other standard
regulators and Linux distributions use: the model is an ``ai_AIPackage`` (model type,
domain, metrics, license, SHA-256), each dataset a ``dataset_DatasetPackage`` with its
fingerprint, and ``contains``, ``trainedOn``, ``dependsOn`` and ``hasDeclaredLicense``
relationships tie them to the model's files, data, base models, Python packages and
license. Advisories stay in the CycloneDX document (SPDX 3 security profile: later).

Built with `spdx-python-model`, the bindings generated from the SPDX 3.0.1 SHACL model:
every property is type-checked when it is set and every cardinality when the document
is written, so an invalid document cannot be produced silently.
"""

from __future__ import annotations

import datetime as dt
import pathlib
from collections.abc import Sequence
from typing import Any

from dozor.supply.bom import BomError, environment_packages, requirement_packages
from dozor.supply.card import read_model_card
from dozor.supply.digests import fingerprint_dataset, fingerprint_tree


def build_spdx(
    model: pathlib.Path,
    *,
    datasets: Sequence[pathlib.Path] = (),
    requirements: Sequence[pathlib.Path] = (),
    environment: bool = True,
) -> dict[str, Any]:
    """The SPDX 3.0.1 document of `model` as JSON-LD (a dict)."""
    from spdx_python_model import v3_0_1 as s

    from dozor import __version__

    if not model.exists():
        raise BomError(f"{model} does not exist")
    card = read_model_card(model)
    fp = fingerprint_tree(model)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    base = f"urn:dozor:spdx:{fp.digest[:16]}:{now:%Y%m%dT%H%M%S}"
    counter = iter(range(1, 1 << 30))

    def uid(kind: str) -> str:
        return f"{base}:{kind}-{next(counter)}"

    agent = s.SoftwareAgent(spdxId=f"{base}:agent", name="dozor")
    tool = s.Tool(spdxId=f"{base}:tool", name=f"dozor {__version__}")
    info = s.CreationInfo(specVersion="3.0.1", created=now, createdBy=[agent],
                          createdUsing=[tool])
    agent.creationInfo = info
    tool.creationInfo = info

    def sha256(value: str) -> Any:
        return s.Hash(algorithm=s.HashAlgorithm.sha256, hashValue=value)

    ai = s.ai_AIPackage(spdxId=uid("model"), name=card.name or model.name, creationInfo=info)
    ai.software_primaryPurpose = s.software_SoftwarePurpose.model
    ai.software_downloadLocation = model.resolve().as_uri()
    ai.releaseTime = now
    ai.suppliedBy = agent
    ai.verifiedUsing = [sha256(fp.digest)]
    if card.architecture or card.family:
        ai.ai_typeOfModel = [t for t in (card.architecture, card.family) if t]
    if card.task:
        ai.ai_domain = [card.task]
    if card.metrics:
        ai.ai_metric = [s.DictionaryEntry(key=m.type or "metric",
                                          value=f"{m.value} ({m.slice})" if m.slice else m.value)
                        for m in card.metrics]
    if card.description:
        ai.description = card.description
    elements: list[Any] = [agent, tool, ai]
    relations: list[Any] = []
    if card.license:
        from cyclonedx import spdx as spdx_ids

        text = spdx_ids.fixup_id(card.license) or "LicenseRef-" + "".join(
            c if c.isalnum() or c in ".-" else "-" for c in card.license)
        lic = s.simplelicensing_LicenseExpression(spdxId=uid("license"), creationInfo=info,
                                                  simplelicensing_licenseExpression=text)
        relations.append(s.Relationship(spdxId=uid("rel"), creationInfo=info, from_=ai,
                                        relationshipType=s.RelationshipType.hasDeclaredLicense,
                                        to=[lic]))
        elements.append(lic)

    files = []
    for f in fp.files:
        sf = s.software_File(spdxId=uid("file"), name=f.name, creationInfo=info)
        sf.verifiedUsing = [sha256(f.sha256)]
        files.append(sf)
    if files:
        relations.append(s.Relationship(spdxId=uid("rel"), creationInfo=info, from_=ai,
                                        relationshipType=s.RelationshipType.contains,
                                        to=files))
        elements += files

    trained: list[Any] = []
    for path in datasets:
        if not path.exists():
            raise BomError(f"dataset {path} does not exist")
        dfp = fingerprint_dataset(path)
        ds = s.dataset_DatasetPackage(spdxId=uid("dataset"), name=dfp.name, creationInfo=info,
                                      dataset_datasetType=[s.dataset_DatasetType.other])
        ds.software_primaryPurpose = s.software_SoftwarePurpose.data
        ds.software_downloadLocation = path.resolve().as_uri()
        ds.builtTime = now
        ds.releaseTime = now
        ds.originatedBy = [agent]
        ds.verifiedUsing = [sha256(dfp.digest)]
        if dfp.rows:
            ds.dataset_datasetSize = dfp.size
        if dfp.sensitive:
            ds.dataset_hasSensitivePersonalInformation = s.PresenceType.yes
        trained.append(ds)
    for name in card.datasets:
        if name not in {d.name for d in trained}:
            ds = s.dataset_DatasetPackage(spdxId=uid("dataset"), name=name, creationInfo=info,
                                          dataset_datasetType=[s.dataset_DatasetType.other])
            ds.software_primaryPurpose = s.software_SoftwarePurpose.data
            ds.builtTime = now
            ds.releaseTime = now
            ds.originatedBy = [agent]
            ds.comment = "named by the model card; not hashed by dozor"
            trained.append(ds)
    if trained:
        relations.append(s.Relationship(spdxId=uid("rel"), creationInfo=info, from_=ai,
                                        relationshipType=s.RelationshipType.trainedOn,
                                        to=trained))
        elements += trained

    deps: list[Any] = []
    for b in card.base_models:
        deps.append(s.ai_AIPackage(spdxId=uid("base-model"), name=b, creationInfo=info))
    packages = {(p.name.lower(), p.version): p
                for p in (environment_packages() if environment else [])}
    for req in requirements:
        for p in requirement_packages(req):
            packages.setdefault((p.name.lower(), p.version), p)
    for (name, version), _ in sorted(packages.items()):
        pkg = s.software_Package(spdxId=uid("package"), name=name, creationInfo=info,
                                 software_packageVersion=version)
        pkg.software_packageUrl = f"pkg:pypi/{name}@{version}"
        deps.append(pkg)
    if deps:
        relations.append(s.Relationship(spdxId=uid("rel"), creationInfo=info, from_=ai,
                                        relationshipType=s.RelationshipType.dependsOn,
                                        to=deps))
        elements += deps
    elements += relations
    doc = s.SpdxDocument(spdxId=f"{base}:document", name=f"AI BOM of {model.name}",
                         creationInfo=info, rootElement=[ai], element=elements,
                         profileConformance=[s.ProfileIdentifierType.core,
                                             s.ProfileIdentifierType.software,
                                             s.ProfileIdentifierType.ai,
                                             s.ProfileIdentifierType.dataset,
                                             s.ProfileIdentifierType.simpleLicensing])
    objects = s.SHACLObjectSet()
    for obj in [doc, *elements]:
        objects.add(obj)
    try:
        data: dict[str, Any] = s.JSONLDSerializer().serialize_data(objects)
    except (ValueError, TypeError) as exc:
        raise BomError(f"the SPDX document is not valid: {exc}") from None
    return data

