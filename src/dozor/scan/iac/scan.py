"""The `manifest` handler: Dockerfiles, Kubernetes YAML (plain, multi-document, Helm
output, List kinds) and docker-compose files. Any other YAML yields nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from dozor.findings import Finding, Severity
from dozor.scan.base import Blob, LimitExceeded, ScanContext, printable
from dozor.scan.iac import rules as r
from dozor.scan.iac.compose import check_compose, is_compose
from dozor.scan.iac.dockerfile import check_dockerfile
from dozor.scan.iac.kubernetes import Resource, check_file, resource
from dozor.scan.iac.loader import YAML_ERRORS, YamlLimits, load_documents, sequence
from dozor.scan.iac.rules import Hit, hit, to_finding

LIMITS = YamlLimits()
MAX_LIST_ITEMS = 10_000

# Text a manifest cannot lack: Kubernetes objects name apiVersion and kind, compose
# files have services. Other YAML (CI workflows, Helm values, configs) is not parsed.
_API_VERSION = re.compile(r"""(^|[\s{,])["']?apiVersion["']?\s*:""", re.M)
_KIND = re.compile(r"""(^|[\s{,])["']?kind["']?\s*:""", re.M)
_COMPOSE_KEY = re.compile(r"""^["']?services["']?\s*:""", re.M)
_TEMPLATE = re.compile(r"\{\{-?\s*[.$A-Za-z]")


def _looks_like_manifest(source: str) -> bool:
    return bool(_COMPOSE_KEY.search(source)
                or (_API_VERSION.search(source) and _KIND.search(source)))


def scan_manifest(blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    name = blob.name.replace("\\", "/").rsplit("/", 1)[-1].lower()
    is_yaml = name.endswith((".yaml", ".yml"))
    if blob.size > LIMITS.max_bytes:
        head = bytes(blob.data[:1 << 16]).decode("utf-8", "replace")
        if not is_yaml or _looks_like_manifest(head):
            yield to_finding(
                hit(r.UNREADABLE, 0, f"{blob.size} bytes is over the "
                    f"{LIMITS.max_bytes >> 20} MiB manifest limit; not checked"),
                blob.location,
            )
        return
    source = bytes(blob.data).decode("utf-8", "replace").lstrip("\ufeff")
    if not is_yaml:
        for h in check_dockerfile(source):
            yield to_finding(h, blob.location)
        return
    if _looks_like_manifest(source):
        yield from _scan_yaml(source, blob, ctx)


def _items(doc: Any) -> Iterator[Any]:
    """A document, or the items of a List kind (``kind: List``, ``kind: PodList``)."""
    kind = doc.get("kind") if isinstance(doc, dict) else None
    if isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list):
        yield from sequence(doc.get("items"))[:MAX_LIST_ITEMS]
    else:
        yield doc


def _scan_yaml(source: str, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    docs: list[Any] = []
    error: Exception | None = None
    limit: LimitExceeded | None = None
    try:
        for doc in load_documents(source, LIMITS, ctx):
            docs.append(doc)
    except LimitExceeded as exc:
        limit = exc
    except YAML_ERRORS as exc:
        error = exc
    resources: list[Resource] = []
    compose_hits: list[Hit] = []
    for doc in docs:
        ctx.check_time()
        if is_compose(doc):
            compose_hits.extend(check_compose(doc))
            continue
        for item in _items(doc):
            res = resource(item)
            if res is not None:
                resources.append(res)
    for h in compose_hits:
        yield to_finding(h, blob.location)
    for res, h in check_file(resources):
        yield to_finding(h, blob.location, res.label)
    if error is not None:
        yield to_finding(_unreadable(error, source), blob.location)
    if limit is not None:
        raise limit


def _unreadable(error: Exception, source: str) -> Hit:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    line = mark.line + 1 if mark is not None else 0
    if _TEMPLATE.search(source):  # a Helm chart's template: its rendered output is the manifest
        return hit(r.UNREADABLE, line, "Helm/Go template syntax; scan `helm template` output",
                   Severity.INFO)
    problem = getattr(error, "problem", None) or (str(error).splitlines() or [""])[0]
    return hit(r.UNREADABLE, line, f"malformed YAML: {printable(str(problem), 100)}")
