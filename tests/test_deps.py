"""Offline dependency audit: parsers, OSV range semantics, the bundled PyPA snapshot,
a user-supplied OSV export, the running environment, and routing from `dozor.scan`."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dozor
from dozor.findings import Finding, Location, Severity
from dozor.scan.base import Blob, ScanContext
from dozor.scan.deps import audit, cvss, database, osv
from dozor.scan.deps.environment import scan_installed
from dozor.scan.deps.pyproject import poetry_ranges
from dozor.scan.deps.scan import parse_dependency_file, scan_dependency_file
from dozor.scan.engine import dispatch
from dozor.taxonomy import unknown

ROOT = Path(__file__).resolve().parents[1]

# the real advisory in the bundled PyPA snapshot (vulns/torch/PYSEC-2025-41.yaml)
TORCH_ID = "PYSEC-2025-41"
TORCH_CVE = "CVE-2025-32434"
TORCH_GHSA = "GHSA-53q9-r3pm-6pq6"


def scan_file(path: Path, **options: str) -> list[Finding]:
    ctx = ScanContext(dispatch=dispatch, options=dict(options))
    data = path.read_bytes()
    return list(scan_dependency_file(Blob(data, Location(str(path)), name=path.name), ctx))


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def by_rule(findings: list[Finding], rule: str) -> list[Finding]:
    return [f for f in findings if f.rule_id == rule]


def advisories(findings: list[Finding], package: str) -> set[str]:
    return {f.detail("advisory") or "" for f in by_rule(findings, "DZ-DEP-001")
            if f.detail("package") == package}


# --- the torch case from the real database -------------------------------------------

def test_torch_251_pin_reports_cve_2025_32434_with_real_ids(tmp_path: Path) -> None:
    req = write(tmp_path, "requirements.txt", "# models\ntorch==2.5.1\n")
    findings = scan_file(req)
    hit = [f for f in by_rule(findings, "DZ-DEP-001") if f.detail("advisory") == TORCH_ID]
    assert len(hit) == 1
    f = hit[0]
    assert f.severity == Severity.CRITICAL  # CVSS:3.1 9.8 in the advisory
    assert f.detail("aliases") == f"{TORCH_CVE},{TORCH_GHSA}"
    assert f.detail("fixed") == "2.6.0"
    assert TORCH_CVE in f.title and "torch 2.5.1" in f.title
    assert TORCH_ID in f.evidence and TORCH_GHSA in f.evidence and "2.6.0" in f.evidence
    assert "2.6.0" in f.remediation
    assert f.location.path == str(req) and f.location.line == 2
    assert f.taxonomy == ("ML06:2023", "LLM03:2025", "AML.T0010", "AML.T0010.001")
    info = by_rule(findings, "DZ-DEP-004")
    assert len(info) == 1 and info[0].severity == Severity.INFO
    assert "2026-07-23" in info[0].title and "57da901a" in info[0].evidence


def test_torch_260_pin_is_not_affected_by_that_advisory(tmp_path: Path) -> None:
    findings = scan_file(write(tmp_path, "requirements.txt", "torch==2.6.0\n"))
    assert TORCH_ID not in advisories(findings, "torch")
    assert advisories(findings, "torch")  # later advisories still apply to 2.6.0


def test_local_version_label_is_the_same_release(tmp_path: Path) -> None:
    findings = scan_file(write(tmp_path, "requirements.txt", "torch==2.5.1+cpu\n"))
    assert TORCH_ID in advisories(findings, "torch")


def test_torch_range_is_dep_002_naming_admitted_advisories(tmp_path: Path) -> None:
    findings = scan_file(write(tmp_path, "requirements.txt", "torch>=2.0\n"))
    (f,) = by_rule(findings, "DZ-DEP-002")
    assert f.severity == Severity.MEDIUM
    assert TORCH_ID in (f.detail("advisories") or "").split(",")
    assert f"{TORCH_CVE} (fixed 2.6.0)" in f.evidence
    assert not by_rule(findings, "DZ-DEP-001")


def test_range_above_every_fix_admits_no_known_advisory(tmp_path: Path) -> None:
    findings = scan_file(write(tmp_path, "requirements.txt", "flask>=99\n"))
    (f,) = by_rule(findings, "DZ-DEP-002")
    assert f.severity == Severity.INFO and f.detail("advisories") == ""


def test_non_ml_range_with_advisories_is_low_and_suggests_a_floor(tmp_path: Path) -> None:
    findings = scan_file(write(tmp_path, "requirements.txt", "requests>=2.0\n"))
    (f,) = by_rule(findings, "DZ-DEP-002")
    assert f.severity == Severity.LOW
    assert "requests>=" in f.remediation and "excludes every advisory" in f.remediation


def test_git_url_is_dep_003_with_credentials_removed(tmp_path: Path) -> None:
    text = "git+https://user:s3cret@github.com/org/lib.git@v1#egg=lib\n"
    findings = scan_file(write(tmp_path, "requirements.txt", text))
    (f,) = by_rule(findings, "DZ-DEP-003")
    assert f.severity == Severity.MEDIUM and "VCS" in f.title
    assert "s3cret" not in f.evidence and f.detail("package") == "lib"
    assert not by_rule(findings, "DZ-DEP-004")  # nothing was checkable: no database loaded


# --- requirements files ----------------------------------------------------------------

def test_requirements_syntax(tmp_path: Path) -> None:
    text = (
        "--index-url https://pypi.org/simple\n"
        "transformers[torch]==4.30.0 \\\n"
        "    --hash=sha256:0123 --hash=sha256:4567  # pinned\n"
        "numpy===1.21.0 ; python_version < '3.10'\n"
        "pillow @ https://example.com/pillow-9.0.0.tar.gz\n"
        "./vendor/thing\n"
        "https://example.com/pkgs/foo-1.0-py3-none-any.whl\n"
        "-e git+https://github.com/org/bar.git#egg=bar\n"
        "torch==${TORCH_VERSION}\n"
        "keras==3.0.0 --config-settings=x=y\n"
    )
    deps, problems = parse_dependency_file("requirements.txt", text, Location("r.txt"))
    assert problems == []
    got = {d.key: d for d in deps}
    assert got["transformers"].version == "4.30.0" and got["transformers"].location.line == 2
    assert got["numpy"].version == "1.21.0" and "python_version" in got["numpy"].marker
    assert got["keras"].version == "3.0.0"
    for name in ("pillow", "thing", "foo", "bar", "torch"):
        assert got[name].unchecked, name


def test_requirements_include_and_constraint(tmp_path: Path) -> None:
    write(tmp_path, "reqs/base.txt", "-r ../common.txt\nscikit-learn\n")
    write(tmp_path, "common.txt", "-r reqs/base.txt\ntorch==2.5.1\n")  # a cycle
    write(tmp_path, "pins.txt", "scikit-learn==0.23.0\n")
    top = write(tmp_path, "requirements.txt",
                "-r reqs/base.txt\n-c pins.txt\n-r missing.txt\n-r https://x.org/r.txt\n")
    findings = scan_file(top)
    torch = [f for f in by_rule(findings, "DZ-DEP-001") if f.detail("advisory") == TORCH_ID]
    assert torch and torch[0].location.path.endswith("common.txt")
    assert torch[0].location.line == 2
    sk = [f for f in by_rule(findings, "DZ-DEP-001") if f.detail("package") == "scikit-learn"]
    assert sk and all("pinned to 0.23.0" in f.evidence for f in sk)
    assert sk[0].location.path.endswith("base.txt") and sk[0].location.line == 2
    reasons = {f.detail("reason") for f in by_rule(findings, "DZ-DEP-003")}
    assert any("not found" in (r or "") for r in reasons)
    assert any("offline" in (r or "") for r in reasons)


def test_requirements_include_depth_is_limited(tmp_path: Path) -> None:
    for i in range(8):
        write(tmp_path, f"r{i}.txt", f"-r r{i + 1}.txt\n")
    write(tmp_path, "r8.txt", "torch==2.5.1\n")
    findings = scan_file(write(tmp_path, "requirements.txt", "-r r0.txt\n"))
    assert not by_rule(findings, "DZ-DEP-001")
    assert any("deeper" in (f.detail("reason") or "") for f in by_rule(findings, "DZ-DEP-003"))


def test_requirements_bad_line_is_one_medium_finding(tmp_path: Path) -> None:
    findings = scan_file(write(tmp_path, "requirements.txt",
                               "torch==2.6.0\nthis is ; not [ a requirement\nalso bad (\n"))
    (f,) = by_rule(findings, "DZ-DEP-005")
    assert f.severity == Severity.MEDIUM and f.location.line == 2
    assert "line 2" in f.evidence and f.detail("count") == "2"


def test_clean_requirements_have_only_info(tmp_path: Path) -> None:
    findings = scan_file(write(tmp_path, "requirements.txt",
                               "# nothing risky\nsix==1.17.0\ncertifi==2026.10.18\n"))
    assert [f.rule_id for f in findings] == ["DZ-DEP-004"]


# --- pyproject.toml, setup.cfg -----------------------------------------------------------

PYPROJECT = """\
[project]
name = "demo"
dependencies = [
    "torch==2.5.1",
    "certifi==2026.10.18",
]
[project.optional-dependencies]
serve = ["gradio>=4", "demo[extra]"]
[dependency-groups]
dev = ["pillow==9.0.0", {include-group = "serve"}]
[tool.poetry.dependencies]
python = "^3.11"
transformers = "^4.30"
mylib = { git = "https://github.com/org/mylib.git" }
[tool.poetry.group.test.dependencies]
keras = "3.0.0"
"""


def test_pyproject_sections(tmp_path: Path) -> None:
    findings = scan_file(write(tmp_path, "pyproject.toml", PYPROJECT))
    assert TORCH_ID in advisories(findings, "torch")
    torch = [f for f in by_rule(findings, "DZ-DEP-001") if f.detail("package") == "torch"]
    assert torch[0].location.line == 4
    assert advisories(findings, "pillow")  # from [dependency-groups]
    assert advisories(findings, "keras")  # bare poetry version is an exact pin
    ranges = {f.detail("package"): f for f in by_rule(findings, "DZ-DEP-002")}
    assert set(ranges) == {"gradio", "transformers"}  # "demo[extra]" is the project itself
    assert ranges["transformers"].detail("range") == "<5,>=4.30"
    assert ranges["transformers"].location.line == 13
    assert {f.detail("package") for f in by_rule(findings, "DZ-DEP-003")} == {"mylib"}
    assert not advisories(findings, "certifi")


def test_pyproject_without_dependencies_loads_no_database(tmp_path: Path) -> None:
    database._cache.clear()
    findings = scan_file(write(tmp_path, "pyproject.toml", "[tool.ruff]\nline-length = 99\n"))
    assert findings == [] and database._cache == {}


def test_pyproject_malformed_names_the_line(tmp_path: Path) -> None:
    findings = scan_file(write(tmp_path, "pyproject.toml", "[project]\nname = 'x'\ndeps = [\n"))
    (f,) = findings
    assert f.rule_id == "DZ-DEP-005" and f.location.line is not None


@pytest.mark.parametrize("text,expected", [
    ("^1.2.3", ["<2,>=1.2.3"]), ("^0.2.3", ["<0.3,>=0.2.3"]), ("^0.0.3", ["<0.0.4,>=0.0.3"]),
    ("~1.2.3", ["<1.3,>=1.2.3"]), ("~1", ["<2,>=1"]), ("1.2.*", ["==1.2.*"]),
    (">=1.0, <2.0 || 3.0", ["<2.0,>=1.0", "==3.0"]), ("*", [""]),
])
def test_poetry_constraints(text: str, expected: list[str]) -> None:
    got = poetry_ranges(text)
    assert got is not None and [str(s) for s in got] == expected


def test_setup_cfg(tmp_path: Path) -> None:
    text = ("[metadata]\nname = demo\n[options]\ninstall_requires =\n    torch==2.5.1\n"
            "    idna>=3\n[options.extras_require]\nimg = pillow==9.0.0\n")
    findings = scan_file(write(tmp_path, "setup.cfg", text))
    assert TORCH_ID in advisories(findings, "torch") and advisories(findings, "pillow")
    clean = scan_file(write(tmp_path / "b", "setup.cfg", "[flake8]\nmax-line-length = 99\n"))
    assert clean == []


# --- lock files and Pipfiles -------------------------------------------------------------

def test_poetry_lock(tmp_path: Path) -> None:
    text = ('[[package]]\nname = "certifi"\nversion = "2026.10.18"\n\n'
            '[[package]]\nname = "torch"\nversion = "2.5.1"\n\n'
            '[[package]]\nname = "mylib"\nversion = "0.1.0"\n[package.source]\n'
            'type = "git"\nurl = "https://github.com/org/mylib.git"\n')
    findings = scan_file(write(tmp_path, "poetry.lock", text))
    torch = [f for f in by_rule(findings, "DZ-DEP-001") if f.detail("advisory") == TORCH_ID]
    assert torch and torch[0].location.line == 6
    assert {f.detail("package") for f in by_rule(findings, "DZ-DEP-003")} == {"mylib"}
    assert not advisories(findings, "certifi")


def test_uv_lock(tmp_path: Path) -> None:
    text = ('version = 1\n[[package]]\nname = "demo"\nversion = "0.1.0"\n'
            'source = { editable = "." }\n\n'
            '[[package]]\nname = "torch"\nversion = "2.5.1"\n'
            'source = { registry = "https://pypi.org/simple" }\n\n'
            '[[package]]\nname = "certifi"\nversion = "2026.10.18"\n'
            'source = { registry = "https://pypi.org/simple" }\n\n'
            '[[package]]\nname = "lib"\nversion = "1.0"\n'
            'source = { git = "https://github.com/org/lib?rev=abc" }\n')
    findings = scan_file(write(tmp_path, "uv.lock", text))
    assert TORCH_ID in advisories(findings, "torch")
    assert {f.detail("package") for f in by_rule(findings, "DZ-DEP-003")} == {"lib"}
    assert not any(f.detail("package") == "demo" for f in findings)
    assert not advisories(findings, "certifi")


def test_pylock(tmp_path: Path) -> None:
    text = ('lock-version = "1.0"\n[[packages]]\nname = "torch"\nversion = "2.5.1"\n'
            '[[packages.wheels]]\nurl = "https://files/torch.whl"\n'
            '[[packages]]\nname = "certifi"\nversion = "2026.10.18"\n'
            '[[packages]]\nname = "local"\n[packages.directory]\npath = "./local"\n')
    findings = scan_file(write(tmp_path, "pylock.toml", text))
    assert TORCH_ID in advisories(findings, "torch") and not advisories(findings, "certifi")
    assert {f.detail("package") for f in by_rule(findings, "DZ-DEP-003")} == {"local"}


def test_pipfile_lock(tmp_path: Path) -> None:
    doc = {"_meta": {"hash": {"sha256": "x"}},
           "default": {"torch": {"version": "==2.5.1", "hashes": []},
                       "certifi": {"version": "==2026.10.18"}},
           "develop": {"lib": {"git": "https://github.com/org/lib.git", "ref": "abc"}}}
    findings = scan_file(write(tmp_path, "Pipfile.lock", json.dumps(doc, indent=4)))
    torch = [f for f in by_rule(findings, "DZ-DEP-001") if f.detail("advisory") == TORCH_ID]
    assert torch and torch[0].location.line == 8
    assert not advisories(findings, "certifi")
    assert {f.detail("package") for f in by_rule(findings, "DZ-DEP-003")} == {"lib"}


def test_pipfile(tmp_path: Path) -> None:
    text = ('[[source]]\nurl = "https://pypi.org/simple"\nname = "pypi"\n'
            '[packages]\ntorch = "==2.5.1"\ncertifi = "==2026.10.18"\nnumpy = "*"\n'
            'lib = {path = "./lib", editable = true}\n[dev-packages]\npillow = {version = ">=9"}\n'
            '[requires]\npython_version = "3.11"\n')
    findings = scan_file(write(tmp_path, "Pipfile", text))
    assert TORCH_ID in advisories(findings, "torch") and not advisories(findings, "certifi")
    assert {f.detail("package") for f in by_rule(findings, "DZ-DEP-002")} == {"numpy", "pillow"}
    assert {f.detail("package") for f in by_rule(findings, "DZ-DEP-003")} == {"lib"}


# --- hostile and malformed input ---------------------------------------------------------

NAMES = ["requirements.txt", "pyproject.toml", "poetry.lock", "uv.lock", "Pipfile",
         "Pipfile.lock", "pylock.toml", "setup.cfg", "constraints.txt"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("text", ["[[[", "{\"default\": 3}", "\x00\xff garbage ]]] = =",
                                  "[project]\ndependencies = 7\n", "[" * 5000, "a" * 10000])
def test_malformed_files_never_raise(tmp_path: Path, name: str, text: str) -> None:
    findings = scan_file(write(tmp_path, name, text))
    assert all(f.rule_id.startswith("DZ-DEP-") for f in findings)


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(NAMES), text=st.text(max_size=300))
def test_fuzz_parsers_never_raise(name: str, text: str) -> None:
    ctx = ScanContext(dispatch=dispatch)
    blob = Blob(text.encode("utf-8", "surrogatepass"), Location(name), name=name)
    for f in scan_dependency_file(blob, ctx):
        assert f.rule_id.startswith("DZ-DEP-")


# --- OSV semantics, CVSS, the index ------------------------------------------------------

def _pkg(ranges: list[list[str]], versions: list[str] = ()) -> database.PackageAdvisories:
    return database.PackageAdvisories("p", {"advisories": [
        {"id": "X-1", "ranges": ranges, "versions": list(versions)}]})


def test_osv_events_sorted_into_intervals() -> None:
    events = [{"fixed": "2.0"}, {"introduced": "0"}, {"last_affected": "3.5"},
              {"introduced": "3.0"}, {"introduced": "4.0"}]
    assert osv.intervals(events) == [["0", "2.0", ""], ["3.0", "", "3.5"], ["4.0", "", ""]]
    assert osv.intervals([{"introduced": "0"}, {"fixed": "1.0-NA"}]) is None
    pkg = _pkg(osv.intervals(events) or [], ["9.9.post1"])
    hits = {v: bool(pkg.affecting(v)) for v in
            ("1.0", "2.0", "2.5", "3.0", "3.5", "3.6", "4.0", "99", "9.9.post1", "2.0rc1")}
    assert hits == {"1.0": True, "2.0": False, "2.5": False, "3.0": True, "3.5": True,
                    "3.6": False, "4.0": True, "99": True, "9.9.post1": True, "2.0rc1": True}
    assert pkg.affecting("1.5")[0].fixed == "2.0"
    assert pkg.affecting("3.1")[0].fixed is None


def test_cvss_scores() -> None:
    assert cvss.score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H") == (9.8, True)
    assert cvss.score("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N") == (6.1, True)
    assert cvss.score("CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H") == (7.8, True)
    assert cvss.score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N") == (0.0, True)
    v4 = cvss.score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N")
    assert v4 is not None and v4[1] is False and cvss.band(v4[0]) == "critical"
    assert cvss.score("CVSS:3.1/AV:Q") is None and cvss.score("nonsense") is None


def test_bundled_index_metadata_and_licence() -> None:
    db = database.load_database()
    assert db.source["commit"] == "57da901a" and db.snapshot == "2026-07-23"
    assert db.count > 6000
    data = ROOT / "src" / "dozor" / "scan" / "deps" / "data"
    assert (data / "advisories.json.gz").stat().st_size < 3_000_000
    assert "Attribution 4.0 International" in (data / "ADVISORIES-LICENSE").read_text()
    assert "CC-BY-4.0" in (data / "NOTICE").read_text()
    assert database.load_database() is db  # once per process


def test_index_build_is_reproducible(tmp_path: Path) -> None:
    src = tmp_path / "vulns" / "demo"
    src.mkdir(parents=True)
    (src / "A-1.yaml").write_text(
        "id: A-1\nmodified: 2026-01-02T00:00:00Z\npublished: 2026-01-01T00:00:00Z\n"
        "aliases: [CVE-2026-0001]\ndetails: Demo is a library. Demo 1.10 runs code.\n"
        "affected:\n- package: {ecosystem: PyPI, name: Demo_Lib}\n  ranges:\n"
        "  - type: ECOSYSTEM\n    events:\n    - introduced: 1.10\n    - fixed: 1.12\n")
    outs = []
    for name in ("a.json.gz", "b.json.gz"):
        out = tmp_path / name
        subprocess.run([sys.executable, str(ROOT / "tools" / "build_advisories.py"),
                        str(tmp_path / "vulns"), "--output", str(out)], check=True,
                       capture_output=True)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    index = osv.loads(outs[0])
    (adv,) = index["packages"]["demo-lib"]["advisories"]
    assert adv["ranges"] == [["1.10", "1.12", ""]]  # unquoted YAML 1.10 stays a version
    assert adv["summary"] == "Demo 1.10 runs code."
    # an index built this way is itself accepted by --advisory-db
    db = database.load_database(str(tmp_path / "a.json.gz"))
    assert db.package("demo_lib") is not None


def test_taxonomy_ids_are_known() -> None:
    assert unknown(audit.TAXONOMY) == []


# --- a user-supplied OSV export -----------------------------------------------------------

def _custom_db(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "TEST-0001.json").write_text(json.dumps({
        "id": "TEST-0001", "modified": "2025-03-01T00:00:00Z", "aliases": ["CVE-2027-0001"],
        "summary": "Demo flaw in torch", "severity": [
            {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:N/A:N"}],
        "affected": [{"package": {"ecosystem": "PyPI", "name": "torch"},
                      "ranges": [{"type": "ECOSYSTEM",
                                  "events": [{"introduced": "2.6.0"}, {"fixed": "2.7.0"}]}]}],
    }))
    (root / "npm.json").write_text(json.dumps({
        "id": "NPM-1", "affected": [{"package": {"ecosystem": "npm", "name": "torch"},
                                     "versions": ["2.5.1"]}]}))
    return root


def test_advisory_db_directory_overrides_the_bundled_one(tmp_path: Path) -> None:
    db = _custom_db(tmp_path / "osv")
    req = write(tmp_path, "requirements.txt", "torch==2.6.0\n")
    findings = scan_file(req, advisory_db=str(db))
    (f,) = by_rule(findings, "DZ-DEP-001")
    assert f.detail("advisory") == "TEST-0001" and f.severity == Severity.MEDIUM  # 4.3
    assert f.detail("fixed") == "2.7.0"
    (info,) = by_rule(findings, "DZ-DEP-004")
    assert "2025-03-01" in info.title and str(db) in info.evidence
    old = scan_file(write(tmp_path, "b/requirements.txt", "torch==2.5.1\n"),
                    advisory_db=str(db))
    assert not by_rule(old, "DZ-DEP-001")  # the bundled PYSEC-2025-41 is not consulted


def test_advisory_db_zip(tmp_path: Path) -> None:
    src = _custom_db(tmp_path / "osv")
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in src.iterdir():
            zf.write(p, p.name)
    req = write(tmp_path, "requirements.txt", "torch==2.6.1\n")
    assert advisories(scan_file(req, advisory_db=str(archive)), "torch") == {"TEST-0001"}


def test_unreadable_advisory_db_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "db.txt"
    bad.write_text("not osv")
    req = write(tmp_path, "requirements.txt", "torch==2.5.1\ngit+https://x.org/a.git#egg=a\n")
    findings = scan_file(req, advisory_db=str(bad))
    assert [f.rule_id for f in findings] == ["DZ-DEP-006", "DZ-DEP-003"]


def test_scan_installed_uses_the_running_environment(tmp_path: Path) -> None:
    from importlib.metadata import version

    mine = version("packaging")
    root = tmp_path / "osv"
    root.mkdir()
    (root / "T.json").write_text(json.dumps({
        "id": "TEST-PKG", "modified": "2027-01-01T00:00:00Z",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "packaging"},
                      "versions": [mine]}]}))
    findings = scan_installed({"advisory_db": str(root)})
    (f,) = by_rule(findings, "DZ-DEP-001")
    assert f.detail("version") == mine and f.severity == Severity.HIGH  # no severity given
    assert f.location.path == f"<environment: {sys.prefix}>"
    assert f.location.members == ("packaging",)
    assert [x.rule_id for x in findings].count("DZ-DEP-004") == 1


# --- routing from dozor.scan ---------------------------------------------------------------

def test_dozor_scan_routes_dependency_files(tmp_path: Path) -> None:
    write(tmp_path, "requirements.txt", "torch==2.5.1\n")
    write(tmp_path, "svc/pyproject.toml",
          '[project]\nname = "svc"\ndependencies = ["torch>=2.0"]\n')
    write(tmp_path, "notes.txt", "torch==2.5.1\n")  # not a dependency file by name
    report = dozor.scan(tmp_path, workers=1)
    assert not report.errors
    pinned = [f for f in report.findings if f.rule_id == "DZ-DEP-001"
              and f.detail("advisory") == TORCH_ID]
    assert [f.location.path for f in pinned] == [str(tmp_path / "requirements.txt")]
    ranged = [f for f in report.findings if f.rule_id == "DZ-DEP-002"]
    assert [f.location.path for f in ranged] == [str(tmp_path / "svc" / "pyproject.toml")]
    assert not any("notes.txt" in f.location.path and f.rule_id.startswith("DZ-DEP")
                   for f in report.findings)


def test_shipped_index_is_current() -> None:
    """Rebuilding from the shared PyPA snapshot gives the shipped bytes."""
    source = ROOT.parent / "shared" / "data" / "pypa-advisories" / "pypa-advisory-db.tar.gz"
    if not source.is_file():
        pytest.skip("the shared PyPA snapshot is not beside this checkout")
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import build_advisories
    finally:
        sys.path.remove(str(ROOT / "tools"))
    index = osv.compile_path(str(source), dict(build_advisories.DEFAULT_SOURCE))
    index["source"].pop("path", None)
    shipped = ROOT / "src" / "dozor" / "scan" / "deps" / "data" / "advisories.json.gz"
    assert osv.dumps(index) == shipped.read_bytes()
