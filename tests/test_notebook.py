"""Notebooks: code rules per cell (IPython syntax tolerated, cells parsed as one module),
secrets in sources and outputs, and malformed files that never raise."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dozor.findings import Finding, Location, Severity
from dozor.scan.base import Blob, ScanContext
from dozor.scan.code.notebook import MAX_NOTEBOOK_BYTES, scan_notebook
from dozor.scan.engine import dispatch

GITHUB_TOKEN = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"
HF_TOKEN = "hf_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z"


def code(source: str | list[str], outputs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"cell_type": "code", "metadata": {}, "execution_count": None,
            "source": source, "outputs": outputs or []}


def markdown(source: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "metadata": {}, "source": source}


def notebook(*cells: dict[str, Any], language: str = "python") -> bytes:
    doc = {"nbformat": 4, "nbformat_minor": 5, "cells": list(cells),
           "metadata": {"kernelspec": {"name": "k", "language": language}}}
    return json.dumps(doc).encode()


def scan(data: bytes) -> list[Finding]:
    return list(scan_notebook(Blob(data, Location("nb.ipynb"), name="nb.ipynb"), ScanContext()))


def where(findings: list[Finding]) -> set[tuple[str, str]]:
    return {(f.rule_id, str(f.location)) for f in findings}


def test_cells_are_numbered_in_file_order_and_imports_carry_across_cells() -> None:
    found = scan(notebook(
        markdown("# Load a model"),
        code(["!pip install torch joblib\n", "import torch as t\n", "%matplotlib inline\n",
              "from joblib import load as jl"]),
        markdown("Now load it"),
        code("x = 1\nstate = t.load('m.pt')\nclf = jl('clf.joblib')\n"),
    ))
    assert where(found) == {("DZ-CODE-003", "nb.ipynb!cell 4:2"),
                            ("DZ-CODE-001", "nb.ipynb!cell 4:3")}
    assert all(f.scanner == "notebook" for f in found)


def test_ipython_syntax_is_neutralised_inside_blocks() -> None:
    found = scan(notebook(code(
        "%%time\nimport pickle\nfiles = !ls *.pkl\nfor f in files:\n    !echo $f\n"
        "    obj = pickle.load(open(f, 'rb'))\nobj?\n"
    )))
    assert where(found) == {("DZ-CODE-001", "nb.ipynb!cell 1:6")}


def test_windows_line_ends_keep_cell_lines() -> None:
    found = scan(notebook(code("import torch\r\n\r\n"), code("x = 1\r\n%time y = 2\r\n"
                                                                "torch.load(p)  # why?\r\n")))
    assert where(found) == {("DZ-CODE-003", "nb.ipynb!cell 2:3")}


def test_taint_crosses_cells_and_evidence_names_them() -> None:
    found = scan(notebook(
        code("from openai import OpenAI\nclient = OpenAI()"),
        code("resp = client.chat.completions.create(model='m', messages=[])\n"
             "answer = resp.choices[0].message.content"),
        code("exec(answer)"),
    ))
    (hit,) = [f for f in found if f.rule_id == "DZ-CODE-020"]
    assert str(hit.location) == "nb.ipynb!cell 3:1"
    assert hit.severity == Severity.CRITICAL
    assert hit.detail("source_line") == "cell 2 line 1"
    assert hit.detail("sink_line") == "cell 3 line 1"


def test_shell_lines_and_shell_cells_are_checked_as_commands() -> None:
    found = scan(notebook(
        code("%%bash\ncd /srv\nvllm serve org/model --trust-remote-code\n"),
        code("!jupyter lab --ip 0.0.0.0 --ServerApp.token='' &\nprint('started')"),
        code("%pip install transformers\n!pip install -U torch"),
    ))
    assert where(found) == {("DZ-CODE-010", "nb.ipynb!cell 1:3"),
                            ("DZ-CODE-043", "nb.ipynb!cell 2:1")}


def test_unparseable_cell_is_info_and_other_cells_are_still_checked() -> None:
    found = scan(notebook(
        code("import yaml"),
        code("print 'python 2 style'"),
        code("from __future__ import annotations\ncfg = yaml.load(open('c.yaml'))"),
    ))
    by_rule = {f.rule_id: f for f in found}
    assert by_rule["DZ-CODE-090"].severity == Severity.INFO
    assert str(by_rule["DZ-CODE-090"].location) == "nb.ipynb!cell 2"
    assert str(by_rule["DZ-CODE-001"].location) == "nb.ipynb!cell 3:2"


def test_nbformat_3_worksheets_and_input() -> None:
    doc = {"nbformat": 3, "metadata": {"language": "python"}, "worksheets": [{"cells": [
        {"cell_type": "markdown", "source": ["intro"]},
        {"cell_type": "code", "language": "python", "input": ["import pickle\n", "pickle.load(f)"],
         "outputs": []},
    ]}]}
    assert where(scan(json.dumps(doc).encode())) == {("DZ-CODE-001", "nb.ipynb!cell 2:2")}


def test_other_kernel_languages_get_no_python_rules() -> None:
    assert scan(notebook(code("x <- readRDS('m.rds')\npickle.load(f)"), language="R")) == []


def test_secrets_in_sources_and_every_kind_of_output() -> None:
    pytest.importorskip("dozor.detect.secrets")
    found = scan(notebook(
        markdown(f"Token for the demo: {GITHUB_TOKEN}"),
        code("print(1)", outputs=[
            {"output_type": "stream", "name": "stdout", "text": ["ok\n", f"HF_TOKEN={HF_TOKEN}\n"]},
        ]),
        code("show()", outputs=[
            {"output_type": "display_data", "metadata": {},
             "data": {"text/html": [f"<pre>key {GITHUB_TOKEN}</pre>"], "image/png": "iVBOR"}},
        ]),
        code("fail()", outputs=[
            {"output_type": "error", "ename": "ValueError", "evalue": "bad",
             "traceback": ["\x1b[0;31mValueError\x1b[0m", f"token={GITHUB_TOKEN}"]},
        ]),
        code("r", outputs=[
            {"output_type": "execute_result", "execution_count": 3, "metadata": {},
             "data": {"text/plain": "'fine'"}},
        ]),
    ))
    places = {str(f.location) for f in found if f.rule_id.startswith("DZ-SEC")}
    assert places == {"nb.ipynb!cell 1:1", "nb.ipynb!cell 2 output:2",
                      "nb.ipynb!cell 3 output:1", "nb.ipynb!cell 4 output:2"}
    assert all(GITHUB_TOKEN not in f.evidence and HF_TOKEN not in f.evidence for f in found)


@pytest.mark.parametrize(
    "data",
    [
        b"not json at all",
        b"[1, 2, 3]",
        b'{"nbformat": 4, "metadata": {}}',
        b'{"cells": "not a list"}',
        b"\xff\xfe\x00garbage",
        b"[" * 100_000,
    ],
)
def test_malformed_notebooks_give_one_medium_finding(data: bytes) -> None:
    (found,) = scan(data)
    assert (found.rule_id, found.severity) == ("DZ-NB-001", Severity.MEDIUM)


def test_wrong_types_inside_a_notebook_are_skipped() -> None:
    doc = {"cells": [
        7, None, "cell", {"cell_type": 5, "source": 12, "outputs": "x"},
        {"cell_type": "code", "source": ["a = 1\n", 5, None, "import pickle\n"],
         "outputs": [3, {"output_type": "stream", "text": 9}, {"data": {"text/plain": 4}},
                     {"traceback": [1, None]}]},
        {"cell_type": "code", "source": {"not": "text"}},
    ], "metadata": {"kernelspec": "python", "language_info": 3}}
    assert [f for f in scan(json.dumps(doc).encode()) if f.severity >= Severity.MEDIUM] == []


def test_huge_notebook_is_not_read() -> None:
    (found,) = scan(b" " * (MAX_NOTEBOOK_BYTES + 1))
    assert found.rule_id == "DZ-NB-001" and "limit" in found.evidence


def _no_crash(data: bytes) -> None:
    blob = Blob(data, Location("fuzz.ipynb"), name="fuzz.ipynb")
    found = list(dispatch(blob, ScanContext(dispatch=dispatch), "notebook"))
    assert not [f for f in found if f.rule_id.startswith("DZ-GEN")]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_random_text_never_raises(text: str) -> None:
    _no_crash(text.encode("utf-8", "surrogatepass"))


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=40)
    | st.sampled_from(["code", "markdown", "!ls", "%%bash\nls", "import torch\ntorch.load(x)",
                       "stream", "error", "text/plain", "exec(input())"]),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(
        st.sampled_from(["cells", "cell_type", "source", "outputs", "text", "data", "traceback",
                         "worksheets", "metadata", "input", "language", "text/html"]),
        inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=150, deadline=None)
@given(_JSON)
def test_random_json_never_raises(value: Any) -> None:
    _no_crash(json.dumps(value).encode())
    _no_crash(json.dumps({"cells": value}).encode())
