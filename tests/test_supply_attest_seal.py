"""dozor attest (in-toto + SLSA in DSSE) and dozor seal/unseal (age + signature)."""

from __future__ import annotations

import base64
import io
import json
import os
import pathlib
import subprocess
import tarfile

import pytest

pytest.importorskip("pyrage")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from dozor.cli import app  # noqa: E402
from dozor.supply.attest import (  # noqa: E402
    SLSA_PROVENANCE,
    attest,
    verify_attestation,
)
from dozor.supply.seal import MAGIC, SealError, SealRefused, seal, unseal  # noqa: E402
from tests.test_supply_keys import make_keys  # noqa: E402

runner = CliRunner()


def _model(root: pathlib.Path, name: str = "model") -> pathlib.Path:
    model = root / name
    (model / "sub").mkdir(parents=True)
    (model / "weights.bin").write_bytes(os.urandom(100_000))
    (model / "sub" / "config.json").write_text("{}")
    return model


def _git_repo(root: pathlib.Path) -> tuple[pathlib.Path, str]:
    repo = root / "code"
    repo.mkdir()
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}
    (repo / "train.py").write_text("print('train')\n")
    for cmd in (["init", "-q"], ["add", "train.py"], ["commit", "-q", "-m", "x"]):
        subprocess.run(["git", "-C", str(repo), *cmd], check=True, env=env)
    commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True,
                            capture_output=True, text=True).stdout.strip()
    return repo, commit


# --- attest -------------------------------------------------------------------------------

