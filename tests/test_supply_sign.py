"""dozor sign / verify: round trips (key, certificate chain) and every kind of tampering."""

from __future__ import annotations

import json
import os
import pathlib
import shutil

import pytest

pytest.importorskip("model_signing")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from dozor.cli import app  # noqa: E402
from dozor.supply import SigningError, Trust, sign_model, verify_model  # noqa: E402
from tests.test_supply_keys import make_chain, make_keys  # noqa: E402

runner = CliRunner()


def _model(root: pathlib.Path, name: str = "model") -> pathlib.Path:
    model = root / name
    (model / "sub").mkdir(parents=True)
    (model / "config.json").write_text('{"architectures": ["BertModel"]}')
    (model / "weights.bin").write_bytes(os.urandom(300_000))
    (model / "sub" / "tokenizer.json").write_text('{"v": 1}')
    return model


@pytest.fixture()
def signed(tmp_path: pathlib.Path) -> tuple[pathlib.Path, Trust, pathlib.Path]:
    keys = make_keys(tmp_path)
    model = _model(tmp_path)
    sign_model(model, key=keys.private)
    return model, Trust(key=keys.public), keys.private


def test_key_round_trip_folder(signed: tuple[pathlib.Path, Trust, pathlib.Path]) -> None:
    model, trust, _ = signed
    assert (model / "model.sig").is_file()
    result = verify_model(model, trust)
    assert result.ok, result.reasons
    assert result.files == 3 and result.hash_algorithm == "sha256"
    assert result.signer.startswith("key sha256:")


def test_single_file_signature_beside_it(tmp_path: pathlib.Path) -> None:
    keys = make_keys(tmp_path)
    f = tmp_path / "model.safetensors"
    f.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    sign_model(f, key=keys.private)
    assert (tmp_path / "model.safetensors.sig").is_file()
    assert verify_model(f, Trust(key=keys.public)).ok
    f.write_bytes(f.read_bytes() + b"x")
    result = verify_model(f, Trust(key=keys.public))
    assert not result.ok
    assert result.reasons == ("changed: model.safetensors (its digest differs from the signed "
                              "one)",)


@pytest.mark.parametrize("hash_algorithm,shard", [("blake3", None), ("sha256", 65536)])
def test_blake3_and_shards_round_trip(tmp_path: pathlib.Path, hash_algorithm: str,
                                      shard: int | None) -> None:
    keys = make_keys(tmp_path)
    model = _model(tmp_path)
    sign_model(model, key=keys.private, hash_algorithm=hash_algorithm, shard_size=shard)
    result = verify_model(model, Trust(key=keys.public))
    assert result.ok and result.hash_algorithm == hash_algorithm
    with open(model / "weights.bin", "r+b") as f:
        f.seek(200_000)
        f.write(b"\x00" if f.read(1) != b"\x00" else b"\x01")
    result = verify_model(model, Trust(key=keys.public))
    assert result.reasons == ("changed: weights.bin (its digest differs from the signed one)",)


def test_changed_byte(signed: tuple[pathlib.Path, Trust, pathlib.Path]) -> None:
    model, trust, _ = signed
    with open(model / "sub" / "tokenizer.json", "r+b") as f:
        f.write(b"[")
    result = verify_model(model, trust)
    assert not result.ok
    assert result.reasons == ("changed: sub/tokenizer.json (its digest differs from the "
                              "signed one)",)


def test_added_file(signed: tuple[pathlib.Path, Trust, pathlib.Path]) -> None:
    model, trust, _ = signed
    (model / "sub" / "extra.py").write_text("import os\n")
    result = verify_model(model, trust)
    assert result.reasons == ("added: sub/extra.py (not in the signature)",)


def test_removed_file(signed: tuple[pathlib.Path, Trust, pathlib.Path]) -> None:
    model, trust, _ = signed
    (model / "config.json").unlink()
    result = verify_model(model, trust)
    assert result.reasons == ("missing: config.json (signed but not found)",)


def test_swapped_signature_from_another_model(
        signed: tuple[pathlib.Path, Trust, pathlib.Path], tmp_path: pathlib.Path) -> None:
    model, trust, private = signed
    other = _model(tmp_path, "other")
    sign_model(other, key=private)  # same signer, different model
    shutil.copy(other / "model.sig", model / "model.sig")
    result = verify_model(model, trust)
    assert not result.ok
    assert result.reasons == ("changed: weights.bin (its digest differs from the signed one)",)


