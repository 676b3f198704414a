"""The serving-manifest rules: id, title, default severity, fix and threat mapping.

Checks (in `kubernetes`, `compose`, `dockerfile` and `containers`) return `Hit`s that
name one of these rules; `scan` turns hits into findings at the right line. Keeping
the metadata here means every id, its taxonomy and its advice are read in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from dozor.findings import Finding, Location, Severity
from dozor.scan.base import finding

LLM02 = "LLM02:2025"  # Sensitive Information Disclosure
LLM03 = "LLM03:2025"  # Supply Chain
LLM04 = "LLM04:2025"  # Data and Model Poisoning
LLM10 = "LLM10:2025"  # Unbounded Consumption
ML05 = "ML05:2023"  # Model Theft
ML06 = "ML06:2023"  # AI Supply Chain Attacks
ML10 = "ML10:2023"  # Model Poisoning
UNSECURED_CREDENTIALS = "AML.T0055"
ESCAPE_TO_HOST = "AML.T0105"
MANIPULATE_MODEL = "AML.T0018"
SUPPLY_CHAIN_MODEL = "AML.T0010.003"
SUPPLY_CHAIN_SOFTWARE = "AML.T0010.001"
SUPPLY_CHAIN_REGISTRY = "AML.T0010.004"
DENIAL_OF_SERVICE = "AML.T0029"
COST_HARVESTING = "AML.T0034"
PUBLIC_APP = "AML.T0049"
INFERENCE_API = "AML.T0040"


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: Severity
    """Default severity; a hit may raise or lower it (the docs table says when)."""
    fix: str
    taxonomy: tuple[str, ...]


@dataclass(frozen=True)
class Hit:
    """One rule firing at one line, before it becomes a Finding."""

    rule: Rule
    line: int
    evidence: str
    severity: Severity | None = None
    confidence: float = 1.0
    title: str = ""


def hit(
    rule: Rule,
    line: int,
    evidence: str,
    severity: Severity | None = None,
    *,
    confidence: float = 1.0,
    title: str = "",
) -> Hit:
    return Hit(rule, line, evidence, severity, confidence, title)


def to_finding(h: Hit, location: Location, resource: str = "") -> Finding:
    details = {"resource": resource} if resource else None
    return finding(
        h.rule.id,
        h.title or h.rule.title,
        h.severity if h.severity is not None else h.rule.severity,
        location.at(line=h.line or None),
        evidence=h.evidence,
        remediation=h.rule.fix,
        scanner="iac",
        confidence=h.confidence,
        taxonomy=h.rule.taxonomy,
        details=details,
    )


UNREADABLE = Rule(
    "DZ-IAC-001",
    "Manifest could not be parsed; it was not checked",
    Severity.LOW,
    "Fix the YAML; for a Helm chart, scan the output of `helm template`.",
    (),
)
PLAIN_SECRET = Rule(
    "DZ-IAC-002",
    "Secret written in plain text in the manifest",
    Severity.HIGH,
    "Revoke the credential, then pass it from a secret store (Kubernetes secretKeyRef, "
    "compose secrets, `RUN --mount=type=secret`), never as a literal.",
    (LLM02, UNSECURED_CREDENTIALS),
)
BUILD_SECRET = Rule(
    "DZ-IAC-003",
    "Secret passed as a build argument or baked into the image environment",
    Severity.LOW,
    "Build arguments and ENV stay readable in the image history and config; use "
    "`RUN --mount=type=secret` at build time and inject secrets at run time.",
    (LLM02, UNSECURED_CREDENTIALS),
)
HOST_ACCESS = Rule(
    "DZ-IAC-004",
    "Container can take over the host (privileged, host namespaces, capabilities, runtime socket)",
    Severity.HIGH,
    "Remove privileged mode, host namespaces, added capabilities and container-runtime "
    "sockets; GPUs need the device plugin, not privileged mode.",
    (ESCAPE_TO_HOST,),
)
RUNS_AS_ROOT = Rule(
    "DZ-IAC-005",
    "Container runs as root or may gain privileges",
    Severity.LOW,
    "Set runAsNonRoot: true (and a non-zero runAsUser) and allowPrivilegeEscalation: "
    "false; in a Dockerfile end with `USER <non-root>`.",
    (ESCAPE_TO_HOST,),
)
SHARED_MODEL_CACHE = Rule(
    "DZ-IAC-006",
    "Model cache shared with the host: one workload can poison models for others",
    Severity.HIGH,
    "Use a per-workload volume (emptyDir, a PVC, a named volume) or mount the cache "
    "read-only and fill it from a verified source.",
    (LLM04, ML10, MANIPULATE_MODEL, SUPPLY_CHAIN_MODEL),
)
HOST_PATH = Rule(
    "DZ-IAC-007",
    "hostPath volume: the pod reads or writes the node's file system",
    Severity.LOW,
    "Prefer PVCs, ConfigMaps or emptyDir; mount host paths read-only when unavoidable.",
    (ESCAPE_TO_HOST,),
)
NO_LIMITS = Rule(
    "DZ-IAC-008",
    "Model server without resource limits",
    Severity.MEDIUM,
    "Set resources.limits for cpu and memory (and nvidia.com/gpu equal to its request) "
    "so one flood of requests cannot starve the node.",
    (LLM10, DENIAL_OF_SERVICE, COST_HARVESTING),
)
COMPOSE_NO_LIMITS = Rule(
    "DZ-IAC-009",
    "Compose model service without resource limits",
    Severity.LOW,
    "Set deploy.resources.limits (cpus, memory) for the service.",
    (LLM10, DENIAL_OF_SERVICE),
)
PUBLISHED = Rule(
    "DZ-IAC-010",
    "Model server published outside the cluster or host",
    Severity.MEDIUM,
    "Keep the service ClusterIP (or bind to 127.0.0.1) and publish it through an "
    "authenticating gateway; never publish Ray's dashboard or client port.",
    (LLM10, ML05, PUBLIC_APP, INFERENCE_API),
)
INGRESS_NO_AUTH = Rule(
    "DZ-IAC-011",
    "Ingress routes to a model server without authentication",
    Severity.MEDIUM,
    "Add authentication at the ingress (e.g. nginx auth-url/auth-type, oauth2-proxy, "
    "an auth middleware) or restrict source ranges.",
    (LLM10, ML05, PUBLIC_APP, INFERENCE_API),
)
NOTEBOOK_NO_TOKEN = Rule(
    "DZ-IAC-012",
    "Jupyter server started with authentication disabled",
    Severity.HIGH,
    "Remove the empty token/password options; anyone who reaches the port can run code.",
    (PUBLIC_APP, ESCAPE_TO_HOST),
)
OPEN_LISTENER = Rule(
    "DZ-IAC-013",
    "Server listens on all interfaces without its own authentication",
    Severity.LOW,
    "Bind to localhost or enable the server's authentication (MLflow `--app-name "
    "basic-auth`, a Jupyter token), and publish it only through an authenticating proxy.",
    (PUBLIC_APP, INFERENCE_API),
)
MUTABLE_IMAGE = Rule(
    "DZ-IAC-014",
    "Image without a fixed version (`latest` or no tag, no digest)",
    Severity.LOW,
    "Pin the image to a version tag and, better, a digest (`image@sha256:...`).",
    (LLM03, ML06, SUPPLY_CHAIN_REGISTRY),
)
REMOTE_CODE = Rule(
    "DZ-IAC-015",
    "Model server trusts remote code from the model repository",
    Severity.HIGH,
    "Drop --trust-remote-code; if a model needs custom code, vendor and review it and "
    "pin the model revision.",
    (LLM03, ML06, SUPPLY_CHAIN_MODEL),
)
PIPE_TO_SHELL = Rule(
    "DZ-IAC-016",
    "Dockerfile pipes a downloaded script into a shell",
    Severity.LOW,
    "Download the script, check its hash, then run it; never fetch code over plain http.",
    (LLM03, SUPPLY_CHAIN_SOFTWARE),
)
ADD_URL = Rule(
    "DZ-IAC-017",
    "Dockerfile ADD fetches a URL without a checksum",
    Severity.LOW,
    "Use `ADD --checksum=sha256:...` or download and verify in a RUN step; never use "
    "plain http.",
    (LLM03, SUPPLY_CHAIN_SOFTWARE),
)
UNPINNED_PIP = Rule(
    "DZ-IAC-018",
    "ML package installed without a pinned version",
    Severity.LOW,
    "Pin exact versions (`torch==2.4.1`), ideally from a lock file with hashes.",
    (LLM03, ML06, SUPPLY_CHAIN_SOFTWARE),
)
SECRET_FILE_COPIED = Rule(
    "DZ-IAC-019",
    "Dockerfile copies a credential file into the image",
    Severity.MEDIUM,
    "Keep credential files out of the build context (.dockerignore) and use "
    "`RUN --mount=type=secret` instead.",
    (LLM02, UNSECURED_CREDENTIALS),
)
PLAIN_HTTP_MODEL = Rule(
    "DZ-IAC-020",
    "Model fetched over plain http",
    Severity.MEDIUM,
    "Serve model storage over https (or s3://, gs://, pvc://) so it cannot be swapped "
    "in transit.",
    (ML06, LLM03, SUPPLY_CHAIN_MODEL),
)
ISVC_NO_AUTH = Rule(
    "DZ-IAC-021",
    "InferenceService exposed without authentication",
    Severity.LOW,
    "Keep it cluster-local (Serverless: label networking.knative.dev/visibility: "
    "cluster-local; RawDeployment: no networking.kserve.io/visibility: exposed) or put "
    "authentication in front (a gateway policy; on OpenShift AI / Open Data Hub the "
    "annotation security.opendatahub.io/enable-auth: \"true\").",
    (LLM10, ML05, INFERENCE_API),
)

ALL_RULES = (
    UNREADABLE, PLAIN_SECRET, BUILD_SECRET, HOST_ACCESS, RUNS_AS_ROOT, SHARED_MODEL_CACHE,
    HOST_PATH, NO_LIMITS, COMPOSE_NO_LIMITS, PUBLISHED, INGRESS_NO_AUTH, NOTEBOOK_NO_TOKEN,
    OPEN_LISTENER, MUTABLE_IMAGE, REMOTE_CODE, PIPE_TO_SHELL, ADD_URL, UNPINNED_PIP,
    SECRET_FILE_COPIED, PLAIN_HTTP_MODEL, ISVC_NO_AUTH,
)
