"""Serving manifests: Kubernetes (workloads, Services, Ingresses, KServe, Seldon, KubeRay),
docker-compose files and Dockerfiles. Every rule fires on a realistic case and stays
quiet on its hardened twin; other YAML gives nothing; hostile YAML never raises or hangs."""

from __future__ import annotations

import copy
import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dozor
from dozor import taxonomy
from dozor.findings import Finding, Location, Severity
from dozor.scan.base import Blob, LimitExceeded, ScanContext
from dozor.scan.iac import containers
from dozor.scan.iac.rules import ALL_RULES
from dozor.scan.iac.scan import scan_manifest
from tests.conftest import scan_bytes

ROOT = Path(__file__).resolve().parents[1]
VLLM = "vllm/vllm-openai:v0.6.3"
HF_TOKEN = "hf_Xq7mK2pL9vR4tZ8wN3bY6cJ1dF5gH0sA2e"


def iac(source: str, name: str = "deploy.yaml") -> list[Finding]:
    """IAC findings for `source` scanned as the engine scans a file of that name."""
    found = scan_bytes(source.encode(), name)
    crashed = [f for f in found if f.rule_id == "DZ-GEN-001"]
    assert not crashed, crashed
    return [f for f in found if f.rule_id.startswith("DZ-IAC-")]


def of(findings: list[Finding], rule: str) -> list[Finding]:
    return [f for f in findings if f.rule_id == rule]


def ids(findings: list[Finding]) -> set[str]:
    return {f.rule_id for f in findings}


def line_of(source: str, needle: str) -> int:
    return next(i for i, line in enumerate(source.splitlines(), 1) if needle in line)


# ---- realistic manifests --------------------------------------------------------------

VLLM_DEPLOYMENT = f"""\
# Source: llm/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: vllm
  labels: {{app: vllm}}
spec:
  replicas: 1
  selector:
    matchLabels: {{app: vllm}}
  template:
    metadata:
      labels:
        app: vllm
    spec:
      containers:
        - name: vllm
          image: vllm/vllm-openai:latest
          command: ["/bin/sh", "-c"]
          args:
            - vllm serve deepseek-ai/DeepSeek-V3 --trust-remote-code --port 8000
          env:
            - name: HF_TOKEN
              value: {HF_TOKEN}
            - name: TOKENIZERS_PARALLELISM
              value: "false"
          securityContext:
            privileged: true
          resources:
            requests:
              nvidia.com/gpu: 1
          volumeMounts:
            - name: hf-cache
              mountPath: /root/.cache/huggingface
      volumes:
        - name: hf-cache
          hostPath:
            path: /mnt/hf-cache
            type: DirectoryOrCreate
---
# Source: llm/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: vllm
spec:
  type: LoadBalancer
  selector: {{app: vllm}}
  ports:
    - name: http
      port: 80
      targetPort: 8000
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: vllm
spec:
  ingressClassName: nginx
  rules:
    - host: llm.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: vllm
                port: {{number: 80}}
"""

VLLM_HARDENED = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: vllm
spec:
  selector:
    matchLabels: {app: vllm}
  template:
    metadata:
      labels: {app: vllm}
    spec:
      securityContext:
        runAsNonRoot: true
        runAsUser: 1000
      containers:
        - name: vllm
          image: vllm/vllm-openai:v0.6.3@DIGEST
          args: ["--model", "meta-llama/Llama-3.1-8B-Instruct", "--port", "8000"]
          env:
            - name: HF_TOKEN
              valueFrom:
                secretKeyRef: {name: hf, key: token}
            - name: HF_HOME
              value: /cache/hf
            - name: TOKENIZERS_PARALLELISM
              value: "false"
          securityContext:
            allowPrivilegeEscalation: false
            capabilities: {drop: [ALL]}
          resources:
            requests: {cpu: "4", memory: 32Gi, nvidia.com/gpu: "1"}
            limits: {cpu: "8", memory: 48Gi, nvidia.com/gpu: "1"}
          volumeMounts:
            - {name: hf-cache, mountPath: /cache/hf}
      volumes:
        - name: hf-cache
          persistentVolumeClaim: {claimName: vllm-cache}
---
apiVersion: v1
kind: Service
metadata:
  name: vllm
spec:
  selector: {app: vllm}
  ports:
    - {port: 8000, targetPort: 8000}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: vllm
  annotations:
    nginx.ingress.kubernetes.io/auth-url: https://oauth2.example.com/oauth2/auth
    nginx.ingress.kubernetes.io/auth-signin: https://oauth2.example.com/oauth2/start
spec:
  rules:
    - host: llm.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service: {name: vllm, port: {number: 8000}}
""".replace("DIGEST", "sha256:" + "5d1f" * 16)

KSERVE_ISVC = """\
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: llama3
spec:
  predictor:
    model:
      modelFormat:
        name: huggingface
      args:
        - --model_name=llama3
        - --model_id=meta-llama/Meta-Llama-3-8B-Instruct
        - --trust_remote_code
      storageUri: http://models.internal.example/llama3
      resources:
        requests: {cpu: "6", memory: 24Gi, nvidia.com/gpu: "1"}
"""

KSERVE_HARDENED = """\
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: llama3
  annotations:
    serving.kserve.io/deploymentMode: RawDeployment
    security.opendatahub.io/enable-auth: "true"
spec:
  predictor:
    model:
      modelFormat:
        name: huggingface
      args: [--model_name=llama3]
      storageUri: s3://models/llama3
      resources:
        requests: {cpu: "6", memory: 24Gi, nvidia.com/gpu: "1"}
        limits: {cpu: "6", memory: 24Gi, nvidia.com/gpu: "1"}
"""

RAYCLUSTER = """\
apiVersion: ray.io/v1
kind: RayCluster
metadata:
  name: raycluster-kuberay
spec:
  rayVersion: '2.9.0'
  headGroupSpec:
    serviceType: LoadBalancer
    rayStartParams:
      dashboard-host: '0.0.0.0'
    template:
      spec:
        containers:
          - name: ray-head
            image: rayproject/ray:latest
            ports:
              - {containerPort: 8265, name: dashboard}
              - {containerPort: 10001, name: client}
  workerGroupSpecs:
    - groupName: gpu
      replicas: 2
      rayStartParams: {}
      template:
        spec:
          containers:
            - name: ray-worker
              image: rayproject/ray:2.9.0-gpu
              resources:
                limits: {cpu: "8", memory: 32Gi, nvidia.com/gpu: "1"}
