"""The catalogue of code rules: id, title, severity, fix and taxonomy, declared once.

Why a table: checks only say *which* rule fired and *what* they saw (a `Hit`); the
metadata every finding needs lives here, so docs/rules.md, severities and taxonomy
ids can be reviewed in one place and a check cannot invent a severity of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from dozor.findings import Severity

# Taxonomy ids (checked against the catalogues by tests/test_taxonomy.py).
_DESER = ("ML06:2023", "LLM03:2025", "AML.T0011.000", "AML.T0010.003")
_REMOTE = ("ML06:2023", "LLM03:2025", "ASI04", "AML.T0010.001", "AML.T0010.003",
           "AML.T0011.001")
_UNPINNED = ("ML06:2023", "LLM03:2025", "AML.T0010.003")
_LLM_TO_CODE = ("LLM05:2025", "LLM01:2025", "ASI05", "AML.T0051", "AML.T0050")
_LLM_TO_SQL = ("LLM05:2025", "LLM01:2025", "AML.T0051")
_INPUT_TO_CODE = ("AML.T0049", "AML.T0050")
_INPUT_TO_SQL = ("AML.T0049",)
_AGENCY = ("LLM06:2025", "ASI02", "ASI05", "AML.T0053", "AML.T0050")
_EXPOSED_RCE = ("AML.T0049", "AML.T0050")
_EXPOSED_MODEL = ("ML05:2023", "AML.T0040", "AML.T0049")
_EXPOSED_REGISTRY = ("ML05:2023", "AML.T0035", "AML.T0049")


@dataclass(frozen=True)
class CodeRule:
    """What a code rule means; every finding of the rule carries these."""

    id: str
    """``DZ-CODE-0xx``; suppressions and docs/rules.md use it."""
    title: str
    """One line saying what is wrong."""
    severity: Severity
    remediation: str
    """What the user should do."""
    taxonomy: tuple[str, ...] = ()
    """OWASP ML/LLM/Agentic and MITRE ATLAS ids."""
    confidence: float = 0.9
    """How sure a match of this rule usually is."""


@dataclass(frozen=True)
class Hit:
    """One match of a rule in one parsed source: which rule, where, and what was seen."""

    rule: CodeRule
    line: int
    """1-based line in the parsed source."""
    evidence: str
    details: tuple[tuple[str, str], ...] = ()
    source_line: int = 0
    """For data-flow rules: the line where the untrusted data entered (`line` is the sink)."""


_RULES = (
    # -- loaders that run code from the data they read -----------------------------------
    CodeRule(
        "DZ-CODE-001",
        "Data is loaded with a deserialiser that can run code",
        Severity.HIGH,
        "Load only files you produced or verified (dozor scan the file first); prefer "
        "formats that hold data only: safetensors, JSON, numpy without allow_pickle, "
        "yaml.safe_load, keras safe_mode=True.",
        _DESER,
    ),
    CodeRule(
        "DZ-CODE-002",
        "torch.load with weights_only=False runs any code in the checkpoint",
        Severity.HIGH,
        "Use weights_only=True with torch >= 2.6 (CVE-2025-32434 bypasses it on older "
        "torch), or store weights as safetensors.",
        _DESER,
    ),
    CodeRule(
        "DZ-CODE-003",
        "torch.load without weights_only=True is safe only on torch >= 2.6",
        Severity.MEDIUM,
        "Pass weights_only=True explicitly and require torch >= 2.6 (older versions "
        "default to full unpickling, and CVE-2025-32434 bypasses weights_only before 2.6).",
        _DESER,
        confidence=0.7,
    ),
    CodeRule(
        "DZ-CODE-004",
        "yaml.full_load / FullLoader: no code execution only since PyYAML 5.4",
        Severity.LOW,
        "Use yaml.safe_load; FullLoader ran code before PyYAML 5.4 (CVE-2020-14343).",
        _DESER,
    ),
    CodeRule(
        "DZ-CODE-005",
        "torch.jit.load runs the TorchScript code stored in the file when it is called",
        Severity.LOW,
        "TorchScript does not unpickle arbitrary Python, but the model's code is the "
        "author's: load archives you trust, and dozor scan the file first.",
        _DESER,
        confidence=0.8,
    ),
    # -- remote code and unpinned downloads ----------------------------------------------
    CodeRule(
        "DZ-CODE-010",
        "Code from a model hub or repository runs at load (remote code, not pinned)",
        Severity.HIGH,
        "Avoid trust_remote_code / torch.hub; if you need it, review the code and pin "
        "revision= (and code_revision=) to a full 40-hex commit sha.",
        _REMOTE,
    ),
    CodeRule(
        "DZ-CODE-011",
        "Remote code runs at load, pinned to a commit",
        Severity.MEDIUM,
        "Keep the pin; make sure the code at that commit was reviewed, and suppress this "
        "finding for it once it was.",
        _REMOTE,
    ),
    CodeRule(
        "DZ-CODE-012",
        "Model or dataset download not pinned to a commit",
        Severity.LOW,
        "Pass revision= with a full 40-hex commit sha so a changed or hijacked "
        "repository cannot swap the files.",
        _UNPINNED,
        confidence=0.7,
    ),
    # -- untrusted data reaching code execution or SQL -----------------------------------
    CodeRule(
        "DZ-CODE-020",
        "LLM output reaches code or shell execution",
        Severity.CRITICAL,
        "Never eval/exec or shell out LLM output; parse it as data (json.loads, "
        "ast.literal_eval), allow-list actions, or run code only in an isolated sandbox.",
        _LLM_TO_CODE,
        confidence=0.8,
    ),
    CodeRule(
        "DZ-CODE-021",
        "LLM output reaches an SQL query",
        Severity.HIGH,
        "Bind values as query parameters; if the model writes SQL, run it as a "
        "read-only user on an allow-listed schema.",
        _LLM_TO_SQL,
        confidence=0.8,
    ),
    CodeRule(
        "DZ-CODE-022",
        "Request, network or user input reaches code or shell execution",
        Severity.CRITICAL,
        "Never eval/exec or shell out outside input; parse it as data and pass commands "
        "as argument lists without shell=True.",
        _INPUT_TO_CODE,
        confidence=0.8,
    ),
    CodeRule(
        "DZ-CODE-023",
        "Request input reaches an SQL query built as a string",
        Severity.HIGH,
        "Bind values as query parameters instead of formatting them into the SQL text.",
        _INPUT_TO_SQL,
        confidence=0.8,
    ),
    # -- agents with dangerous tools -----------------------------------------------------
    CodeRule(
        "DZ-CODE-030",
        "An agent is given unrestricted code, shell or network tools",
        Severity.HIGH,
        "Give agents narrow tools; run generated code only in an isolated sandbox "
        "(container without secrets or network) and keep a human in the loop.",
        _AGENCY,
    ),
    CodeRule(
        "DZ-CODE-031",
        "An agent tool evaluates LLM-written code or expressions behind a partial sandbox",
        Severity.MEDIUM,
        "Prefer a tool without evaluation (a calculator API); otherwise keep the library "
        "current (LLMMathChain and numexpr had eval RCEs) and the sandbox on.",
        _AGENCY,
        confidence=0.7,
    ),
    # -- services exposed ----------------------------------------------------------------
    CodeRule(
        "DZ-CODE-040",
        "Flask/Werkzeug debugger on all interfaces: remote code execution",
        Severity.HIGH,
        "Never run debug=True beyond localhost; serve with a production server.",
        _EXPOSED_RCE,
    ),
    CodeRule(
        "DZ-CODE-041",
        "Gradio app shared publicly or on all interfaces without auth",
        Severity.MEDIUM,
        "Pass auth= (or put it behind an authenticating proxy) before share=True or "
        "server_name='0.0.0.0'.",
        _EXPOSED_MODEL,
    ),
    CodeRule(
        "DZ-CODE-042",
        "Ray dashboard on all interfaces: unauthenticated job submission",
        Severity.HIGH,
        "Bind the dashboard to 127.0.0.1 and reach it through an authenticated tunnel "
        "(the Jobs API runs any command; see CVE-2023-48022).",
        _EXPOSED_RCE,
    ),
    CodeRule(
        "DZ-CODE-043",
        "Jupyter server with token authentication disabled",
        Severity.HIGH,
        "Keep the token (or set a password hash); anyone who reaches the port can run code.",
        _EXPOSED_RCE,
    ),
    CodeRule(
        "DZ-CODE-044",
        "MLflow server on all interfaces (no authentication by default)",
        Severity.MEDIUM,
        "Bind to 127.0.0.1 or enable --app-name basic-auth behind TLS; the tracking server "
        "exposes models, artefacts and run data.",
        _EXPOSED_REGISTRY,
    ),
    CodeRule(
        "DZ-CODE-045",
        "uvicorn server bound to all interfaces",
        Severity.LOW,
        "Fine inside a container behind a proxy; otherwise bind to 127.0.0.1 and add "
        "authentication to the app.",
        ("AML.T0049",),
        confidence=0.6,
    ),
    # -- hygiene -------------------------------------------------------------------------
    CodeRule(
        "DZ-CODE-050",
        "TLS certificate verification is turned off",
        Severity.LOW,
        "Remove verify=False; a man in the middle can swap downloaded models and data.",
        _UNPINNED,
    ),
    CodeRule(
        "DZ-CODE-051",
        "tempfile.mktemp: another process can take the name first",
        Severity.LOW,
        "Use tempfile.mkstemp, NamedTemporaryFile or TemporaryDirectory.",
        (),
    ),
    CodeRule(
        "DZ-CODE-052",
        "Tar archive extracted without filter=: members can write outside the target",
        Severity.MEDIUM,
        "Pass filter='data' (Python >= 3.11.4/3.12) or check every member's path and type "
        "before extracting downloaded archives.",
        _UNPINNED,
        confidence=0.8,
    ),
    # -- not analysed --------------------------------------------------------------------
    CodeRule(
        "DZ-CODE-090",
        "Python source could not be parsed; its code rules were not checked",
        Severity.INFO,
        "Usually Python 2 or template code; port it or check it by hand.",
        (),
    ),
)

RULES: dict[str, CodeRule] = {r.id: r for r in _RULES}