def test_signature_by_another_key(signed: tuple[pathlib.Path, Trust, pathlib.Path],
                                  tmp_path: pathlib.Path) -> None:
    model, _, _ = signed
    mallory = make_keys(tmp_path, "mallory")
    sign_model(model, key=mallory.private)  # re-signed by someone else
    keys_pub = Trust(key=tmp_path / "signer.pub")
    result = verify_model(model, keys_pub)
    assert not result.ok
    assert "does not verify with key" in result.reasons[0]


def test_edited_signature_payload(signed: tuple[pathlib.Path, Trust, pathlib.Path]) -> None:
    model, trust, _ = signed
    sig = model / "model.sig"
    text = sig.read_text()
    import base64
    import json

    bundle = json.loads(text)
    payload = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    payload["predicate"]["resources"][0]["digest"] = "0" * 64
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(
        json.dumps(payload).encode()).decode()
    sig.write_text(json.dumps(bundle))
    result = verify_model(model, trust)
    assert not result.ok and "does not verify" in result.reasons[0]


def test_garbage_and_missing_signature(signed: tuple[pathlib.Path, Trust, pathlib.Path]) -> None:
    model, trust, _ = signed
    (model / "model.sig").write_bytes(b"\x00not json")
    assert "not a model signature" in verify_model(model, trust).reasons[0]
    (model / "model.sig").unlink()
    assert "unsigned" in verify_model(model, trust).reasons[0]


def test_certificate_chain_round_trip(tmp_path: pathlib.Path) -> None:
    chain = make_chain(tmp_path)
    model = _model(tmp_path)
    sign_model(model, key=chain.leaf_key, certificate=chain.leaf,
               chain=[chain.intermediate, chain.root])
    result = verify_model(model, Trust(chain=(chain.root,)))
    assert result.ok, result.reasons
    assert "model signer" in result.signer
    other = make_chain(tmp_path, "other")
    rejected = verify_model(model, Trust(chain=(other.root,)))
    assert not rejected.ok and "does not verify" in rejected.reasons[0]
    (model / "weights.bin").write_bytes(b"swapped")
    assert verify_model(model, Trust(chain=(chain.root,))).reasons == (
        "changed: weights.bin (its digest differs from the signed one)",)


def test_interoperates_with_model_signing_library(tmp_path: pathlib.Path) -> None:
    import model_signing

    keys = make_keys(tmp_path)
    model = _model(tmp_path)
    sign_model(model, key=keys.private, hash_algorithm="blake3")
    model_signing.verifying.Config().use_elliptic_key_verifier(
        public_key=keys.public).verify(model, model / "model.sig")
    theirs = _model(tmp_path, "theirs")
    model_signing.signing.Config().use_elliptic_key_signer(
        private_key=keys.private).set_hashing_config(
        model_signing.hashing.Config().set_ignored_paths(paths=["model.sig"])).sign(
        theirs, theirs / "model.sig")
    assert verify_model(theirs, Trust(key=keys.public)).ok


def test_symlink_in_model_is_refused(signed: tuple[pathlib.Path, Trust, pathlib.Path]) -> None:
    model, trust, _ = signed
    (model / "link").symlink_to("/etc/hostname")
    result = verify_model(model, trust)
    assert not result.ok


