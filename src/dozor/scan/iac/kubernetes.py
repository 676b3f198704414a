"""Checks for Kubernetes resources that run or expose models.

Workloads (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob) and
the serving resources built on pod specs (KServe InferenceService and
ServingRuntime, Seldon SeldonDeployment/Model/Server, KubeRay RayCluster/RayService/
RayJob, and any other resource that embeds ``containers``) are read into
`Container`s; Services, Ingresses and the serving resources are judged for how they
expose the model. One file is judged as a whole, so a Service can be matched to the
model-serving Deployment it selects.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from dozor.findings import Severity
from dozor.scan.base import printable
from dozor.scan.iac import rules as r
from dozor.scan.iac.containers import (
    Container,
    EnvVar,
    Mount,
    common_checks,
    is_model_cache,
    is_serving,
)
from dozor.scan.iac.loader import (
    get,
    is_true,
    line_of,
    mapping,
    sequence,
    text,
)
from dozor.scan.iac.rules import Hit, hit

# API groups whose resources serve or run models.
ML_GROUPS = ("serving.kserve.io", "machinelearning.seldon.io", "mlops.seldon.io", "ray.io",
             "kubeflow.org")
RAY_KINDS = ("RayCluster", "RayService", "RayJob")
_HEAD_GROUP_PATHS = {
    "RayCluster": ("spec", "headGroupSpec"),
    "RayService": ("spec", "rayClusterConfig", "headGroupSpec"),
    "RayJob": ("spec", "rayClusterSpec", "headGroupSpec"),
}
_KSERVE_COMPONENTS = ("predictor", "transformer", "explainer")
# KServe predictor fields that describe a model container inline (framework shortcuts).
_KSERVE_MODEL_KEYS = ("model", "sklearn", "xgboost", "tensorflow", "pytorch", "triton", "onnx",
                      "huggingface", "lightgbm", "paddle", "pmml", "pytorchserve", "alibi",
                      "art", "torchserve")

ML_HINT = re.compile(
    r"vllm|tgi|text-generation|triton|llm|model|inference|predictor|serving|mlflow|"
    r"\bray(\b|cluster|service|job)|"
    r"jupyter|notebook|ollama|gradio|sglang|kserve|seldon|torchserve|embedding|whisper|"
    r"diffusion|gpt|llama|mistral|qwen|gemma|huggingface",
    re.I,
)
# Ports of model servers and ML tools: (what listens there, whether the port alone is
# evidence, whether it gives code execution without authentication).
PORTS: dict[int, tuple[str, bool, bool]] = {
    8265: ("Ray dashboard and job API", True, True),
    10001: ("Ray client", True, True),
    8888: ("Jupyter", True, False),
    7860: ("Gradio", True, False),
    11434: ("Ollama", True, False),
    6006: ("TensorBoard", True, False),
    30000: ("SGLang", False, False),
    8000: ("vLLM / model server", False, False),
    8080: ("TGI / KServe / model server", False, False),
    8001: ("Triton gRPC", False, False),
    8002: ("Triton metrics", False, False),
    5000: ("MLflow", False, False),
    3000: ("web UI", False, False),
    8501: ("Streamlit", False, False),
}
_DANGEROUS_CAPS = frozenset({"ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO",
                             "DAC_READ_SEARCH", "NET_ADMIN", "BPF", "SYS_BOOT"})
_RUNTIME_SOCKET = re.compile(r"(docker|containerd|crio|cri-dockerd|podman)(\.sock)?$|^/$", re.I)
_ACCELERATOR = re.compile(r"gpu|mig-|neuron|tpu|gaudi", re.I)
_INTERNAL_LB = re.compile(r"internal|private", re.I)
_AUTH_ANNOTATION = re.compile(
    r"auth|oidc|middlewares|konghq\.com/plugins|(white|allow)list-source-range|pomerium", re.I
)


@dataclass
class Resource:
    kind: str
    name: str
    group: str
    doc: dict[Any, Any]

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def is_ml(self) -> bool:
        return self.group in ML_GROUPS

    @property
    def annotations(self) -> dict[Any, Any]:
        return mapping(get(self.doc, "metadata", "annotations"))

    @property
    def labels(self) -> dict[Any, Any]:
        return mapping(get(self.doc, "metadata", "labels"))


def resource(doc: Any) -> Resource | None:
    """`doc` as a Kubernetes object (apiVersion and kind are strings), else None."""
    if not isinstance(doc, dict):
        return None
    api, kind = doc.get("apiVersion"), doc.get("kind")
    if not isinstance(api, str) or not isinstance(kind, str) or not kind:
        return None
    name = text(get(doc, "metadata", "name")) or text(get(doc, "metadata", "generateName")) or "?"
    group = api.rsplit("/", 1)[0] if "/" in api else ""
    return Resource(kind, printable(name, 80), group, doc)


@dataclass
class PodSpec:
    spec: dict[Any, Any]
    labels: dict[Any, Any]
    where: str
    containers: list[Container] = field(default_factory=list)


def pod_specs(res: Resource, budget: int = 20_000) -> list[PodSpec]:
    """Every pod spec in a resource: any mapping with a list of ``containers``, found
    by a bounded walk (so CRDs we do not know are covered too), plus KServe predictor,
    transformer and explainer specs, which are pod specs even without containers."""
    found: list[PodSpec] = []
    seen: set[int] = set()
    stack: list[tuple[Any, dict[Any, Any], int]] = [(res.doc.get("spec"), res.labels, 0)]
    while stack and budget > 0:
        obj, labels, depth = stack.pop()
        if id(obj) in seen or depth > 16:
            continue
        seen.add(id(obj))
        budget -= 1
        if isinstance(obj, list):
            stack.extend((x, labels, depth + 1) for x in obj if isinstance(x, (dict, list)))
            continue
        if not isinstance(obj, dict):
            continue
        if any(isinstance(c, dict) for c in sequence(obj.get("containers"))):
            found.append(PodSpec(obj, labels, res.label))
            continue
        for key, value in obj.items():
            if isinstance(value, (dict, list)):
                inner = labels
                if key == "template":
                    inner = mapping(get(value, "metadata", "labels")) or labels
                stack.append((value, inner, depth + 1))
    if res.kind == "InferenceService":
        ids = {id(p.spec) for p in found}
        for part in _KSERVE_COMPONENTS:
            comp = get(res.doc, "spec", part)
            if isinstance(comp, dict) and id(comp) not in ids:
                found.append(PodSpec(comp, res.labels, res.label))
    return found


def _container(res: Resource, spec: dict[Any, Any], where: str, serving: bool) -> Container:
    c = Container(where=where, line=line_of(spec), serving_kind=serving)
    image = spec.get("image")
    if isinstance(image, str):
        c.image, c.image_line = image, line_of(spec, "image")
    for key in ("command", "args"):
        items = sequence(spec.get(key))
        if items:
            c.argv.extend(items)
            c.argv_line = c.argv_line or line_of(spec, key)
    for item in sequence(spec.get("env"))[:1000]:
        name = text(get(item, "name"))
        if not name:
            continue
        value = text(item.get("value")) if "value" in item and "valueFrom" not in item else None
        c.env.append(EnvVar(name, value, line_of(item, "value" if value is not None else "name")))
    resources = mapping(spec.get("resources"))
    c.gpu = any(
        isinstance(k, str) and _ACCELERATOR.search(k)
        for part in ("limits", "requests")
        for k in mapping(resources.get(part))
    )
    return c


def _mounts(c: Container, spec: dict[Any, Any], volumes: dict[str, dict[Any, Any]]) -> None:
    for m in sequence(spec.get("volumeMounts"))[:1000]:
        name, target = text(get(m, "name")), text(get(m, "mountPath"))
        if not name or not target:
            continue
        host = text(get(volumes.get(name), "hostPath", "path"))
        c.mounts.append(Mount(target, host, is_true(get(m, "readOnly")), line_of(m, "mountPath")))


def check_pod(res: Resource, pod: PodSpec) -> Iterator[Hit]:
    spec = pod.spec
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if is_true(spec.get(key)):
            yield hit(r.HOST_ACCESS, line_of(spec, key), f"{res.label}: {key}: true")
    volumes: dict[str, dict[Any, Any]] = {}
    for v in sequence(spec.get("volumes"))[:1000]:
        name = text(get(v, "name"))
        if name and isinstance(v, dict):
            volumes[name] = v
    pod_ctx = mapping(spec.get("securityContext"))
    groups = [("containers", True), ("initContainers", False), ("ephemeralContainers", False)]
    cache_mounts: dict[str, list[tuple[Container, Mount]]] = {}
    for key, main in groups:
        for i, cspec in enumerate(sequence(spec.get(key))[:200]):
            if not isinstance(cspec, dict):
                continue
            cname = text(cspec.get("name")) or f"{key}[{i}]"
            kind = "container" if main else key[:-1]
            # in KubeRay, KServe and Seldon pods the first container is the model's;
            # later ones are sidecars (auth proxies, log shippers)
            first = main and i == 0 and res.is_ml
            c = _container(res, cspec, f"{res.label} {kind} {printable(cname, 60)}", first)
            _mounts(c, cspec, volumes)
            pod.containers.append(c)
            yield from common_checks(c)
            yield from _security(c, cspec, pod_ctx, main)
            if main and is_serving(c):
                yield from _limits(c, cspec)
            for m in c.mounts:
                if m.host is not None and is_model_cache(c, m.target, m.host):
                    cache_mounts.setdefault(_volume_of(cspec, m), []).append((c, m))
    if res.kind == "InferenceService":
        yield from _kserve_models(res, spec)
    yield from _host_paths(res, volumes, cache_mounts)


def _volume_of(cspec: dict[Any, Any], mount: Mount) -> str:
    for m in sequence(cspec.get("volumeMounts")):
        if text(get(m, "mountPath")) == mount.target:
            return text(get(m, "name")) or ""
    return ""


def _host_paths(
    res: Resource,
    volumes: dict[str, dict[Any, Any]],
    cache_mounts: dict[str, list[tuple[Container, Mount]]],
) -> Iterator[Hit]:
    for name, vol in volumes.items():
        hp = vol.get("hostPath")
        path = text(get(hp, "path"))
        if path is None:
            continue
        line = line_of(hp, "path", line_of(vol, "hostPath"))
        uses = cache_mounts.get(name)
        if uses:
            writable = [f"{c.where} at {m.target}" for c, m in uses if not m.read_only]
            mounted = writable or [f"{c.where} at {m.target} (read-only)" for c, m in uses]
            yield hit(
                r.SHARED_MODEL_CACHE, line,
                f"{res.label}: hostPath {printable(path)} mounted as a model cache by "
                + ", ".join(printable(x, 100) for x in mounted[:3]),
                Severity.HIGH if writable else Severity.LOW,
            )
        elif _RUNTIME_SOCKET.search(path.rstrip("/") or "/"):
            yield hit(r.HOST_ACCESS, line, f"{res.label}: hostPath {printable(path)}")
        else:
            yield hit(r.HOST_PATH, line, f"{res.label}: hostPath {printable(path)}")


def _security(
    c: Container, cspec: dict[Any, Any], pod_ctx: dict[Any, Any], main: bool
) -> Iterator[Hit]:
    ctx = mapping(cspec.get("securityContext"))
    line = line_of(cspec, "securityContext", c.line)
    if is_true(ctx.get("privileged")):
        yield hit(r.HOST_ACCESS, line_of(ctx, "privileged", line), f"{c.where}: privileged: true")
    caps = [text(x) or "" for x in sequence(get(ctx, "capabilities", "add"))]
    bad = sorted({x.upper().removeprefix("CAP_") for x in caps} & _DANGEROUS_CAPS)
    if bad:
        yield hit(r.HOST_ACCESS, line_of(ctx, "capabilities", line),
                  f"{c.where}: adds capabilities {', '.join(bad)}")
    if not main:
        return
    user = ctx.get("runAsUser", pod_ctx.get("runAsUser"))
    non_root = ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot"))
    problems = []
    severity = Severity.LOW
    if text(user) == "0":
        problems.append("runAsUser: 0")
        severity = Severity.MEDIUM
    elif not is_true(non_root) and not (isinstance(user, int) and user > 0):
        problems.append("runAsNonRoot not set")
    if ctx.get("allowPrivilegeEscalation") is not False and not is_true(ctx.get("privileged")):
        problems.append("allowPrivilegeEscalation not false")
    if problems:
        yield hit(r.RUNS_AS_ROOT, line, f"{c.where}: {'; '.join(problems)}", severity)


def _limits(c: Container, cspec: dict[Any, Any]) -> Iterator[Hit]:
    resources = mapping(cspec.get("resources"))
    limits, requests = mapping(resources.get("limits")), mapping(resources.get("requests"))
    line = line_of(cspec, "resources", c.line)
    missing = [k for k in ("cpu", "memory") if k not in limits]
    if "memory" in missing:
        what = "no resource limits" if not limits else f"no {' or '.join(missing)} limit"
        yield hit(r.NO_LIMITS, line, f"{c.where}: {what}")
    for key in requests:
        if isinstance(key, str) and _ACCELERATOR.search(key) and key not in limits:
            yield hit(r.NO_LIMITS, line_of(requests, key, line),
                      f"{c.where}: {key} requested without a limit")


def _kserve_models(res: Resource, component: dict[Any, Any]) -> Iterator[Hit]:
    for key in _KSERVE_MODEL_KEYS:
        spec = component.get(key)
        if not isinstance(spec, dict):
            continue
        c = _container(res, spec, f"{res.label} {key}", True)
        # the image is usually the serving runtime's; check it only when set here
        yield from common_checks(c)
        yield from _limits(c, spec)


def _selects(selector: dict[Any, Any], labels: dict[Any, Any]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _hinted(res: Resource, *extra: Any) -> bool:
    words = [res.name, *map(str, res.labels.values()), *map(str, extra)]
    return any(ML_HINT.search(w) for w in words)


def model_ports(
    res: Resource, serving_labels: list[dict[Any, Any]]
) -> list[tuple[int, str, bool, int]]:
    """The ports of a Service that reach a model server: (port, what, code exec, line)."""
    spec = mapping(res.doc.get("spec"))
    selector = mapping(spec.get("selector"))
    selects_model = any(_selects(selector, lab) for lab in serving_labels)
    hinted = selects_model or _hinted(res, *selector.values())
    out = []
    for p in sequence(spec.get("ports"))[:200]:
        if not isinstance(p, dict):
            continue
        nums = [p.get(k) for k in ("port", "targetPort")]
        known = [PORTS[n] for n in nums if isinstance(n, int) and n in PORTS]
        port = next((n for n in nums if isinstance(n, int)), 0)
        pname = text(p.get("name")) or ""
        if any(k[1] for k in known) or (known and hinted):
            what, _, rce = next(k for k in known if k[1] or hinted)
        elif selects_model or (hinted and ML_HINT.search(pname)):
            what, rce = "model server", False
        else:
            continue
        out.append((port, what, rce, line_of(p)))
    return out


def check_service(res: Resource, serving_labels: list[dict[Any, Any]]) -> Iterator[Hit]:
    spec = mapping(res.doc.get("spec"))
    kind = text(spec.get("type")) or "ClusterIP"
    if kind not in ("LoadBalancer", "NodePort"):
        return
    if kind == "LoadBalancer":
        if sequence(spec.get("loadBalancerSourceRanges")):
            return
        if any(_INTERNAL_LB.search(f"{k}={v}") and "load-balancer" in str(k).lower()
               and str(v).lower() != "false" for k, v in res.annotations.items()):
            return
    ports = model_ports(res, serving_labels)
    if not ports:
        return
    rce = any(p[2] for p in ports)
    shown = ", ".join(f"{port} ({what})" for port, what, _, _ in ports[:4])
    yield hit(r.PUBLISHED, line_of(spec, "type"), f"{res.label}: type {kind} publishes {shown}",
              Severity.HIGH if rce else Severity.MEDIUM)


def _backends(spec: dict[Any, Any]) -> Iterator[tuple[dict[Any, Any], str]]:
    for key in ("defaultBackend", "backend"):
        if isinstance(spec.get(key), dict):
            yield spec[key], "default backend"
    for rule in sequence(spec.get("rules"))[:200]:
        host = text(get(rule, "host")) or "*"
        for path in sequence(get(rule, "http", "paths"))[:200]:
            backend = get(path, "backend")
            if isinstance(backend, dict):
                yield backend, f"{host}{text(get(path, 'path')) or '/'}"


def check_ingress(res: Resource, model_services: dict[str, bool]) -> Iterator[Hit]:
    if any(_AUTH_ANNOTATION.search(str(k)) for k in res.annotations):
        return
    spec = mapping(res.doc.get("spec"))
    for backend, route in _backends(spec):
        svc = text(get(backend, "service", "name")) or text(backend.get("serviceName")) or ""
        port = get(backend, "service", "port", "number")
        port = port if port is not None else backend.get("servicePort")
        known = PORTS.get(port) if isinstance(port, int) else None
        if svc in model_services:
            rce = model_services[svc] or bool(known and known[2])
        elif known and (known[1] or ML_HINT.search(svc)):
            rce = known[2]
        elif ML_HINT.search(svc):
            rce = False
        else:
            continue
        yield hit(
            r.INGRESS_NO_AUTH, line_of(backend),
            f"{res.label}: {printable(route, 80)} -> {printable(svc, 60)}:{text(port) or '?'} "
            "with no authentication annotation",
            Severity.HIGH if rce else Severity.MEDIUM,
        )


def check_ray(res: Resource) -> Iterator[Hit]:
    head = get(res.doc, *_HEAD_GROUP_PATHS[res.kind])
    if not isinstance(head, dict):
        return
    params = mapping(head.get("rayStartParams"))
    dash = text(params.get("dashboard-host"))
    note = f" with dashboard-host {dash}" if dash else ""
    kind = text(head.get("serviceType"))
    if kind in ("LoadBalancer", "NodePort"):
        yield hit(r.PUBLISHED, line_of(head, "serviceType"),
                  f"{res.label}: head service type {kind} publishes the Ray dashboard, job API "
                  f"and client port{note}", Severity.HIGH)
    if is_true(head.get("enableIngress")):
        yield hit(r.INGRESS_NO_AUTH, line_of(head, "enableIngress"),
                  f"{res.label}: enableIngress exposes the Ray dashboard and job API{note}",
                  Severity.HIGH)


def check_inference_service(res: Resource) -> Iterator[Hit]:
    ann, labels = res.annotations, res.labels
    if any(str(k).endswith("/enable-auth") and is_true(v) for k, v in ann.items()):
        return
    mode = str(ann.get("serving.kserve.io/deploymentMode", "")).lower()
    if mode in ("rawdeployment", "standard"):
        exposed = labels.get("networking.kserve.io/visibility") == "exposed"
    else:
        exposed = labels.get("networking.knative.dev/visibility") != "cluster-local"
    if exposed:
        meta = res.doc.get("metadata")
        yield hit(r.ISVC_NO_AUTH, line_of(meta, "name", line_of(res.doc)),
                  f"{res.label}: no enable-auth annotation and not cluster-local")


_URI_KEY = re.compile(r"(storage|model)_?ur[il]s?$", re.I)


def check_model_uris(res: Resource, budget: int = 20_000) -> Iterator[Hit]:
    """storageUri / modelUri (KServe, Seldon) that fetch a model over plain http."""
    stack: list[Any] = [res.doc.get("spec")]
    seen: set[int] = set()
    while stack and budget > 0:
        obj = stack.pop()
        if not isinstance(obj, (dict, list)) or id(obj) in seen:
            continue
        seen.add(id(obj))
        budget -= 1
        if isinstance(obj, list):
            stack.extend(obj)
            continue
        for key, value in obj.items():
            if isinstance(key, str) and _URI_KEY.search(key):
                uris = [value] if isinstance(value, str) else sequence(value)
                for uri in uris:
                    if isinstance(uri, str) and uri.strip().lower().startswith("http://"):
                        yield hit(r.PLAIN_HTTP_MODEL, line_of(obj, key),
                                  f"{res.label}: {key} {printable(uri, 100)}")
            stack.append(value)


def check_file(resources: list[Resource]) -> Iterator[tuple[Resource, Hit]]:
    """Judge all resources of one file together."""
    pods: list[tuple[Resource, PodSpec]] = [(res, p) for res in resources for p in pod_specs(res)]
    serving_labels: list[dict[Any, Any]] = []
    for res, pod in pods:
        for h in check_pod(res, pod):
            yield res, h
        if pod.labels and any(is_serving(c) for c in pod.containers):
            serving_labels.append(pod.labels)
    model_services: dict[str, bool] = {}
    for res in resources:
        if res.kind == "Service":
            ports = model_ports(res, serving_labels)
            if ports:
                model_services[res.name] = any(p[2] for p in ports)
    for res in resources:
        if res.kind == "Service":
            checks: Iterator[Hit] = check_service(res, serving_labels)
        elif res.kind == "Ingress":
            checks = check_ingress(res, model_services)
        elif res.kind in RAY_KINDS and res.group == "ray.io":
            checks = check_ray(res)
        elif res.kind == "InferenceService" and res.group == "serving.kserve.io":
            checks = check_inference_service(res)
        else:
            checks = iter(())
        for h in checks:
            yield res, h
        if res.is_ml:
            for h in check_model_uris(res):
                yield res, h
