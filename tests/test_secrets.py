"""Secret detection: every detector fires on its format and stays quiet on look-alikes.

No string in this file is a credential: every key is assembled at run time from a
prefix and seeded random characters, so secret scanners (ours, GitHub push protection)
have nothing to find in the repository itself.
"""

from __future__ import annotations

import base64
import json
import random
import re
import string
import time
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dozor import taxonomy
from dozor.detect import entropy
from dozor.detect.secrets import (
    KINDS,
    SecretMatch,
    find_secrets,
    redact,
    secret_findings,
)
from dozor.findings import Location, Severity
from dozor.scan import secrets_scan
from dozor.scan.base import Blob, ScanContext
from dozor.scan.registry import handler
from tests.conftest import scan_bytes

ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "_-"


def rand(seed: str, n: int, alphabet: str = ALNUM) -> str:
    """`n` characters that look generated (no runs like ``abcdef``, no repeats)."""
    rng = random.Random(f"{seed}/{n}")
    while True:
        value = "".join(rng.choice(alphabet) for _ in range(n))
        if n < 8:
            return value
        if entropy.is_placeholder(value):
            continue
        if alphabet != ALNUM or entropy.char_classes(value) == 3:
            return value


def pem(label: str, seed: str, *, headers: str = "", json_escaped: bool = False) -> str:
    lines = [rand(f"{seed}{i}", 64, B64) for i in range(6)] + [rand(seed, 20, B64) + "=="]
    nl = "\\n" if json_escaped else "\n"
    body = nl.join(lines)
    return f"-----BEGIN {label}-----{nl}{headers}{body}{nl}-----END {label}-----"