def test_errors(tmp_path: pathlib.Path) -> None:
    with pytest.raises(SigningError, match="does not exist"):
        sign_model(tmp_path / "nope", key=tmp_path / "k.pem")
    model = _model(tmp_path)
    with pytest.raises(SigningError, match="does not exist"):
        sign_model(model, key=tmp_path / "k.pem")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "rsa.pem").write_bytes(rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    with pytest.raises(SigningError):
        sign_model(model, key=tmp_path / "rsa.pem")


def test_sigstore_offline_says_so(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _model(tmp_path)
    for var in ("HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")  # nothing listens: fail fast, offline
    with pytest.raises(SigningError, match="needs the network") as info:
        sign_model(model, sigstore=True, identity_token="not-a-token")
    assert "sign with --key" in str(info.value)
    assert not (model / "model.sig").exists()


def test_cli_exit_codes(tmp_path: pathlib.Path) -> None:
    keys = make_keys(tmp_path)
    model = _model(tmp_path)
    r = runner.invoke(app, ["sign", str(model), "--key", str(keys.private)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["verify", str(model), "--key", str(keys.public)])
    assert r.exit_code == 0 and "verified" in r.output
    (model / "evil.py").write_text("x")
    r = runner.invoke(app, ["verify", str(model), "--key", str(keys.public)])
    assert r.exit_code == 1
    assert "added: evil.py" in r.output
    r = runner.invoke(app, ["verify", str(model), "--key", str(tmp_path / "none.pub")])
    assert r.exit_code == 2 and "does not exist" in r.output
    r = runner.invoke(app, ["verify", str(model)])
    assert r.exit_code == 2
    r = runner.invoke(app, ["verify", str(model), "--key", str(keys.private)])
    assert r.exit_code == 2 and "is a private key" in r.output
    r = runner.invoke(app, ["verify", str(model), "--key", str(keys.public), "-f", "json"])
    assert r.exit_code == 1 and '"verified": false' in r.output


def test_cli_certificate_mode(tmp_path: pathlib.Path) -> None:
    chain = make_chain(tmp_path)
    model = _model(tmp_path)
    r = runner.invoke(app, ["sign", str(model), "-k", str(chain.leaf_key), "--certificate",
                            str(chain.leaf), "--certificate-chain", str(chain.intermediate),
                            "--certificate-chain", str(chain.root)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["verify", str(model), "--certificate-chain", str(chain.root)])
    assert r.exit_code == 0, r.output
    assert "model signer" in r.output
    (model / "config.json").unlink()
    r = runner.invoke(app, ["verify", str(model), "--certificate-chain", str(chain.root)])
    assert r.exit_code == 1 and "missing: config.json" in r.output


def test_sigstore_verify_offline_says_so(signed: tuple[pathlib.Path, Trust, pathlib.Path],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    model, _, _ = signed
    for var in ("HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    monkeypatch.setenv("XDG_CACHE_HOME", str(model.parent / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(model.parent / "data"))
    r = runner.invoke(app, ["verify", str(model), "--identity", "me@example.org",
                            "--issuer", "https://accounts.example.org"])
    assert r.exit_code == 2
    assert "Sigstore verification needs the network" in r.output


@settings(max_examples=40, deadline=None)
@given(st.one_of(st.binary(max_size=2048),
                 st.recursive(st.none() | st.text(max_size=30) | st.integers(),
                              lambda c: st.lists(c, max_size=3) | st.dictionaries(
                                  st.sampled_from(["mediaType", "dsseEnvelope", "payload",
                                                   "signatures", "sig",
                                                   "verificationMaterial", "publicKey",
                                                   "hint", "payloadType"]), c, max_size=4),
                              max_leaves=10).map(lambda d: json.dumps(d).encode())))
def test_random_signature_files_fail_closed(tmp_path_factory: pytest.TempPathFactory,
                                            data: bytes) -> None:
    tmp = tmp_path_factory.mktemp("sig")
    keys = make_keys(tmp)
    model = tmp / "m.bin"
    model.write_bytes(b"weights")
    (tmp / "m.bin.sig").write_bytes(data)
    result = verify_model(model, Trust(key=keys.public))
    assert not result.ok and result.reasons


def test_cli_sign_scan_first_refuses_malicious(tmp_path: pathlib.Path) -> None:
    import pickle

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str, str]]:
            return (open, (str(tmp_path / "PWNED"), "w"))

    keys = make_keys(tmp_path)
    model = _model(tmp_path)
    (model / "extra.pkl").write_bytes(pickle.dumps(Payload()))
    r = runner.invoke(app, ["sign", str(model), "-k", str(keys.private), "--scan"])
    assert r.exit_code == 1 and "not signed" in r.output and "DZ-PKL" in r.output
    assert not (model / "model.sig").exists() and not (tmp_path / "PWNED").exists()
    (model / "extra.pkl").unlink()
    r = runner.invoke(app, ["sign", str(model), "-k", str(keys.private), "--scan"])
    assert r.exit_code == 0, r.output