def test_attestation_round_trip(tmp_path: pathlib.Path) -> None:
    keys = make_keys(tmp_path)
    model = _model(tmp_path)
    data = tmp_path / "train.csv"
    data.write_text("x,y\n1,2\n")
    base = tmp_path / "base.safetensors"
    base.write_bytes(b"base")
    repo, commit = _git_repo(tmp_path)
    envelope = attest(model, keys.private, datasets=[data], base_model=base, repo=repo,
                      parameters={"epochs": "3"})
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    path = tmp_path / "model.intoto.json"
    path.write_text(json.dumps(envelope))
    check = verify_attestation(path, keys.public, model=model)
    assert check.ok, check.problems
    statement = check.statement
    assert statement["predicateType"] == SLSA_PROVENANCE
    assert {s["name"] for s in statement["subject"]} == {"weights.bin", "sub/config.json"}
    deps = statement["predicate"]["buildDefinition"]["resolvedDependencies"]
    assert deps[0]["digest"] == {"gitCommit": commit}
    import hashlib

    assert deps[1]["digest"]["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert deps[2]["digest"]["sha256"] == hashlib.sha256(b"base").hexdigest()
    assert statement["predicate"]["buildDefinition"]["externalParameters"]["epochs"] == "3"


def test_attestation_tampering(tmp_path: pathlib.Path) -> None:
    keys = make_keys(tmp_path)
    model = _model(tmp_path)
    path = tmp_path / "a.json"
    envelope = attest(model, keys.private)
    path.write_text(json.dumps(envelope))
    # the model changed after the run
    (model / "weights.bin").write_bytes(b"other")
    check = verify_attestation(path, keys.public, model=model)
    assert check.problems == ("attestation: changed: weights.bin (digest differs from the "
                              "attested output)",)
    # the statement was edited: the signature no longer holds
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["predicate"]["runDetails"]["builder"]["id"] = "urn:evil"
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    path.write_text(json.dumps(envelope))
    assert "does not verify" in verify_attestation(path, keys.public).problems[0]
    # another key
    other = make_keys(tmp_path, "other")
    path.write_text(json.dumps(attest(model, other.private)))
    assert "does not verify" in verify_attestation(path, keys.public).problems[0]
    path.write_text("not json")
    assert not verify_attestation(path, keys.public).ok


def test_cli_attest_and_verify_attestation(tmp_path: pathlib.Path) -> None:
    keys = make_keys(tmp_path)
    model = _model(tmp_path)
    r = runner.invoke(app, ["sign", str(model), "-k", str(keys.private)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["attest", str(model), "-k", str(keys.private), "--repo",
                            str(tmp_path), "--param", "lr=0.1"])
    assert r.exit_code == 0, r.output
    att = tmp_path / "model.intoto.json"
    assert att.is_file()
    r = runner.invoke(app, ["verify", str(model), "-k", str(keys.public),
                            "--attestation", str(att)])
    assert r.exit_code == 0, r.output
    assert "provenance attestation matches" in r.output


# --- seal / unseal ------------------------------------------------------------------------

def _identity(tmp_path: pathlib.Path, name: str = "bob") -> tuple[pathlib.Path, str]:
    import pyrage

    ident = pyrage.x25519.Identity.generate()
    path = tmp_path / f"{name}.agekey"
    path.write_text(f"# public key: {ident.to_public()}\n{ident}\n")
    return path, str(ident.to_public())


def test_seal_round_trip(tmp_path: pathlib.Path) -> None:
    keys = make_keys(tmp_path)
    model = _model(tmp_path)
    identity, recipient = _identity(tmp_path)
    bundle = tmp_path / "m.seal"
    result = seal(model, recipient, keys.private, bundle)
    assert result.files == 2
    assert b"weights" not in bundle.read_bytes()  # encrypted, names included
    out = tmp_path / "out"
    opened = unseal(bundle, identity, keys.public, out)
    assert opened.files == 2
    assert (out / "weights.bin").read_bytes() == (model / "weights.bin").read_bytes()
    assert (out / "sub" / "config.json").read_text() == "{}"


def _flip(path: pathlib.Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 1
    path.write_bytes(bytes(data))


def test_unseal_fails_closed(tmp_path: pathlib.Path) -> None:
    keys = make_keys(tmp_path)
    model = _model(tmp_path)
    identity, recipient = _identity(tmp_path)
    bundle = tmp_path / "m.seal"
    seal(model, recipient, keys.private, bundle)
    good = bundle.read_bytes()
    out = tmp_path / "out"
    # a changed byte of the ciphertext
    _flip(bundle, len(MAGIC) + 500)
    with pytest.raises(SealError, match="changed after it was signed"):
        unseal(bundle, identity, keys.public, out)
    assert not out.exists()
    # a changed signature
    bundle.write_bytes(good)
    env_at = good.rfind(b'"sig"')
    _flip(bundle, env_at + 12)
    with pytest.raises(SealError):
        unseal(bundle, identity, keys.public, out)
    # truncated
    bundle.write_bytes(good[: len(good) // 2])
    with pytest.raises(SealError):
        unseal(bundle, identity, keys.public, out)
    # another sender
    bundle.write_bytes(good)
    other = make_keys(tmp_path, "mallory")
    with pytest.raises(SealError, match="does not verify"):
        unseal(bundle, identity, other.public, out)
    # another recipient (forwarded)
    carol, _ = _identity(tmp_path, "carol")
    with pytest.raises(SealError, match="not for this identity"):
        unseal(bundle, carol, keys.public, out)
    assert not out.exists()
    assert not list(tmp_path.glob(".dozor-unseal-*"))  # no half-extracted leftovers
    unseal(bundle, identity, keys.public, out)  # the intact bundle still opens
    with pytest.raises(SealError, match="already exists"):
        unseal(bundle, identity, keys.public, out)


def _sealed_tar(tmp_path: pathlib.Path, members: list[tuple[str, bytes, bytes]],
                keys: object, recipient: str) -> pathlib.Path:
    """A correctly encrypted and signed bundle around a hand-made (hostile) tar."""
    import hashlib
    import struct

    import pyrage

    from dozor.supply.attest import _load_private, sign_envelope
    from dozor.supply.seal import PREDICATE, TRAILER

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, kind, data in members:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.size = len(data) if kind == tarfile.REGTYPE else 0
            if kind == tarfile.SYMTYPE:
                info.linkname = "/etc/passwd"
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    ct = pyrage.encrypt(buf.getvalue(), [pyrage.x25519.Recipient.from_str(recipient)])
    statement = {"_type": "https://in-toto.io/Statement/v1",
                 "subject": [{"name": "ciphertext",
                              "digest": {"sha256": hashlib.sha256(ct).hexdigest()}}],
                 "predicateType": PREDICATE, "predicate": {"recipient": recipient}}
    env = json.dumps(sign_envelope(statement, _load_private(keys.private, None))).encode()  # type: ignore[attr-defined]
    path = tmp_path / "hostile.seal"
    path.write_bytes(MAGIC + ct + env + struct.pack(">Q", len(env)) + TRAILER)
    return path


@pytest.mark.parametrize("members,message", [
    ([("MANIFEST.json", tarfile.REGTYPE, b'{"files": []}'),
      ("model/../../escape.txt", tarfile.REGTYPE, b"x")], "unsafe name"),
    ([("MANIFEST.json", tarfile.REGTYPE, b'{"files": []}'),
      ("/etc/evil", tarfile.REGTYPE, b"x")], "unsafe name"),
    ([("MANIFEST.json", tarfile.REGTYPE, b'{"files": []}'),
      ("model/link", tarfile.SYMTYPE, b"")], "not a regular file"),
    ([("MANIFEST.json", tarfile.REGTYPE, b'{"files": []}'),
      ("model/a", tarfile.REGTYPE, b"1"), ("model/a", tarfile.REGTYPE, b"2")], "twice"),
    ([("model/a", tarfile.REGTYPE, b"1")], "no manifest"),
    ([("MANIFEST.json", tarfile.REGTYPE, b'{"files": []}'),
      ("model/a", tarfile.REGTYPE, b"1")], "differ from the sealed manifest"),
])
def test_safe_extraction(tmp_path: pathlib.Path, members: list[tuple[str, bytes, bytes]],
                         message: str) -> None:
    keys = make_keys(tmp_path)
    identity, recipient = _identity(tmp_path)
    bundle = _sealed_tar(tmp_path, members, keys, recipient)
    out = tmp_path / "out"
    with pytest.raises(SealRefused, match=message):
        unseal(bundle, identity, keys.public, out)
    assert not out.exists()
    assert not (tmp_path / "escape.txt").exists()
    assert not list(tmp_path.glob(".dozor-unseal-*"))


def test_unseal_size_limit(tmp_path: pathlib.Path) -> None:
    from dozor.supply.seal import Limits

    keys = make_keys(tmp_path)
    model = _model(tmp_path)
    identity, recipient = _identity(tmp_path)
    bundle = tmp_path / "m.seal"
    seal(model, recipient, keys.private, bundle)
    with pytest.raises(SealError, match="size limit"):
        unseal(bundle, identity, keys.public, tmp_path / "out", limits=Limits(max_bytes=1000))
    with pytest.raises(SealError, match="more than 1 files"):
        unseal(bundle, identity, keys.public, tmp_path / "out", limits=Limits(max_files=1))


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=4096))
def test_unseal_survives_random_bundles(tmp_path_factory: pytest.TempPathFactory,
                                        data: bytes) -> None:
    tmp = tmp_path_factory.mktemp("fuzz")
    keys = make_keys(tmp)
    identity, _ = _identity(tmp)
    bundle = tmp / "b.seal"
    bundle.write_bytes(MAGIC + data if data[:1] != b"\x00" else data)
    with pytest.raises(SealError):
        unseal(bundle, identity, keys.public, tmp / "out")
    assert not (tmp / "out").exists()


def test_cli_seal_unseal(tmp_path: pathlib.Path) -> None:
    keys = make_keys(tmp_path)
    model = _model(tmp_path)
    identity, recipient = _identity(tmp_path)
    bundle = tmp_path / "m.seal"
    r = runner.invoke(app, ["seal", str(model), "-r", str(identity), "-k", str(keys.private),
                            "-o", str(bundle)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["unseal", str(bundle), "-i", str(identity), "-k",
                            str(tmp_path / "signer.pem"), "-o", str(tmp_path / "x")])
    assert r.exit_code == 2  # a private key where the sender's public key belongs
    other = make_keys(tmp_path, "mallory")
    r = runner.invoke(app, ["unseal", str(bundle), "-i", str(identity), "-k",
                            str(other.public), "-o", str(tmp_path / "x")])
    assert r.exit_code == 1 and "refused" in r.output
    r = runner.invoke(app, ["unseal", str(bundle), "-i", str(identity), "-k",
                            str(keys.public), "-o", str(tmp_path / "x")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "x" / "weights.bin").is_file()
    assert recipient.startswith("age1")


@settings(max_examples=60, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda c: st.lists(c, max_size=4)
                    | st.dictionaries(st.sampled_from(
                        ["payloadType", "payload", "signatures", "sig", "keyid"]), c,
                        max_size=4), max_leaves=12))
def test_attestation_reader_survives_random_json(tmp_path_factory: pytest.TempPathFactory,
                                                 doc: object) -> None:
    tmp = tmp_path_factory.mktemp("att")
    keys = make_keys(tmp)
    path = tmp / "a.json"
    path.write_text(json.dumps(doc))
    assert not verify_attestation(path, keys.public, model=tmp).ok


def test_seal_single_file(tmp_path: pathlib.Path) -> None:
    keys = make_keys(tmp_path)
    identity, recipient = _identity(tmp_path)
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF" + os.urandom(5000))
    bundle = tmp_path / "m.seal"
    seal(model, recipient, keys.private, bundle)
    out = tmp_path / "received"
    assert unseal(bundle, identity, keys.public, out).files == 1
    assert (out / "model.gguf").read_bytes() == model.read_bytes()


@settings(max_examples=30, deadline=None)
@given(st.dictionaries(st.sampled_from(["_type", "subject", "predicateType", "predicate"]),
                       st.recursive(st.none() | st.text(max_size=10) | st.integers(),
                                    lambda c: st.lists(c, max_size=3)
                                    | st.dictionaries(st.sampled_from(
                                        ["digest", "sha256", "recipient", "name"]), c,
                                        max_size=3), max_leaves=8), max_size=4))
def test_unseal_survives_odd_signed_statements(tmp_path_factory: pytest.TempPathFactory,
                                               statement: dict[str, object]) -> None:
    """Even a statement the trusted sender signed is parsed defensively."""
    import struct

    from dozor.supply.attest import _load_private, sign_envelope
    from dozor.supply.seal import TRAILER

    tmp = tmp_path_factory.mktemp("odd")
    keys = make_keys(tmp)
    identity, _ = _identity(tmp)
    env = json.dumps(sign_envelope(statement, _load_private(keys.private, None))).encode()
    bundle = tmp / "b.seal"
    bundle.write_bytes(MAGIC + b"ciphertext" + env + struct.pack(">Q", len(env)) + TRAILER)
    with pytest.raises(SealError):
        unseal(bundle, identity, keys.public, tmp / "out")
    assert not (tmp / "out").exists()


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("model/.\\\0ab:~")), max_size=30))
def test_safe_names_stay_inside(name: str) -> None:
    from dozor.supply.seal import _safe_name

    rel = _safe_name(name)
    if rel is not None:
        stage = pathlib.Path("/stage")
        target = stage.joinpath(*rel.split("/"))
        assert os.path.normpath(target).startswith("/stage/")
        assert ".." not in rel.split("/") and not rel.startswith("/")