"""

RAYCLUSTER_HARDENED = """\
apiVersion: ray.io/v1
kind: RayCluster
metadata:
  name: raycluster-kuberay
spec:
  rayVersion: '2.9.0'
  headGroupSpec:
    rayStartParams:
      dashboard-host: '0.0.0.0'
    template:
      spec:
        securityContext: {runAsNonRoot: true, runAsUser: 1000}
        containers:
          - name: ray-head
            image: rayproject/ray:2.9.0
            securityContext: {allowPrivilegeEscalation: false}
            resources:
              limits: {cpu: "2", memory: 8Gi}
  workerGroupSpecs:
    - groupName: gpu
      replicas: 2
      rayStartParams: {}
      template:
        spec:
          securityContext: {runAsNonRoot: true, runAsUser: 1000}
          containers:
            - name: ray-worker
              image: rayproject/ray:2.9.0-gpu
              securityContext: {allowPrivilegeEscalation: false}
              resources:
                limits: {cpu: "8", memory: 32Gi, nvidia.com/gpu: "1"}
"""

TGI_COMPOSE = f"""\
services:
  tgi:
    image: ghcr.io/huggingface/text-generation-inference:latest
    command: --model-id tiiuae/falcon-7b-instruct --trust-remote-code
    ports:
      - "8080:80"
    environment:
      - HUGGING_FACE_HUB_TOKEN={HF_TOKEN}
      - MAX_TOTAL_TOKENS=4096
    volumes:
      - ~/.cache/huggingface:/data
    shm_size: 1g
    deploy:
      resources:
        reservations:
          devices:
            - driver: nvidia
              count: 1
              capabilities: [gpu]
"""

TGI_COMPOSE_HARDENED = """\
services:
  tgi:
    image: ghcr.io/huggingface/text-generation-inference:2.4.0
    command: --model-id tiiuae/falcon-7b-instruct
    ports:
      - "127.0.0.1:8080:80"
    environment:
      HUGGING_FACE_HUB_TOKEN: ${HF_TOKEN}
      MAX_TOTAL_TOKENS: "4096"
    volumes:
      - tgi-data:/data
    deploy:
      resources:
        limits: {cpus: "8", memory: 32g}
        reservations:
          devices:
            - {driver: nvidia, count: 1, capabilities: [gpu]}
volumes:
  tgi-data: {}
"""

TRITON_DOCKERFILE = """\
# syntax=docker/dockerfile:1
FROM nvcr.io/nvidia/tritonserver:latest
ARG HF_TOKEN
ENV HF_TOKEN=$HF_TOKEN
RUN curl -fsSL http://get.example.com/setup.sh | bash && \\
    pip install --no-cache-dir torch transformers==4.44.2 "vllm>=0.5" requests
ADD http://models.example.com/resnet50.tar.gz /models/
COPY .env /opt/app/.env
CMD ["tritonserver", "--model-repository=/models"]
"""

TRITON_HARDENED = """\
# syntax=docker/dockerfile:1
ARG TRITON=24.05-py3
FROM nvcr.io/nvidia/tritonserver:${TRITON} AS base
RUN --mount=type=secret,id=hf_token \\
    pip install --no-cache-dir torch==2.3.1 transformers==4.44.2 requests
ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d \\
    https://models.example.com/resnet50.tar.gz /models/