def jwt(seed: str, header: dict[str, str] | None = None) -> str:
    def part(obj: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    head = part(header or {"alg": "HS256", "typ": "JWT"})
    body = part({"sub": "1234", "name": "demo user", "iat": 1700000000})
    return f"{head}.{body}.{rand(seed, 43, URLSAFE)}"


OPENAI_MARK = "T3Blbk" + "FJ"  # the marker OpenAI keys carry, split so it is not one token

# (case id, expected kind, the secret, a line of text holding it)
FIRING: list[tuple[str, str, str, str]] = []


def case(case_id: str, kind: str, secret: str, template: str = "{}") -> None:
    FIRING.append((case_id, kind, secret, template.format(secret)))


case("hf-python", "huggingface", "hf_" + rand("hf", 34), 'HF_TOKEN = "{}"')
case("hf-cli", "huggingface", "hf_" + rand("hf2", 34), "huggingface-cli login --token {}")
case("hf-org", "huggingface-org", "api_org_" + rand("org", 34), "Authorization: Bearer {}")
case("openai-legacy", "openai", "sk-" + rand("oa1", 20) + OPENAI_MARK + rand("oa2", 20),
     'openai.api_key = "{}"')
case("openai-project", "openai",
     "sk-" + "proj-" + rand("op1", 74, URLSAFE) + OPENAI_MARK + rand("op2", 74, URLSAFE),
     "OPENAI_API_KEY={}")
case("openai-service-account", "openai",
     "sk-" + "svcacct-" + rand("sa1", 60, URLSAFE) + OPENAI_MARK + rand("sa2", 60, URLSAFE),
     "export OPENAI_API_KEY='{}'")
case("openai-admin", "openai", "sk-" + "admin-" + rand("adm", 80, URLSAFE), '"key": "{}"')
case("openai-compatible", "openai-compatible", "sk-" + rand("ds", 32, HEX),
     'OpenAI(api_key="{}", base_url="https://api.deepseek.com")')
case("openrouter", "openrouter", "sk-" + "or-v1-" + rand("or", 64, HEX), "KEY={}")
case("anthropic", "anthropic", "sk-" + "ant-api03-" + rand("ant", 93, URLSAFE) + "AA",
     'client = anthropic.Anthropic(api_key="{}")')
case("anthropic-admin", "anthropic", "sk-" + "ant-admin01-" + rand("anta", 93, URLSAFE) + "AA",
     "ANTHROPIC_ADMIN_KEY: {}")
case("cohere-positional", "cohere", rand("co", 40), 'co = cohere.Client("{}")')
case("cohere-env", "cohere", rand("co2", 40), "CO_API_KEY={}")
case("replicate", "replicate", "r8_" + rand("r8", 37), "REPLICATE_API_TOKEN={}")
case("wandb-login", "wandb", rand("wb", 40, HEX), 'wandb.login(key="{}")')
case("wandb-env", "wandb", rand("wb2", 40, HEX), "WANDB_API_KEY={}")
case("google", "google-api-key", "AIza" + rand("g", 35, URLSAFE),
     'genai.configure(api_key="{}")')
case("google-url", "google-api-key", "AIza" + rand("g2", 35, URLSAFE),
     "https://generativelanguage.googleapis.com/v1/models?key={}&alt=json")
case("aws-key-id", "aws-access-key-id", "AKIA" + rand("aws", 16, string.ascii_uppercase + "234567"),
     "aws_access_key_id = {}")
case("aws-secret", "aws-secret-access-key", rand("awss", 40, B64),
     "aws_secret_access_key = {}")
case("aws-secret-python", "aws-secret-access-key", rand("awss2", 40, B64),
     's3 = boto3.client("s3", aws_secret_access_key="{}")')
case("github-classic", "github", "ghp_" + rand("gh", 36), "GITHUB_TOKEN={}")
case("github-oauth", "github", "gho_" + rand("gho", 36), "token: {}")
case("github-fine-grained", "github",
     "github_pat_" + rand("pat1", 22) + "_" + rand("pat2", 59), "GH_TOKEN={}")
case("github-in-url", "github", "ghp_" + rand("ghu", 36),
     "git clone https://x-access-token:{}@github.com/org/repo.git")
case("slack-bot", "slack", "xoxb-" + rand("s1", 12, string.digits) + "-"
     + rand("s2", 13, string.digits) + "-" + rand("s3", 24), "SLACK_BOT_TOKEN={}")
SLACK_IDS = "ABCDEFGH0123456789"
case("slack-webhook", "slack-webhook", "hooks.slack.com/services/T" + rand("w1", 8, SLACK_IDS)
     + "/B" + rand("w2", 10, SLACK_IDS) + "/" + rand("w3", 24), 'url = "https://{}"')
case("stripe-secret", "stripe", "sk_" + "live_" + rand("st", 24), 'stripe.api_key = "{}"')
case("stripe-restricted", "stripe", "rk_" + "live_" + rand("rk", 24), "STRIPE_KEY={}")
case("groq", "groq", "gsk_" + rand("gq", 52), "GROQ_API_KEY={}")
case("mistral-env", "mistral", rand("mi", 32), "MISTRAL_API_KEY={}")
case("mistral-client", "mistral", rand("mi2", 32), 'client = Mistral(api_key="{}")')
case("together-new", "together", "tgp_v1_" + rand("tg", 43, URLSAFE), "TOGETHER_API_KEY={}")
case("together-legacy", "together", rand("tg2", 64, HEX), "TOGETHER_API_KEY={}")
case("perplexity", "perplexity", "pplx-" + rand("px", 48), 'PPLX_KEY = "{}"')
case("azure-openai", "azure-openai", rand("az", 32, HEX), 'AZURE_OPENAI_API_KEY="{}"')
case("xai", "xai", "xai-" + rand("xai", 80), "XAI_API_KEY={}")
case("nvidia", "nvidia", "nvapi-" + rand("nv", 64, URLSAFE), "NVIDIA_API_KEY={}")
case("langsmith", "langsmith", "lsv2_" + "pt_" + rand("ls1", 32, HEX) + "_" + rand("ls2", 10, HEX),
     "LANGCHAIN_API_KEY={}")
case("rsa-key", "private-key", pem("RSA PRIVATE KEY", "rsa"), "{}\n")
case("openssh-key", "private-key", pem("OPENSSH PRIVATE KEY", "ssh"), "{}")
case("ec-key", "private-key", pem("EC PRIVATE KEY", "ec"), "{}")
case("pkcs8-key", "private-key", pem("PRIVATE KEY", "p8"), "key = '''{}'''")
case("pgp-key", "private-key", pem("PGP PRIVATE KEY BLOCK", "pgp", headers="Version: GnuPG v2\n\n"),
     "{}")
case("encrypted-key", "encrypted-private-key", pem("ENCRYPTED PRIVATE KEY", "enc"), "{}")
case("gcp-service-account", "gcp-service-account", pem("PRIVATE KEY", "gcp", json_escaped=True),
     '{{"type": "service_account", "project_id": "demo", "private_key_id": "1", '
     '"private_key": "{}\\n", "client_email": "svc@demo.iam.gserviceaccount.com"}}')
case("jwt", "jwt", jwt("jwt"), "Cookie: session={}; Path=/")
case("password-python", "password", "Zq7" + rand("pw", 9) + "!x", 'DB_PASSWORD = "{}"')
case("password-yaml", "password", rand("pwy", 14), "  password: {}")
case("wandb-netrc", "wandb", rand("wbn", 40, HEX),
     "machine api.wandb.ai\n  login user\n  password {}")
case("password-netrc", "password", "Rt9" + rand("nrc", 12),
     "machine db.example.net login ml password {}")
case("password-pydantic", "password", "v9" + rand("pwp", 12), 'db_password: str = "{}"')
case("secret-json", "generic-secret", rand("cs", 32), '{{"client_secret": "{}"}}')
case("token-shell", "generic-secret", rand("tok", 40), "export API_TOKEN={}")
case("secret-key-django", "generic-secret", rand("dj", 50, ALNUM + "!@#%^&*(-_=+)"),
     "SECRET_KEY = '{}'")
case("camel-case", "generic-secret", rand("cc", 24), 'const apiKey = "{}";')
case("bearer", "bearer-token", rand("br", 40), 'curl -H "Authorization: Bearer {}" https://x')
case("url-password", "url-credentials", "P4" + rand("url", 14),
     "MLFLOW_TRACKING_URI=https://ml:{}@mlflow.internal.example.net")


@pytest.mark.parametrize(("kind", "secret", "text"), [c[1:] for c in FIRING],
                         ids=[c[0] for c in FIRING])
def test_detector_fires(kind: str, secret: str, text: str) -> None:
    matches = find_secrets(f"# config\n{text}\n")
    assert [m.kind for m in matches] == [kind]
    m = matches[0]
    wanted = f"# config\n{text}\n"
    assert wanted[m.start : m.end] == secret  # offsets cover exactly the secret
    assert m.line == 2 + text[: text.index(secret)].count("\n")
    assert m.rule_id == KINDS[kind].rule_id and m.rule_id.startswith("DZ-SEC-0")
    assert 0 < m.confidence <= 1
    assert secret not in m.redacted


def test_every_kind_has_a_firing_case() -> None:
    assert {kind for _, kind, _, _ in FIRING} == set(KINDS)


NOT_FIRING: list[tuple[str, str]] = [
    # placeholders and documentation examples
    ("hf-xxx", 'HF_TOKEN = "hf_' + "x" * 34 + '"'),
    ("hf-your-token", "HF_TOKEN=hf_" + "YourTokenGoesHereReplaceMe12345678"),
    ("sk-ellipsis", 'OPENAI_API_KEY="sk-..."'),
    ("sk-truncated", "api_key = 'sk-" + "proj-" + "abc...xyz'"),
    ("sk-sequence", "sk-" + "1234567890abcdef" * 3),
    ("sk-blocks", "sk-" + "abcd1234" * 6),
    ("your-api-key", 'api_key = "your_api_key"'),
    ("angle-placeholder", 'api_key = "<YOUR_API_KEY>"'),
    ("env-ref", 'api_key = "${OPENAI_API_KEY}"'),
    ("env-lookup", 'api_key = os.environ["OPENAI_API_KEY"]'),
    ("getenv-default-none", 'token = os.getenv("HF_TOKEN", None)'),
    ("actions-secret", "token: ${{ secrets.HF_TOKEN }}"),
    ("changeme", 'password = "changeme"'),
    ("same-char", 'password = "aaaaaaaaaaaa"'),
    ("stars", 'password = "************"'),
    ("aws-docs-id", "aws_access_key_id = AKIA" + "IOSFODNN7" + "EXAMPLE"),
    ("aws-docs-secret",
     "aws_secret_access_key = " + "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY"),
    ("pem-header-in-code", 'if line.startswith("-----BEGIN PRIVATE KEY-----"):'),
    ("pem-doc", "Keys look like -----BEGIN RSA PRIVATE KEY----- followed by base64."),
    ("public-key", pem("PUBLIC KEY", "pub")),
    ("certificate", pem("CERTIFICATE", "cert")),
    ("jwt-not-json", "eyJ" + rand("nj", 20, URLSAFE) + "." + rand("nj2", 30, URLSAFE) + "."
     + rand("nj3", 43, URLSAFE)),
    ("jwt-no-alg", jwt("na", {"typ": "JWT", "kid": "x"})),
    ("url-template", 'url = f"postgresql://{user}:{password}@{host}/db"'),
    ("url-placeholder", "postgres://user:password@localhost/db"),
    ("url-env", "git+https://oauth2:${GITLAB_TOKEN}@gitlab.com/org/repo.git"),
    ("url-word", "gist://username:token@id/file"),
    # hashes, ids and checksums in lock files and manifests
    ("pip-hash", "torch==2.5.1 --hash=sha256:" + rand("h1", 64, HEX)),
    ("uv-lock", '{ url = "https://files.pythonhosted.org/x.whl", hash = "sha256:'
     + rand("h2", 64, HEX) + '", size = 123 }'),
    ("npm-integrity", '"integrity": "sha512-' + rand("h3", 86, B64) + '=="'),
    ("poetry-content-hash", 'content-hash = "' + rand("h4", 64, HEX) + '"'),
    ("hash-named-key", 'key = "sha256:' + rand("h5", 64, HEX) + '"'),
    ("uuid-api-key", f'api_key = "{uuid.UUID(int=random.Random(1).getrandbits(128))}"'),
    ("uuid-run-id", f'run_id: "{uuid.UUID(int=random.Random(2).getrandbits(128))}"'),
    ("git-sha-rev", "rev: " + rand("sha", 40, HEX)),
    ("git-sha-key", 'key = "' + rand("sha2", 40, HEX) + '"'),
    ("cache-key", 'cache_key = "' + rand("ck", 40) + '"'),
    ("commit", 'commit = "' + rand("sha3", 40, HEX) + '"'),
    # ML code that uses the words
    ("pad-token", 'tokenizer.pad_token = "<pad>"'),
    ("eos-token", "tokenizer.pad_token = tokenizer.eos_token"),
    ("special-token", 'eos_token: "<|endoftext|>"'),
    ("max-tokens", "max_tokens = 512"),
    ("input-key", 'DataCollator(input_key="input_ids", label_key="labels")'),
    ("template-key", 'TEMPLATE_KEY = "tokenizer.chat_template"'),
    ("fingerprint-key", 'FINGERPRINT_KEY = "dozorFingerprint/v1"'),
    ("getpass", "password = getpass.getpass()"),
    ("format-field", 'api_key = "{' + 'settings.OPENAI_API_KEY' + '}"'),
    ("f-string", "token = f\"{" + "uuid.uuid4().hex}{" + "random.random()}\""),
    ("pydantic-field", 'api_key: str = Field(..., env="OPENAI_API_KEY")'),
    ("attribute", "secret = config.secret_value"),
    ("password-label", 'password_prompt = "Enter password"'),
    ("version", "spwd: 3.0-3.12"),
    ("path", 'token_path = "/var/run/secrets/kubernetes.io/serviceaccount/token"'),
    ("key-path", 'SSH_KEY = "~/.ssh/id_ed25519"'),
    ("cpp-scope", "DispatchKey::AutocastPrivateUse1,"),
    ("comparison", 'if token == "": pass'),
    ("password-prose", "Reset your password regularly; the password authentication flow."),
    ("password-docstring", "    password (string):\n        The secret passphrase."),
    # data that happens to hold the letters
    ("hf-inside-identifier", "xhf_" + rand("id", 34)),
    ("aiza-inside-base64",
     rand("b1", 200, B64) + "AIza" + rand("b2", 35, URLSAFE) + rand("b3", 40, B64)),
]


@pytest.mark.parametrize("text", [c[1] for c in NOT_FIRING], ids=[c[0] for c in NOT_FIRING])
def test_detector_stays_quiet(text: str) -> None:
    assert find_secrets(text) == []


def test_base64_image_in_a_notebook_output_is_not_a_secret() -> None:
    rng = random.Random(7)
    png = b"\x89PNG\r\n\x1a\n" + bytes(rng.getrandbits(8) for _ in range(300_000))
    output = {"output_type": "display_data", "metadata": {},
              "data": {"image/png": base64.b64encode(png).decode(), "text/plain": "<Figure>"}}
    assert find_secrets(json.dumps(output, indent=1)) == []
    markdown = f"![plot](data:image/png;base64,{base64.b64encode(png[:20_000]).decode()})"
    assert find_secrets(markdown) == []


def test_local_database_url_is_low() -> None:
    (m,) = find_secrets("DATABASE_URL=postgresql://app:" + rand("loc", 12) + "@localhost:5432/app")
    assert m.kind == "url-credentials" and m.severity == Severity.LOW


def test_aws_key_id_alone_is_medium_and_high_with_its_secret() -> None:
    key_id = "AKIA" + rand("pair", 16, string.ascii_uppercase + "234567")
    (alone,) = find_secrets(f"aws_access_key_id={key_id}")
    assert alone.severity == Severity.MEDIUM
    pair = find_secrets(f"aws_access_key_id={key_id}\naws_secret_access_key={rand('p2', 40, B64)}")
    assert [(m.kind, m.severity) for m in pair] == [
        ("aws-access-key-id", Severity.HIGH), ("aws-secret-access-key", Severity.HIGH)]


def test_specific_format_wins_over_the_generic_assignment() -> None:
    key = "gsk_" + rand("spec", 52)
    (m,) = find_secrets(f'api_key = "{key}"')
    assert m.kind == "groq" and m.name == ""


def test_openai_confidence_reflects_the_marker() -> None:
    with_mark = "sk-" + rand("m1", 20) + OPENAI_MARK + rand("m2", 20)
    without = "sk-" + rand("m3", 48)
    (a,) = find_secrets(with_mark)
    (b,) = find_secrets(without)
    assert a.confidence > b.confidence


def test_lines_and_columns() -> None:
    key = "hf_" + rand("loc", 34)
    text = "line one\n\nprefix = 'x'; token = \"" + key + '"\n'
    (m,) = find_secrets(text)
    assert (m.line, m.column) == (3, text.splitlines()[2].index(key) + 1)
    many = "".join(f"{i}: token = {'hf_' + rand(str(i), 34)}\n" for i in range(50))
    assert [m.line for m in find_secrets(many)] == list(range(1, 51))


def test_dotted_capital_i_keeps_offsets_right() -> None:
    key = rand("tr", 20)
    text = "İstanbul İzmir\npassword = '" + key + "1'"
    (m,) = find_secrets(text)
    assert text[m.start : m.end] == key + "1" and m.line == 2


def test_in_place_redaction_with_offsets() -> None:
    keys = ["hf_" + rand("r1", 34), "ghp_" + rand("r2", 36), rand("r3", 40, HEX)]
    text = f"a={keys[0]}\nb: {keys[1]}\nWANDB_API_KEY={keys[2]}\n"
    for m in reversed(find_secrets(text)):
        text = text[: m.start] + "[REDACTED]" + text[m.end :]
    assert text == "a=[REDACTED]\nb: [REDACTED]\nWANDB_API_KEY=[REDACTED]\n"


@pytest.mark.parametrize("n", [0, 1, 5, 6, 11, 12, 23, 24, 40, 200])
def test_redact_shows_at_most_four_and_a_third(n: int) -> None:
    value = rand("red", n) if n else ""
    shown = redact(value)
    assert shown.endswith(f"({n} chars)")
    visible = shown.rsplit(" (", 1)[0].replace("…", "")
    assert len(visible) <= min(8, n // 3)
    if n >= 6:
        assert value not in shown


def test_redact_keeps_a_public_prefix() -> None:
    value = "hf_" + rand("pp", 34)
    assert redact(value, public_prefix="hf_") == f"hf_{value[3:7]}…{value[-4:]} (37 chars)"


def test_findings_never_carry_the_value() -> None:
    text = "\n".join(line for _, _, _, line in FIRING)
    matches = find_secrets(text)
    assert len(matches) == len(FIRING)
    findings = secret_findings(matches, Location("repo/config.env"), "secrets")
    blob = json.dumps([f.to_dict() for f in findings])
    for _, _, secret, _ in FIRING:
        assert secret not in blob
        # nor any piece of it longer than the 4 characters redact() shows at either end;
        # public parts (a key's header, a documented prefix, a webhook's team id) may show
        core = re.split(r"\\n|\n", secret)[1] if "-----" in secret else secret.rsplit("/")[-1]
        assert all(core[i : i + 9] not in blob for i in range(12, len(core) - 8))
    for f, m in zip(findings, matches, strict=True):
        assert f.rule_id == m.rule_id and f.location.line == m.line
        assert f.detail("kind") == m.kind and f.scanner == "secrets"
        assert m.redacted in f.evidence
        assert all(taxonomy.lookup(t) is not None for t in f.taxonomy)
    assert "AML.T0055" in findings[0].taxonomy and "LLM02:2025" in findings[0].taxonomy


def test_secret_match_is_frozen_with_the_public_fields() -> None:
    (m,) = find_secrets("hf_" + rand("f", 34))
    assert isinstance(m, SecretMatch)
    with pytest.raises(AttributeError):
        m.kind = "x"  # type: ignore[misc]
    assert {"kind", "rule_id", "line", "column", "redacted", "severity", "confidence",
            "start", "end"} <= set(m.__dataclass_fields__)


# -- the scanner ------------------------------------------------------------------------

def test_scan_routes_text_files_to_secrets() -> None:
    key = "hf_" + rand("route", 34)
    for name in ("train.py", ".env", "config.yaml", "settings.toml", "notes.md"):
        found = [f for f in scan_bytes(f"x = 1\nHF_TOKEN={key}\n".encode(), name)
                 if f.rule_id.startswith("DZ-SEC")]
        assert [(f.rule_id, str(f.location)) for f in found] == [("DZ-SEC-001", f"{name}:2")]


def test_handler_is_registered() -> None:
    assert handler("secrets") is secrets_scan.scan_secrets


def test_large_file_scans_the_start_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets_scan, "MAX_TEXT_BYTES", 1000)
    early, late = "hf_" + rand("early", 34), "hf_" + rand("late", 34)
    data = f"a={early}\n".encode() + b"#" * 2000 + f"\nb={late}\n".encode()
    found = list(secrets_scan.scan_secrets(Blob(data, Location("big.txt"), name="big.txt"),
                                           ScanContext()))
    assert [f.rule_id for f in found] == ["DZ-SEC-001", "DZ-SEC-008"]
    assert found[1].severity == Severity.INFO


def test_invalid_utf8_is_scanned_around() -> None:
    key = "ghp_" + rand("bad", 36)
    data = b"\xff\xfe junk \xc3\x28 " + f"token: {key}\n".encode()
    found = list(secrets_scan.scan_secrets(Blob(data, Location("x.log")), ScanContext()))
    assert [f.detail("kind") for f in found] == ["github"]


def test_lock_files_do_not_fire() -> None:
    lock = "\n".join(
        f'{{ name = "pkg{i}", version = "1.0", hash = "sha256:{rand(str(i), 64, HEX)}" }}'
        for i in range(200)
    )
    assert [f for f in scan_bytes(lock.encode(), "uv.lock") if f.rule_id.startswith("DZ-SEC")] == []


# -- speed and robustness ---------------------------------------------------------------

def _cpu_seconds(text: str) -> float:
    start = time.process_time()
    find_secrets(text)
    return time.process_time() - start


def test_ten_megabytes_of_random_text_is_quick() -> None:
    rng = random.Random(3)
    words = ["key", "token", "=", ":", '"', "'", "password", "secret", "x", "sk-", "hf_",
             "\n", " ", "AIza", "eyJ", "://", "@", "Bearer"]
    text = "".join(rng.choice(words) if rng.random() < 0.3 else rng.choice(B64)
                   for _ in range(3_000_000))
    text = (text * 4)[:10_000_000]
    assert _cpu_seconds(text) < 5.0


@pytest.mark.parametrize(
    "unit",
    ["sk-", "hf_", "eyJ", "eyJa.", "-----BEGIN PRIVATE KEY-----\n", "://a:", "://a:b@",
     "key=", 'key":"', "password", "Bearer ", "AKIA", "a", "xoxb-1-", "'key': '",
     "token = \"" + "A" * 600],
    ids=lambda u: u[:12],
)
def test_adversarial_five_megabyte_line_finishes_in_a_second(unit: str) -> None:
    text = (unit * (5_000_000 // len(unit) + 1))[:5_000_000]
    assert _cpu_seconds(text) < 1.0


def test_many_near_misses_are_bounded() -> None:
    text = ("hf_" + "aB3" * 11 + "c ") * 130_000  # each a candidate that fails late
    assert _cpu_seconds(text) < 2.0


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=2000)
       | st.text(alphabet=ALNUM + "_-=:'\"/+. \n", max_size=2000))
def test_random_text_never_raises(text: str) -> None:
    for m in find_secrets(text):
        assert 0 <= m.start < m.end <= len(text)
        assert m.line == text.count("\n", 0, m.start) + 1
        assert text[m.start : m.end] not in m.redacted
