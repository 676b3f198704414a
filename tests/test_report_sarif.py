"""SARIF output: valid against the official 2.1.0 schema and shaped for GitHub."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from dozor.findings import Finding, Location, Report, ScannedFile, Severity
from dozor.report import sarif

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
VALIDATOR = jsonschema.Draft4Validator(
    SCHEMA, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
)


def errors(log: dict[str, Any]) -> list[str]:
    return [e.message for e in VALIDATOR.iter_errors(log)]


def sample(base: Path) -> Report:
    zip_member = Location(str(base / "models" / "bundle.zip"), ("inner/model.pkl", "data.pkl"))
    return Report(
        version="0.1.0",
        started=1_700_000_000.0,
        seconds=1.5,
        findings=[
            Finding(
                "DZ-PKL-001",
                "Pickle calls os.system on load",
                Severity.CRITICAL,
                zip_member.at(offset=42),
                evidence="os.system",
                remediation="Do not load this file.",
                taxonomy=("ML06:2023", "AML.T0011.001"),
                scanner="pickle",
                details=(("import", "os.system"),),
            ),
            Finding(
                "DZ-PKL-001",
                "Pickle calls os.system on load",
                Severity.HIGH,
                Location(str(base / "a b" / "weights.pkl")),
                evidence="posix.system",
                taxonomy=("ML06:2023",),
                confidence=0.5,
            ),
            Finding(
                "DZ-CODE-007",
                "torch.load without weights_only",
                Severity.MEDIUM,
                Location(str(base / "train.py"), line=12),
                remediation="Pass weights_only.",
                taxonomy=("AML.T0010.003",),
            ),
            Finding(
                "DZ-NB-002",
                "Notebook output holds a key",
                Severity.LOW,
                Location("/elsewhere/nb.ipynb", ("cell 3",), line=4),
            ),
            Finding(
                "DZ-INFO-001", "Format recognised", Severity.INFO, Location("s3://bucket/model.bin")
            ),
        ],
        files=[ScannedFile(str(base / "train.py"), 10, ("python",), 0.01)],
        errors=["missing.pkl does not exist"],
        suppressed=2,
    )


@pytest.fixture
def log(tmp_path: Path) -> dict[str, Any]:
    return json.loads(sarif.render(sample(tmp_path), base_dir=tmp_path))


def test_valid_against_official_schema(log: dict[str, Any]) -> None:
    assert errors(log) == []


def test_empty_report_is_valid() -> None:
    log = json.loads(sarif.render(Report()))
    assert errors(log) == []
    assert log["runs"][0]["results"] == [] and log["runs"][0]["tool"]["driver"]["rules"] == []


@pytest.mark.parametrize(
    "breakage",
    [
        lambda log: log.pop("version"),
        lambda log: log["runs"][0]["results"][0].update(level="fatal"),
        lambda log: log["runs"][0]["results"][0]["locations"][0]["physicalLocation"][
            "region"
        ].update(startLine=0),
        lambda log: log["runs"][0]["tool"]["driver"].pop("name"),
        lambda log: log["runs"][0]["results"][0].update(message="not an object"),
        lambda log: log["runs"][0]["tool"]["driver"]["rules"][0].update(bogus=1),
    ],
)
def test_broken_sarif_fails_validation(log: dict[str, Any], breakage: Any) -> None:
    broken = copy.deepcopy(log)
    breakage(broken)
    assert errors(broken), "the schema accepted a broken log; the validation test is void"


def test_levels_and_security_severity(log: dict[str, Any]) -> None:
    results = log["runs"][0]["results"]
    assert [r["level"] for r in results] == ["error", "error", "warning", "note", "note"]
    assert [r["properties"]["security-severity"] for r in results] == [
        "9.5",
        "8.0",
        "5.5",
        "3.0",
        "0.0",
    ]


def test_one_rule_per_rule_id(log: dict[str, Any]) -> None:
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["DZ-PKL-001", "DZ-CODE-007", "DZ-NB-002", "DZ-INFO-001"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    pkl = rules[0]
    assert pkl["name"] == "PickleCallsOsSystemOnLoad"
    assert pkl["shortDescription"]["text"] == "Pickle calls os.system on load"
    assert "ML06:2023 AI Supply Chain Attacks" in pkl["fullDescription"]["text"]
    assert pkl["help"]["text"] == "Do not load this file."
    assert "(https://atlas.mitre.org/techniques/AML.T0011.001)" in pkl["help"]["markdown"]
    assert pkl["defaultConfiguration"]["level"] == "error"
    # GitHub reads security-severity from the rule, and only with the "security" tag.
    assert pkl["properties"]["tags"] == ["security", "ML06:2023", "AML.T0011.001"]
    assert pkl["properties"]["security-severity"] == "9.5"
    assert pkl["properties"]["precision"] == "very-high"
    assert rules[3]["help"]["text"] == "Format recognised"  # no remediation: the title


def test_locations(log: dict[str, Any], tmp_path: Path) -> None:
    locs = [r["locations"][0] for r in log["runs"][0]["results"]]
    phys = [loc["physicalLocation"] for loc in locs]
    assert [p["artifactLocation"]["uri"] for p in phys] == [
        "models/bundle.zip",
        "a%20b/weights.pkl",
        "train.py",
        "file:///elsewhere/nb.ipynb",
        "s3://bucket/model.bin",
    ]
    assert [p["region"]["startLine"] for p in phys] == [1, 1, 12, 1, 1]
    member = locs[0]
    assert member["logicalLocations"] == [
        {"name": "data.pkl", "fullyQualifiedName": "inner/model.pkl!data.pkl"}
    ]
    assert member["properties"] == {"members": ["inner/model.pkl", "data.pkl"], "offset": 42}
    assert locs[3]["properties"] == {"members": ["cell 3"], "line": 4}
    assert "properties" not in locs[2]
    message = log["runs"][0]["results"][0]["message"]["text"]
    assert message == "Pickle calls os.system on load: os.system (in inner/model.pkl!data.pkl)"


def test_fingerprints_are_the_findings(tmp_path: Path) -> None:
    report = sample(tmp_path)
    log = sarif.to_sarif(report, base_dir=tmp_path)
    got = [r["partialFingerprints"][sarif.FINGERPRINT_KEY] for r in log["runs"][0]["results"]]
    assert got == [f.fingerprint() for f in report.findings]


def test_uri_without_base_dir() -> None:
    assert sarif.artifact_uri("models/./x.pkl") == "models/x.pkl"
    assert sarif.artifact_uri("/abs/x y.pkl") == "file:///abs/x%20y.pkl"
    assert sarif.artifact_uri("bad\udcff.pkl") == "bad%FF.pkl"  # undecodable byte kept


def test_rule_text_does_not_depend_on_order(tmp_path: Path) -> None:
    report = sample(tmp_path)
    extra = Finding(
        "DZ-PKL-001",
        "Pickle imports builtins.eval",
        Severity.LOW,
        Location("z.pkl"),
        remediation="Other advice.",
        taxonomy=("AML.T0010.003", "LLM03:2025"),
    )
    report.findings.append(extra)
    flipped = Report(findings=list(reversed(report.findings)))
    rules = {r["id"]: r for r in sarif.to_sarif(report)["runs"][0]["tool"]["driver"]["rules"]}
    again = {r["id"]: r for r in sarif.to_sarif(flipped)["runs"][0]["tool"]["driver"]["rules"]}
    assert rules == again


def test_errors_become_notifications(log: dict[str, Any]) -> None:
    inv = log["runs"][0]["invocations"][0]
    assert inv["toolExecutionNotifications"][0]["message"]["text"] == "missing.pkl does not exist"
    assert inv["startTimeUtc"] == "2023-11-14T22:13:20.000000Z"
    assert log["runs"][0]["properties"] == {"suppressed": 2, "files": 1}


def test_hostile_text_is_made_printable(tmp_path: Path) -> None:
    f = Finding(
        "DZ-X-1", "bad\x1b[2Jtitle", Severity.HIGH, Location("x.pkl"), evidence="\u202eevil"
    )
    log = sarif.to_sarif(Report(findings=[f]))
    text = log["runs"][0]["results"][0]["message"]["text"]
    assert "\x1b" not in text and "\u202e" not in text
    assert text == "bad\\x1b[2Jtitle: \\u202eevil"
    assert errors(log) == []


def test_render_is_deterministic(tmp_path: Path) -> None:
    report = sample(tmp_path)
    assert sarif.render(report, tmp_path) == sarif.render(report, tmp_path)