COPY .env.example /opt/app/.env.example
COPY --chown=1000:1000 model_repository /models
USER 1000:1000
CMD ["tritonserver", "--model-repository=/models"]
"""


def test_vllm_deployment() -> None:
    found = iac(VLLM_DEPLOYMENT)
    assert {"DZ-IAC-002", "DZ-IAC-004", "DZ-IAC-006", "DZ-IAC-008", "DZ-IAC-010", "DZ-IAC-011",
            "DZ-IAC-014", "DZ-IAC-015"} <= ids(found)
    (secret,) = of(found, "DZ-IAC-002")
    assert secret.location.line == line_of(VLLM_DEPLOYMENT, HF_TOKEN)
    assert "Deployment/vllm" in secret.evidence and HF_TOKEN not in secret.evidence
    assert secret.detail("resource") == "Deployment/vllm"
    (cache,) = of(found, "DZ-IAC-006")
    assert cache.severity == Severity.HIGH
    assert cache.location.line == line_of(VLLM_DEPLOYMENT, "path: /mnt/hf-cache")
    (published,) = of(found, "DZ-IAC-010")
    assert published.evidence.startswith("Service/vllm") and published.severity == Severity.MEDIUM
    assert published.location.line == line_of(VLLM_DEPLOYMENT, "type: LoadBalancer")
    assert of(found, "DZ-IAC-011")[0].evidence.startswith("Ingress/vllm")
    assert of(found, "DZ-IAC-014")[0].severity == Severity.MEDIUM
    assert of(found, "DZ-IAC-015")[0].severity == Severity.HIGH
    gpu = [f for f in of(found, "DZ-IAC-008") if "nvidia.com/gpu" in f.evidence]
    assert gpu and gpu[0].location.line == line_of(VLLM_DEPLOYMENT, "nvidia.com/gpu: 1")
    assert not any("TOKENIZERS" in f.evidence for f in found)
    assert all(f.location.path == "deploy.yaml" and f.scanner == "iac" for f in found)


def test_kserve_inference_service() -> None:
    found = iac(KSERVE_ISVC)
    assert ids(found) == {"DZ-IAC-008", "DZ-IAC-015", "DZ-IAC-020", "DZ-IAC-021"}
    (uri,) = of(found, "DZ-IAC-020")
    assert uri.location.line == line_of(KSERVE_ISVC, "storageUri")
    assert "InferenceService/llama3" in uri.evidence


def test_raycluster() -> None:
    found = iac(RAYCLUSTER)
    (published,) = of(found, "DZ-IAC-010")
    assert published.severity == Severity.HIGH
    assert "dashboard-host 0.0.0.0" in published.evidence
    assert published.location.line == line_of(RAYCLUSTER, "serviceType")
    (image,) = of(found, "DZ-IAC-014")
    assert "ray-head" in image.evidence and image.severity == Severity.MEDIUM
    limits = of(found, "DZ-IAC-008")
    assert [f.evidence.split(":")[0] for f in limits] == [
        "RayCluster/raycluster-kuberay container ray-head"
    ]


def test_tgi_compose() -> None:
    found = iac(TGI_COMPOSE, "docker-compose.yml")
    assert ids(found) == {"DZ-IAC-002", "DZ-IAC-006", "DZ-IAC-009", "DZ-IAC-010", "DZ-IAC-014",
                          "DZ-IAC-015"}
    assert of(found, "DZ-IAC-006")[0].severity == Severity.MEDIUM  # /data is TGI's hub cache
    assert of(found, "DZ-IAC-002")[0].location.line == line_of(TGI_COMPOSE, "HUGGING_FACE")
    assert not any("MAX_TOTAL_TOKENS" in f.evidence for f in found)


def test_triton_dockerfile() -> None:
    found = iac(TRITON_DOCKERFILE, "Dockerfile")
    assert ids(found) == {"DZ-IAC-003", "DZ-IAC-005", "DZ-IAC-014", "DZ-IAC-016", "DZ-IAC-017",
                          "DZ-IAC-018", "DZ-IAC-019"}
    (pip,) = of(found, "DZ-IAC-018")
    assert "torch" in pip.evidence and "vllm>=0.5" in pip.evidence
    assert "transformers" not in pip.evidence and "requests" not in pip.evidence
    assert of(found, "DZ-IAC-016")[0].severity == Severity.MEDIUM  # plain http
    assert of(found, "DZ-IAC-014")[0].severity == Severity.MEDIUM  # tritonserver:latest
    assert of(found, "DZ-IAC-019")[0].location.line == line_of(TRITON_DOCKERFILE, "COPY .env")


@pytest.mark.parametrize(
    ("source", "name"),
    [
        (VLLM_HARDENED, "vllm.yaml"),
        (KSERVE_HARDENED, "isvc.yaml"),
        (RAYCLUSTER_HARDENED, "ray.yml"),
        (TGI_COMPOSE_HARDENED, "compose.yaml"),
        (TRITON_HARDENED, "Dockerfile"),
    ],
)
def test_hardened_manifests_are_clean(source: str, name: str) -> None:
    assert iac(source, name) == []


# ---- one firing and one quiet case per rule ----------------------------------------------


def _container(**changes: Any) -> dict[str, Any]:
    c: dict[str, Any] = {
        "name": "vllm",
        "image": VLLM,
        "args": ["--model", "mistralai/Mistral-7B-Instruct-v0.3", "--port", "8000"],
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        "resources": {"limits": {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": "1"}},
    }
    for key, value in changes.items():
        if value is None:
            c.pop(key, None)
        else:
            c[key] = value
    return c


def deployment(*containers_: dict[str, Any], labels: dict[str, str] | None = None,
               **pod: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "securityContext": {"runAsNonRoot": True, "runAsUser": 1000},
        "containers": list(containers_) or [_container()],
    }
    for key, value in pod.items():
        if value is None:
            spec.pop(key, None)
        else:
            spec[key] = value
    labels = labels or {"app": "vllm"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "llm"},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": spec},
        },
    }


def service(type_: str = "LoadBalancer", port: int = 8000, selector: dict[str, str] | None = None,
            name: str = "vllm", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, **spec.pop("metadata", {})},
        "spec": {"type": type_, "selector": selector or {"app": "vllm"},
                 "ports": [{"port": port, "targetPort": port}], **spec},
    }


def ingress(service_name: str = "vllm", port: int = 8000,
            annotations: dict[str, str] | None = None) -> dict[str, Any]:
    backend = {"service": {"name": service_name, "port": {"number": port}}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "api", "annotations": annotations or {}},
        "spec": {"rules": [{"host": "api.example.com", "http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": backend}]}}]},
    }


def isvc(annotations: dict[str, str] | None = None, labels: dict[str, str] | None = None,
         uri: str = "s3://models/llama3") -> dict[str, Any]:
    resources = {"limits": {"cpu": "6", "memory": "24Gi", "nvidia.com/gpu": "1"}}
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "llama3", "annotations": annotations or {}, "labels": labels or {}},
        "spec": {"predictor": {"model": {"modelFormat": {"name": "huggingface"},
                                         "storageUri": uri, "resources": resources}}},
    }


def k8s(*docs: dict[str, Any]) -> str:
    return yaml.safe_dump_all(docs, sort_keys=False)


def compose(**service_: Any) -> str:
    svc: dict[str, Any] = {
        "image": "ghcr.io/huggingface/text-generation-inference:2.4.0",
        "command": "--model-id HuggingFaceH4/zephyr-7b-beta",
        "deploy": {"resources": {"limits": {"cpus": "8", "memory": "32g"}}},
    }
    for key, value in service_.items():
        if value is None:
            svc.pop(key, None)
        else:
            svc[key] = value
    return yaml.safe_dump({"services": {"llm": svc}}, sort_keys=False)


def dockerfile(*lines: str, user: str = "USER 1000") -> str:
    return "\n".join(["FROM python:3.11.9-slim AS app", *lines, user]) + "\n"


SECRET_ENV = [{"name": "HF_TOKEN", "value": HF_TOKEN}]
HOST_CACHE = [{"name": "cache", "hostPath": {"path": "/var/lib/hf"}}]
CACHE_MOUNT = [{"name": "cache", "mountPath": "/root/.cache/huggingface"}]
NGINX = {"name": "web", "image": "nginx:1.27.0", "securityContext": {
    "allowPrivilegeEscalation": False}}
JUPYTER = "quay.io/jupyter/base-notebook:2024-05-27"

# (rule, severity, firing (source, name), quiet (source, name))
CASES: list[tuple[str, Severity, tuple[str, str], tuple[str, str]]] = [
    # 001 unreadable manifests
    ("DZ-IAC-001", Severity.LOW,
     ("apiVersion: v1\nkind: Pod\nmetadata: {name: x\nspec: [\n", "pod.yaml"),
     ("name: x\nitems: [1, 2\n", "config.yaml")),
    ("DZ-IAC-001", Severity.INFO,
     ("apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\n  labels:\n"
      "    {{- include \"x.labels\" . | nindent 4 }}\n", "service.yaml"),
     (k8s(deployment()), "ok.yaml")),
    # 002 secrets written in plain text
    ("DZ-IAC-002", Severity.HIGH,
     (k8s(deployment(_container(env=SECRET_ENV))), "d.yaml"),
     (k8s(deployment(_container(env=[
         {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf", "key": "t"}}},
         {"name": "OPENAI_API_KEY", "value": ""},
         {"name": "WANDB_API_KEY", "value": "$(WANDB_KEY)"},
         {"name": "API_KEY", "value": "<your-api-key>"},
         {"name": "MAX_TOKENS", "value": "4096"},
         {"name": "HF_TOKEN_FILE", "value": "/var/run/secrets/hf/token"}]))), "d.yaml")),
    ("DZ-IAC-002", Severity.HIGH,
     (compose(environment={"OPENAI_API_KEY": "sk-live-abc123def456ghi789"}), "compose.yml"),
     (compose(environment={"OPENAI_API_KEY": "${OPENAI_API_KEY}", "TOKENIZERS_PARALLELISM":
                           "false"}), "compose.yml")),
    ("DZ-IAC-002", Severity.HIGH,
     (dockerfile(f"ENV HF_TOKEN={HF_TOKEN}"), "Dockerfile"),
     (dockerfile("ENV HF_HOME=/models/hf TOKENIZERS_PARALLELISM=false"), "Dockerfile")),
    ("DZ-IAC-002", Severity.HIGH,
     (dockerfile("ARG DB_PASSWORD=s3cr3t-pa55w0rd"), "Dockerfile"),
     (dockerfile("ARG MODEL_ID=meta-llama/Llama-3.1-8B"), "Dockerfile")),
    # 003 secrets through build arguments
    ("DZ-IAC-003", Severity.LOW,
     (dockerfile("ARG HF_TOKEN", "RUN huggingface-cli download gpt2"), "Dockerfile"),
     (dockerfile("RUN --mount=type=secret,id=hf_token huggingface-cli download gpt2"),
      "Dockerfile")),
    ("DZ-IAC-003", Severity.MEDIUM,
     (dockerfile("ARG HF_TOKEN", "ENV HF_TOKEN=${HF_TOKEN}"), "Dockerfile"),
     (dockerfile("ARG HF_HOME", "ENV HF_HOME=${HF_HOME}"), "Dockerfile")),
    # 004 host takeover
    ("DZ-IAC-004", Severity.HIGH,
     (k8s(deployment(_container(securityContext={"privileged": True}))), "d.yaml"),
     (k8s(deployment(_container(securityContext={
         "allowPrivilegeEscalation": False,
         "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}))), "d.yaml")),
    ("DZ-IAC-004", Severity.HIGH,
     (k8s(deployment(hostPID=True)), "d.yaml"), (k8s(deployment(hostPID=False)), "d.yaml")),
    ("DZ-IAC-004", Severity.HIGH,
     (k8s(deployment(_container(securityContext={
         "allowPrivilegeEscalation": False, "capabilities": {"add": ["SYS_ADMIN"]}}))), "d.yaml"),
     (k8s(deployment()), "d.yaml")),
    ("DZ-IAC-004", Severity.HIGH,
     (k8s(deployment(_container(volumeMounts=[{"name": "d", "mountPath": "/var/run/docker.sock"}]),
                     volumes=[{"name": "d", "hostPath": {"path": "/var/run/docker.sock"}}])),
      "d.yaml"),
     (k8s(deployment(_container(volumeMounts=[{"name": "d", "mountPath": "/tmp"}]),
                     volumes=[{"name": "d", "emptyDir": {}}])), "d.yaml")),
    ("DZ-IAC-004", Severity.HIGH,
     (compose(privileged=True, network_mode="host"), "docker-compose.yaml"),
     (compose(), "docker-compose.yaml")),
    # 005 root
    ("DZ-IAC-005", Severity.LOW,
     (k8s(deployment(securityContext=None)), "d.yaml"), (k8s(deployment()), "d.yaml")),
    ("DZ-IAC-005", Severity.MEDIUM,
     (k8s(deployment(securityContext={"runAsUser": 0})), "d.yaml"),
     (k8s(deployment(securityContext={"runAsUser": 1000})), "d.yaml")),
    ("DZ-IAC-005", Severity.LOW,
     (dockerfile("RUN pip install vllm==0.6.3", user=""), "Dockerfile"),
     ("FROM python:3.11.9-slim AS base\nUSER 1000\nFROM base\nCMD [\"python\"]\n",
      "Dockerfile")),
    ("DZ-IAC-005", Severity.MEDIUM,
     (dockerfile(user="USER root"), "Dockerfile"), (dockerfile(user="USER app"), "Dockerfile")),
    ("DZ-IAC-005", Severity.MEDIUM,
     (compose(user="root"), "compose.yml"), (compose(user="1000:1000"), "compose.yml")),
    # 006 model caches shared with the host
    ("DZ-IAC-006", Severity.HIGH,
     (k8s(deployment(_container(volumeMounts=CACHE_MOUNT), volumes=HOST_CACHE)), "d.yaml"),
     (k8s(deployment(_container(volumeMounts=CACHE_MOUNT), volumes=[
         {"name": "cache", "persistentVolumeClaim": {"claimName": "hf"}}])), "d.yaml")),
    ("DZ-IAC-006", Severity.LOW,
     (k8s(deployment(_container(volumeMounts=[{**CACHE_MOUNT[0], "readOnly": True}]),
                     volumes=HOST_CACHE)), "d.yaml"),
     (k8s(deployment()), "d.yaml")),
    ("DZ-IAC-006", Severity.HIGH,  # HF_HOME points the hub cache at the mount
     (k8s(deployment(_container(env=[{"name": "HF_HOME", "value": "/srv/hf"}],
                                volumeMounts=[{"name": "c", "mountPath": "/srv"}]),
                     volumes=[{"name": "c", "hostPath": {"path": "/srv"}}])), "d.yaml"),
     (k8s(deployment(_container(env=[{"name": "HF_HOME", "value": "/srv/hf"}],
                                volumeMounts=[{"name": "c", "mountPath": "/srv"}]),
                     volumes=[{"name": "c", "emptyDir": {}}])), "d.yaml")),
    ("DZ-IAC-006", Severity.MEDIUM,
     (compose(volumes=["/opt/models:/models"]), "compose.yml"),
     (compose(volumes=["models:/models", "./config.json:/etc/app/config.json:ro"]),
      "compose.yml")),
    # 007 other hostPath volumes
    ("DZ-IAC-007", Severity.LOW,
     (k8s(deployment(_container(volumeMounts=[{"name": "logs", "mountPath": "/logs"}]),
                     volumes=[{"name": "logs", "hostPath": {"path": "/var/log/llm"}}])),
      "d.yaml"),
     (k8s(deployment(_container(volumeMounts=[{"name": "logs", "mountPath": "/logs"}]),
                     volumes=[{"name": "logs", "emptyDir": {}}])), "d.yaml")),
    # 008 limits on model servers
    ("DZ-IAC-008", Severity.MEDIUM,
     (k8s(deployment(_container(resources={"requests": {"cpu": "4", "memory": "16Gi"}}))),
      "d.yaml"),
     (k8s(deployment(dict(NGINX), labels={"app": "web"})), "d.yaml")),
    ("DZ-IAC-008", Severity.MEDIUM,
     (k8s(deployment(_container(resources={"requests": {"nvidia.com/gpu": "1"},
                                           "limits": {"cpu": "8", "memory": "32Gi"}}))),
      "d.yaml"),
     (k8s(deployment(_container(resources={"requests": {"nvidia.com/gpu": "1"}, "limits": {
         "cpu": "8", "memory": "32Gi", "nvidia.com/gpu": "1"}}))), "d.yaml")),
    # 009 compose limits
    ("DZ-IAC-009", Severity.LOW,
     (compose(deploy=None), "compose.yml"),
     (yaml.safe_dump({"services": {"cache": {"image": "redis:7.2.5"}}}), "compose.yml")),
    # 010 published model servers
    ("DZ-IAC-010", Severity.MEDIUM,
     (k8s(deployment(), service()), "d.yaml"),
     (k8s(deployment(), service("ClusterIP")), "d.yaml")),
    ("DZ-IAC-010", Severity.MEDIUM,
     (k8s(deployment(), service("NodePort")), "d.yaml"),
     (k8s(deployment(), service(metadata={"annotations": {
         "service.beta.kubernetes.io/aws-load-balancer-internal": "true"}})), "d.yaml")),
    ("DZ-IAC-010", Severity.HIGH,
     (k8s(service(port=8265, selector={"ray.io/node-type": "head"}, name="ray-head")), "r.yaml"),
     (k8s(service(port=8265, selector={"ray.io/node-type": "head"}, name="ray-head",
                  loadBalancerSourceRanges=["10.0.0.0/8"])), "r.yaml")),
    ("DZ-IAC-010", Severity.MEDIUM,
     (k8s(deployment(), service(port=8000)), "d.yaml"),
     (k8s(deployment(dict(NGINX), labels={"app": "web"}),
          service(port=80, selector={"app": "web"}, name="web")), "d.yaml")),
    ("DZ-IAC-010", Severity.LOW,
     (compose(ports=["8080:80"]), "compose.yml"),
     (compose(ports=["127.0.0.1:8080:80"]), "compose.yml")),
    ("DZ-IAC-010", Severity.HIGH,
     (compose(image="rayproject/ray:2.9.0", command="ray start --head --block",
              ports=["8265:8265"]), "compose.yml"),
     (compose(image="rayproject/ray:2.9.0", command="ray start --head --block",
              ports=[{"target": 8265, "published": 8265, "host_ip": "127.0.0.1"}]),
      "compose.yml")),
    # 011 ingress without authentication
    ("DZ-IAC-011", Severity.MEDIUM,
     (k8s(deployment(), service("ClusterIP"), ingress()), "d.yaml"),
     (k8s(deployment(), service("ClusterIP"), ingress(annotations={
         "nginx.ingress.kubernetes.io/auth-type": "basic",
         "nginx.ingress.kubernetes.io/auth-secret": "basic-auth"})), "d.yaml")),
    ("DZ-IAC-011", Severity.MEDIUM,
     (k8s(ingress("mlflow-tracking", 5000)), "i.yaml"),
     (k8s(ingress("website", 80)), "i.yaml")),
    # 012 Jupyter without a token
    ("DZ-IAC-012", Severity.HIGH,
     (compose(image=JUPYTER, command="start-notebook.py --NotebookApp.token='' --ip=0.0.0.0",
              ports=["127.0.0.1:8888:8888"]), "compose.yml"),
     (compose(image=JUPYTER, command="start-notebook.py --IdentityProvider.token=${TOKEN}",
              ports=["127.0.0.1:8888:8888"]), "compose.yml")),
    ("DZ-IAC-012", Severity.HIGH,
     (k8s(deployment(_container(image=JUPYTER, args=[
         "jupyter", "lab", "--ServerApp.token=", "--ServerApp.ip=0.0.0.0"]))), "nb.yaml"),
     (k8s(deployment(_container(image=JUPYTER, args=["jupyter", "lab"]))), "nb.yaml")),
    # 013 listeners without authentication
    ("DZ-IAC-013", Severity.MEDIUM,
     (compose(image="ghcr.io/mlflow/mlflow:v2.16.0",
              command="mlflow server --host 0.0.0.0 --port 5000"), "compose.yml"),
     (compose(image="ghcr.io/mlflow/mlflow:v2.16.0",
              command="mlflow server --host 0.0.0.0 --app-name basic-auth"), "compose.yml")),
    ("DZ-IAC-013", Severity.LOW,
     (compose(image=JUPYTER, command="jupyter lab --ip=0.0.0.0 --no-browser --allow-root"),
      "compose.yml"),
     (compose(image=JUPYTER, command="jupyter lab --no-browser"), "compose.yml")),
    ("DZ-IAC-013", Severity.LOW,
     (compose(image="rayproject/ray:2.9.0",
              command="ray start --head --dashboard-host=0.0.0.0 --block"), "compose.yml"),
     (compose(image="rayproject/ray:2.9.0",
              command="ray start --head --dashboard-host=127.0.0.1 --block"), "compose.yml")),
    # 014 mutable images
    ("DZ-IAC-014", Severity.MEDIUM,
     (k8s(deployment(_container(image="vllm/vllm-openai"))), "d.yaml"),
     (k8s(deployment(_container(image="vllm/vllm-openai@sha256:" + "ab" * 32))), "d.yaml")),
    ("DZ-IAC-014", Severity.LOW,
     (k8s(deployment(dict(NGINX, image="nginx:latest"), labels={"app": "web"})), "d.yaml"),
     (k8s(deployment(dict(NGINX, image="{{ .Values.image }}"), labels={"app": "web"})),
      "d.yaml")),
    ("DZ-IAC-014", Severity.MEDIUM,
     ("FROM pytorch/pytorch\nUSER 1000\n", "Dockerfile"),
     ("FROM pytorch/pytorch:2.4.1-cuda12.1-cudnn9-runtime AS build\nFROM build\nUSER 1000\n",
      "Dockerfile")),
    ("DZ-IAC-014", Severity.LOW,
     ("FROM python\nUSER 1000\n", "Dockerfile"),
     ("FROM scratch\nCOPY app /app\nUSER 1000\n", "Dockerfile")),
    # 015 remote code
    ("DZ-IAC-015", Severity.HIGH,
     (k8s(deployment(_container(args=["--model", "Qwen/Qwen-7B", "--trust-remote-code"]))),
      "d.yaml"),
     (k8s(deployment(_container(args=["--model", "Qwen/Qwen-7B", "--trust-remote-code=false"]))),
      "d.yaml")),
    ("DZ-IAC-015", Severity.HIGH,
     (compose(environment=["TRUST_REMOTE_CODE=true"]), "compose.yml"),
     (compose(environment=["TRUST_REMOTE_CODE=false"]), "compose.yml")),
    ("DZ-IAC-015", Severity.HIGH,
     (dockerfile('CMD ["python", "-m", "sglang.launch_server", "--trust-remote-code"]'),
      "Dockerfile"),
     (dockerfile('CMD ["python", "-m", "sglang.launch_server"]'), "Dockerfile")),
    # 016 pipe to shell
    ("DZ-IAC-016", Severity.LOW,
     (dockerfile("RUN curl -LsSf https://astral.sh/uv/install.sh | sh"), "Dockerfile"),
     (dockerfile("RUN curl -LsSfo /tmp/uv.sh https://astral.sh/uv/install.sh && \\",
                 "    echo '0c3a2b  /tmp/uv.sh' | sha256sum -c && sh /tmp/uv.sh"),
      "Dockerfile")),
    ("DZ-IAC-016", Severity.MEDIUM,
     (dockerfile('RUN bash -c "$(wget -qO- http://example.com/setup.sh)"'), "Dockerfile"),
     (dockerfile("RUN wget -q https://example.com/model.bin -O /models/model.bin"),
      "Dockerfile")),
    # 017 ADD from a URL
    ("DZ-IAC-017", Severity.MEDIUM,
     (dockerfile("ADD http://example.com/model.onnx /models/"), "Dockerfile"),
     (dockerfile("ADD model.onnx /models/"), "Dockerfile")),
    ("DZ-IAC-017", Severity.LOW,
     (dockerfile("ADD https://example.com/model.onnx /models/"), "Dockerfile"),
     (dockerfile("ADD --checksum=sha256:" + "0" * 64 + " https://example.com/m.onnx /models/"),
      "Dockerfile")),
    # 018 unpinned ML packages
    ("DZ-IAC-018", Severity.LOW,
     (dockerfile("RUN pip install --no-cache-dir -U torch sentence-transformers"), "Dockerfile"),
     (dockerfile("RUN pip install -r requirements.txt && pip install torch==2.4.1 requests",
                 "RUN pip install -c constraints.txt torch transformers"), "Dockerfile")),
    # 019 credential files copied in
    ("DZ-IAC-019", Severity.MEDIUM,
     (dockerfile("COPY id_rsa /root/.ssh/id_rsa"), "Dockerfile"),
     (dockerfile("COPY id_rsa.pub /root/.ssh/authorized_keys",
                 "COPY --from=builder /root/.ssh /tmp/ssh"), "Dockerfile")),
    # 020 plain-http model storage
    ("DZ-IAC-020", Severity.MEDIUM,
     (k8s(isvc(annotations={"security.opendatahub.io/enable-auth": "true"},
               uri="http://minio.local/models/llama3")), "isvc.yaml"),
     (k8s(isvc(annotations={"security.opendatahub.io/enable-auth": "true"},
               uri="https://minio.local/models/llama3")), "isvc.yaml")),
    ("DZ-IAC-020", Severity.MEDIUM,
     (k8s({"apiVersion": "machinelearning.seldon.io/v1", "kind": "SeldonDeployment",
           "metadata": {"name": "iris"},
           "spec": {"predictors": [{"name": "default", "graph": {
               "name": "clf", "implementation": "SKLEARN_SERVER",
               "modelUri": "http://storage.example/iris"}}]}}), "sdep.yaml"),
     (k8s({"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Model",
           "metadata": {"name": "iris"},
           "spec": {"storageUri": "gs://seldon-models/iris", "requirements": ["sklearn"]}}),
      "model.yaml")),
    # 021 InferenceService without authentication
    ("DZ-IAC-021", Severity.LOW,
     (k8s(isvc()), "isvc.yaml"),
     (k8s(isvc(labels={"networking.knative.dev/visibility": "cluster-local"})), "isvc.yaml")),
    ("DZ-IAC-021", Severity.LOW,
     (k8s(isvc(annotations={"serving.kserve.io/deploymentMode": "RawDeployment"},
               labels={"networking.kserve.io/visibility": "exposed"})), "isvc.yaml"),
     (k8s(isvc(annotations={"serving.kserve.io/deploymentMode": "RawDeployment"})),
      "isvc.yaml")),
]


@pytest.mark.parametrize(("rule", "severity", "firing", "quiet"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_rule_fires_and_stays_quiet(
    rule: str, severity: Severity, firing: tuple[str, str], quiet: tuple[str, str]
) -> None:
    hits = of(iac(*firing), rule)
    assert hits, f"{rule} did not fire"
    assert severity in {f.severity for f in hits}
    assert all(f.location.line for f in hits), "every finding points at a line"
    assert of(iac(*quiet), rule) == []


def test_every_rule_has_a_case_and_known_taxonomy() -> None:
    rule_ids = [r.id for r in ALL_RULES]
    assert len(rule_ids) == len(set(rule_ids))
    assert {c[0] for c in CASES} == set(rule_ids)
    for rule in ALL_RULES:
        taxonomy.require_known(rule.taxonomy)
        assert rule.fix.endswith(".") and rule.title


def test_rules_are_documented_with_their_severity() -> None:
    doc = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    section = doc.split("## Serving manifests", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| (DZ-IAC-\d{3}) \| ([^|]+) \|", section, re.M))
    assert set(rows) == {r.id for r in ALL_RULES}
    for rule in ALL_RULES:
        assert str(rule.severity) in rows[rule.id], rule.id


# ---- secrets: shared detectors and the name-based fallback ---------------------------


def test_secret_names() -> None:
    secret = ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "OPENAI_API_KEY", "AWS_SECRET_ACCESS_KEY",
              "DB_PASSWORD", "postgresPassword", "apiKey", "SECRET_KEY_BASE", "GITHUB_PAT_TOKEN"]
    plain = ["TOKENIZERS_PARALLELISM", "MAX_TOKENS", "MAX_TOKEN_LENGTH", "HF_TOKEN_FILE",
             "AWS_ACCESS_KEY_ID", "CACHE_KEY", "S3_KEY", "PWD", "MODEL_ID", "KEY_PATH"]
    assert [n for n in secret if not containers.secret_name(n)] == []
    assert [n for n in plain if containers.secret_name(n)] == []


def test_name_based_check_without_the_detectors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(containers, "_find_secrets", None)
    source = k8s(deployment(_container(env=[
        {"name": "HF_TOKEN", "value": HF_TOKEN},
        {"name": "MODEL_CONFIG", "value": HF_TOKEN}])))
    (hit,) = of(iac(source), "DZ-IAC-002")
    assert "HF_TOKEN" in hit.evidence and hit.confidence < 0.9


def test_detectors_find_tokens_under_any_name() -> None:
    pytest.importorskip("dozor.detect.secrets")
    if containers._find_secrets is None:
        pytest.skip("secret detectors not importable")
    source = k8s(deployment(_container(env=[{"name": "MODEL_CONFIG", "value": HF_TOKEN}])))
    (hit,) = of(iac(source), "DZ-IAC-002")
    assert "MODEL_CONFIG" in hit.evidence and HF_TOKEN not in hit.evidence


# ---- what is not a manifest --------------------------------------------------------------

NOT_MANIFESTS = [
    (".dozor.yaml", "fail_on: medium\nsuppress:\n  - id: DZ-PKL-002\n    path: models/*\n"),
    (".github/workflows/ci.yml", """\
