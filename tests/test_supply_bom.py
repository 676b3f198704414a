"""dozor bom: a CycloneDX 1.6 ML-BOM, checked against the 1.6 JSON schema; card readers."""

from __future__ import annotations

import json
import pathlib
import struct

import pytest

pytest.importorskip("cyclonedx")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from dozor.cli import app  # noqa: E402
from dozor.supply.bom import build_bom  # noqa: E402
from dozor.supply.card import front_matter, gguf_metadata, read_model_card  # noqa: E402

runner = CliRunner()

README = """---
license: apache-2.0
pipeline_tag: text-classification
language: [en, ru]
datasets:
  - imdb
base_model: distilbert-base-uncased
model-index:
  - name: sentiment
    results:
      - task: {type: text-classification}
        dataset: {name: imdb, type: imdb}
        metrics:
          - {type: accuracy, value: 0.931}
          - {type: f1, value: 0.929}
---
# Sentiment model
"""


def _safetensors(path: pathlib.Path) -> None:
    header = {"__metadata__": {"format": "pt"},
              "w": {"dtype": "F32", "shape": [4, 3], "data_offsets": [0, 48]},
              "b": {"dtype": "F32", "shape": [3], "data_offsets": [48, 60]}}
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * 60)


def _gguf_string(s: str) -> bytes:
    return struct.pack("<Q", len(s.encode())) + s.encode()


def _gguf(path: pathlib.Path) -> None:
    kvs = [("general.architecture", 8, _gguf_string("llama")),
           ("general.name", 8, _gguf_string("Tiny Llama")),
           ("general.license", 8, _gguf_string("mit")),
           ("llama.context_length", 4, struct.pack("<I", 2048)),
           ("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, 2) + _gguf_string("a")
            + _gguf_string("b"))]
    body = b"".join(_gguf_string(k) + struct.pack("<I", t) + v for k, t, v in kvs)
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs)) + body)


@pytest.fixture()
def model(tmp_path: pathlib.Path) -> pathlib.Path:
    m = tmp_path / "sentiment"
    m.mkdir()
    (m / "config.json").write_text(json.dumps({
        "architectures": ["DistilBertForSequenceClassification"], "model_type": "distilbert",
        "num_labels": 2}))
    (m / "README.md").write_text(README)
    _safetensors(m / "model.safetensors")
    return m


def _schema_errors(doc: dict[str, object]) -> list[str]:
    """Validate with jsonschema directly against the 1.6 schema cyclonedx-python-lib ships."""
    import jsonschema
    from cyclonedx.schema import _res
    from referencing import Registry, Resource

    res = pathlib.Path(_res.__file__).parent
    schema = json.loads((res / "bom-1.6.SNAPSHOT.schema.json").read_text())
    registry: Registry = Registry()
    for name in ("spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json",
                 "cryptography-defs.SNAPSHOT.schema.json"):
        path = res / name
        if path.exists():
            resource = Resource.from_contents(json.loads(path.read_text()))
            # the library's copies are named *.SNAPSHOT.*; refs resolve against the $id
            registry = registry.with_resource(f"http://cyclonedx.org/schema/{name}", resource)
    validator = jsonschema.Draft7Validator(schema, registry=registry)
    return [e.message for e in validator.iter_errors(doc)]


def test_bom_is_valid_cyclonedx_16(model: pathlib.Path, tmp_path: pathlib.Path) -> None:
    data = tmp_path / "train"
    data.mkdir()
    (data / "part-0.csv").write_text("text,label\nok,1\nbad,0\n")
    req = tmp_path / "requirements.txt"
    req.write_text("transformers==4.30.0\nnumpy==1.26.4\n")
    doc = build_bom(model, datasets=[data], requirements=[req], environment=False)
    assert doc["specVersion"] == "1.6" and doc["bomFormat"] == "CycloneDX"
    assert _schema_errors(doc) == []
    subject = doc["metadata"]["component"]
    assert subject["type"] == "machine-learning-model"
    card = subject["modelCard"]["modelParameters"]
    assert card["task"] == "text-classification"
    assert card["modelArchitecture"] == "DistilBertForSequenceClassification"
    assert card["architectureFamily"] == "distilbert"
    metrics = subject["modelCard"]["quantitativeAnalysis"]["performanceMetrics"]
    assert {"type": "accuracy", "value": "0.931", "slice": "imdb"} in metrics
    assert subject["licenses"] == [{"license": {"id": "Apache-2.0"}}]
    assert {c["name"] for c in subject["components"]} == {
        "config.json", "README.md", "model.safetensors"}
    assert all(c["hashes"][0]["alg"] == "SHA-256" for c in subject["components"])
    props = {p["name"]: p["value"] for p in subject["properties"]}
    assert props["dozor:parameters"] == "15"
    comps = {c["bom-ref"]: c for c in doc["components"]}
    assert comps["data:train"]["type"] == "data" and comps["data:train"]["hashes"]
    assert comps["data:train"]["data"][0]["type"] == "dataset"
    assert comps["data:imdb"]["data"][0]["name"] == "imdb"  # named by the card, not hashed
    refs = {d["ref"] for d in card["datasets"]}
    assert refs == {"data:train", "data:imdb"}
    assert "base-model:distilbert-base-uncased" in comps
    assert comps["pkg:pypi/transformers@4.30.0"]["version"] == "4.30.0"
    vulns = [v for v in doc.get("vulnerabilities", [])
             if v["affects"][0]["ref"] == "pkg:pypi/transformers@4.30.0"]
    assert vulns, "transformers 4.30.0 has published advisories in the bundled database"
    assert not [v for v in doc.get("vulnerabilities", [])
                if v["affects"][0]["ref"] == "pkg:pypi/numpy@1.26.4"
                and "2021" in v["id"]]  # numpy advisories from 2021 were fixed before 1.26


def test_gguf_and_single_file(tmp_path: pathlib.Path) -> None:
    g = tmp_path / "tiny.gguf"
    _gguf(g)
    card = read_model_card(g)
    assert card.family == "llama" and card.architecture == "Tiny Llama" and card.license == "mit"
    assert card.properties["gguf:llama.context_length"] == "2048"
    doc = build_bom(g, environment=False)
    assert _schema_errors(doc) == []
    assert doc["metadata"]["component"]["hashes"][0]["alg"] == "SHA-256"
    assert doc["metadata"]["component"]["licenses"] == [{"license": {"id": "MIT"}}]


def test_environment_packages_listed(model: pathlib.Path) -> None:
    doc = build_bom(model)
    names = {c["name"].lower() for c in doc["components"] if c["type"] == "library"}
    assert {"typer", "cyclonedx-python-lib", "model-signing"} <= names
    assert _schema_errors(doc) == []


def test_cli_bom(model: pathlib.Path, tmp_path: pathlib.Path) -> None:
    out = tmp_path / "bom.json"
    r = runner.invoke(app, ["bom", str(model), "--no-environment", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text())["specVersion"] == "1.6"
    r = runner.invoke(app, ["bom", str(tmp_path / "missing")])
    assert r.exit_code == 2


def test_hostile_card_files_do_not_break_the_bom(tmp_path: pathlib.Path) -> None:
    m = tmp_path / "m"
    m.mkdir()
    (m / "config.json").write_text('{"architectures": 5, "model_type": ["x"]}')
    (m / "README.md").write_text("---\n!!python/object:os.system [ls]\n---\n")
    (m / "model.safetensors").write_bytes(struct.pack("<Q", 1 << 60) + b"{}")
    (m / "x.gguf").write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1 << 60) + b"\xff" * 40)
    doc = build_bom(m, environment=False)
    assert _schema_errors(doc) == []


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2048))
def test_gguf_reader_survives_random_input(data: bytes) -> None:
    assert isinstance(gguf_metadata(b"GGUF" + data), dict)
    assert isinstance(gguf_metadata(data), dict)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=1000))
def test_front_matter_survives_random_text(text: str) -> None:
    assert isinstance(front_matter("---\n" + text + "\n---\n"), dict)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=1024))
def test_card_reader_survives_random_files(tmp_path_factory: pytest.TempPathFactory,
                                           data: bytes) -> None:
    m = tmp_path_factory.mktemp("card")
    for name in ("config.json", "README.md", "model.safetensors", "m.gguf"):
        (m / name).write_bytes(data)
    read_model_card(m)


def test_two_datasets_with_one_name(model: pathlib.Path, tmp_path: pathlib.Path) -> None:
    paths = []
    for split in ("a", "b"):
        d = tmp_path / split / "train"
        d.mkdir(parents=True)
        (d / "rows.csv").write_text(f"x\n{split}\n")
        paths.append(d)
    doc = build_bom(model, datasets=paths, environment=False)
    assert _schema_errors(doc) == []
    refs = [c["bom-ref"] for c in doc["components"] if c["type"] == "data"]
    assert len(refs) == len(set(refs)) and {"data:train", "data:train-2"} <= set(refs)


def test_card_reader_does_not_follow_links(tmp_path: pathlib.Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "config.json").write_text('{"architectures": ["SecretForCausalLM"]}')
    m = tmp_path / "m"
    m.mkdir()
    (m / "linked").symlink_to(outside, target_is_directory=True)
    assert read_model_card(m).architecture == ""


def test_spdx_3_ai_document(model: pathlib.Path, tmp_path: pathlib.Path) -> None:
    s = pytest.importorskip("spdx_python_model").v3_0_1
    from dozor.supply.spdx import build_spdx

    data = tmp_path / "train.csv"
    data.write_text("text,label\nok,1\n")
    doc = build_spdx(model, datasets=[data], environment=False)
    assert doc["@context"] == "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"
    objects = s.SHACLObjectSet()
    s.JSONLDDeserializer().deserialize_data(json.loads(json.dumps(doc)), objects)
    ai = [o for o in objects.foreach_type(s.ai_AIPackage) if o.name == "sentiment"]
    assert len(ai) == 1
    assert list(ai[0].ai_domain) == ["text-classification"]
    assert "DistilBertForSequenceClassification" in list(ai[0].ai_typeOfModel)
    assert {(m.key, m.value) for m in ai[0].ai_metric} >= {("accuracy", "0.931 (imdb)")}
    rels = {r.relationshipType.rsplit("/", 1)[-1]: r for r in objects.foreach_type(s.Relationship)
            if r.from_ is ai[0]}
    trained = {d.name: d for d in rels["trainedOn"].to}
    import hashlib

    assert trained["train.csv"].verifiedUsing[0].hashValue == hashlib.sha256(
        data.read_bytes()).hexdigest()
    assert "imdb" in trained  # named by the card
    assert list(rels["hasDeclaredLicense"].to)[0].simplelicensing_licenseExpression == \
        "Apache-2.0"
    assert {f.name for f in rels["contains"].to} == {"config.json", "README.md",
                                                      "model.safetensors"}
    (docs,) = list(objects.foreach_type(s.SpdxDocument))
    assert list(docs.rootElement) == [ai[0]]


def test_cli_bom_spdx(model: pathlib.Path, tmp_path: pathlib.Path) -> None:
    pytest.importorskip("spdx_python_model")
    out = tmp_path / "bom.spdx.json"
    r = runner.invoke(app, ["bom", str(model), "--no-environment", "--format", "spdx",
                            "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "ai_AIPackage" in out.read_text()