name: ci
on: [push]
jobs:
  test:
    runs-on: ubuntu-latest
    container:
      image: python:latest
      options: --privileged
    services:
      redis:
        image: redis:latest
        ports: ["6379:6379"]
    env:
      HF_TOKEN: ${{ secrets.HF_TOKEN }}
    steps:
      - uses: actions/checkout@v4
      - run: curl -sSL https://install.python-poetry.org | python3 -
"""),
    ("charts/llm/values.yaml", """\
image:
  repository: vllm/vllm-openai
  tag: latest
securityContext:
  privileged: true
resources: {}
service:
  type: LoadBalancer
  port: 8000
extraArgs: ["--trust-remote-code"]
"""),
    ("charts/llm/Chart.yaml", "apiVersion: v2\nname: llm\nversion: 0.1.0\ntype: application\n"),
    ("kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
     "resources: [deployment.yaml]\nimages:\n  - name: vllm/vllm-openai\n    newTag: latest\n"),
    ("mkdocs.yml", "site_name: dozor\nnav:\n  - Home: index.md\n"),
    (".gitlab-ci.yml", "services:\n  - docker:dind\nbuild:\n  script: [docker build .]\n"),
]


@pytest.mark.parametrize(("name", "source"), NOT_MANIFESTS, ids=[n for n, _ in NOT_MANIFESTS])
def test_other_yaml_gives_nothing(name: str, source: str) -> None:
    assert iac(source, name) == []


def test_list_kind_and_resource_in_evidence() -> None:
    source = k8s({"apiVersion": "v1", "kind": "List", "items": [
        deployment(_container(image="vllm/vllm-openai:latest")),
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "debug"},
         "spec": {"hostNetwork": True, "containers": [{"name": "sh", "image": "busybox:1.36"}]}},
    ]})
    found = iac(source)
    assert any(f.evidence.startswith("Deployment/llm") for f in of(found, "DZ-IAC-014"))
    (host,) = of(found, "DZ-IAC-004")
    assert host.evidence == "Pod/debug: hostNetwork: true"
    assert host.location.line == line_of(source, "hostNetwork")


def test_statefulset_cronjob_and_crds_are_read() -> None:
    cron = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "eval"},
            "spec": {"schedule": "@daily", "jobTemplate": {"spec": {"template": {"spec": {
                "containers": [_container(args=["--trust-remote-code"])]}}}}}}
    sts = deployment(_container(args=["--trust-remote-code"]))
    sts["kind"] = "StatefulSet"
    server = {"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Server",
              "metadata": {"name": "mlserver"},
              "spec": {"serverConfig": "mlserver", "podSpec": {"containers": [
                  {"name": "mlserver", "image": "seldonio/mlserver:latest"}]}}}
    found = iac(k8s(cron, sts, server))
    assert {f.evidence.split(" ")[0] for f in of(found, "DZ-IAC-015")} == {
        "CronJob/eval", "StatefulSet/llm"}
    assert any(f.evidence.startswith("Server/mlserver") and f.severity == Severity.MEDIUM
               for f in of(found, "DZ-IAC-014"))


# ---- hostile YAML -----------------------------------------------------------------------


def _laughs(levels: int = 12, width: int = 10) -> str:
    lines = ["apiVersion: v1", "kind: ConfigMap", 'a0: &a0 ["lol"]']
    for i in range(1, levels):
        refs = ", ".join([f"*a{i - 1}"] * width)
        lines.append(f"a{i}: &a{i} [{refs}]")
    lines.append(f"spec: {{containers: *a{levels - 1}}}")
    return "\n".join(lines) + "\n"


def _merge_bomb(levels: int = 9, width: int = 10) -> str:
    lines = ["apiVersion: v1", "kind: Pod", "l0: &l0 {" + ", ".join(
        f"k{i}: {i}" for i in range(width)) + "}"]
    for lvl in range(1, levels):
        for j in range(width):
            prev = ", ".join(f"*l{lvl - 1}" if lvl == 1 else f"*l{lvl - 1}_{k}"
                             for k in range(width))
            lines.append(f"l{lvl}_{j}: &l{lvl}_{j} {{<<: [{prev}], z{j}: {j}}}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "source",
    [
        _laughs(),
        _laughs(levels=40, width=2),
        _merge_bomb(),
        "apiVersion: v1\nkind: Pod\nspec: " + "[" * 50_000 + "]" * 50_000 + "\n",
        "apiVersion: v1\nkind: Pod\nspec: &s {containers: [*s], volumes: *s}\n",
        "apiVersion: v1\nkind: Pod\nspec: &s {<<: *s}\n",
        "apiVersion: v1\nkind: Pod\n" + "\n".join(f"a{i}: &a{i} 1" for i in range(2000))
        + "\nb: [" + ", ".join(f"*a{i}" for i in range(2000)) + "]\n",
        "apiVersion: v1\nkind: Pod\nx: 2024-13-45\ny: !!binary =-\nz: 1" + "0" * 5000 + "\n",
        "apiVersion: v1\nkind: Pod\n? [a, b]\n: c\n",
        "---\n" * 3000 + "apiVersion: v1\nkind: Pod\n",
        "apiVersion: v1\nkind: Pod\nmetadata: !!python/object/apply:os.system ['true']\n",
    ],
    ids=["laughs", "deep-laughs", "merge-bomb", "deep", "cycle", "merge-cycle", "aliases",
         "bad-scalars", "unhashable-key", "documents", "python-tag"],
)
def test_hostile_yaml_is_bounded(source: str) -> None:
    start = time.monotonic()
    found = scan_bytes(source.encode(), "bomb.yaml")
    assert time.monotonic() - start < 10
    assert {f.rule_id for f in found} <= {"DZ-IAC-001", "DZ-GEN-002", "DZ-IAC-004",
                                          "DZ-IAC-005"}


def test_size_limit() -> None:
    big = "apiVersion: v1\nkind: ConfigMap\ndata:\n" + "  k: v\n" * 800_000
    (f,) = scan_bytes(big.encode(), "big.yaml")
    assert f.rule_id == "DZ-IAC-001" and "limit" in f.evidence
    assert scan_bytes(("x: 1\n" * 1_200_000).encode(), "data.yaml") == []


_FRAGMENTS = st.sampled_from([
    "apiVersion: v1\n", "kind: Pod\n", "kind: Service\n", "services:\n", "  vllm:\n",
    "    image: vllm/vllm-openai\n", "spec:\n", "  containers:\n", "  - name: x\n",
    "    env: [{name: HF_TOKEN, value: hf_x}]\n", "&a ", "*a ", "<<: *a\n", "[", "]", "{", "}",
    "---\n", "- ", ": ", "\t", "'", '"', "!!binary ", "!!python/name:os.system ", "? ",
    "    securityContext: {privileged: true}\n", "  hostPath: {path: /}\n", "\\\n",
    "FROM x\n", "RUN curl x | sh\n", "ENV A=\n", "ARG T=${", "USER\n", "<<EOF\n", "EOF\n",
])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(st.one_of(_FRAGMENTS, st.text(max_size=12)), max_size=60),
       name=st.sampled_from(["k8s.yaml", "compose.yml", "Dockerfile"]))
def test_fuzz_never_raises(parts: list[str], name: str) -> None:
    data = "".join(parts).encode("utf-8", "surrogatepass")
    blob = Blob(data, Location(name), name=name)
    try:
        list(scan_manifest(blob, ScanContext()))
    except LimitExceeded:
        pass


@settings(max_examples=100, deadline=None)
@given(cut=st.integers(0, len(VLLM_DEPLOYMENT)), junk=st.text(max_size=8))
def test_fuzz_truncated_manifests(cut: int, junk: str) -> None:
    source = VLLM_DEPLOYMENT[:cut] + junk + VLLM_DEPLOYMENT[cut:]
    iac(source)  # asserts no scanner crash
    for text in (TGI_COMPOSE, TRITON_DOCKERFILE):
        mutated = text[: cut % len(text)] + junk + text[cut % len(text):]
        iac(mutated, "compose.yml" if text is TGI_COMPOSE else "Dockerfile")


# ---- end to end ---------------------------------------------------------------------------


def test_scan_routes_dockerfiles_and_kubernetes_yaml(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(TRITON_DOCKERFILE)
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "vllm.yaml").write_text(VLLM_DEPLOYMENT)
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text(NOT_MANIFESTS[1][1])
    report = dozor.scan(tmp_path, workers=1)
    formats = {Path(f.path).name: f.formats for f in report.files}
    assert "manifest" in formats["Dockerfile"] and "manifest" in formats["vllm.yaml"]
    where = {(Path(f.location.path).name, f.rule_id) for f in report.findings}
    assert ("Dockerfile", "DZ-IAC-019") in where
    assert ("vllm.yaml", "DZ-IAC-006") in where
    assert not [f for f in report.findings
                if Path(f.location.path).name == "ci.yml" and f.rule_id.startswith("DZ-IAC")]
    assert not [f for f in report.findings if f.rule_id == "DZ-GEN-001"]


def test_findings_serialise() -> None:
    for f in iac(VLLM_DEPLOYMENT):
        data = f.to_dict()
        assert data["location"]["line"] and data["taxonomy"] is not None
        assert copy.deepcopy(data) == data


def test_sidecars_of_serving_resources_are_not_model_servers() -> None:
    ray = yaml.safe_load(RAYCLUSTER_HARDENED)
    head = ray["spec"]["headGroupSpec"]["template"]["spec"]
    head["containers"].append({"name": "kube-rbac-proxy",
                               "image": "quay.io/brancz/kube-rbac-proxy:v0.18.1",
                               "securityContext": {"allowPrivilegeEscalation": False}})
    assert iac(k8s(ray)) == []
    del head["containers"][0]["resources"]
    (limits,) = of(iac(k8s(ray)), "DZ-IAC-008")
    assert "ray-head" in limits.evidence
