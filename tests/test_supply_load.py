"""dozor.load and the torch.load guard: verify, then scan, then load a private copy.

The malicious model is a pickle whose only effect, if it ever ran, would be to create
an empty marker file under the test's temporary folder; every test asserts it was not
created, i.e. that the loader never read the file.
"""

from __future__ import annotations

import os
import pathlib
import pickle

import pytest

pytest.importorskip("model_signing")

import dozor  # noqa: E402
from dozor.policy import Policy  # noqa: E402
from dozor.supply import ModelRefused, guard_torch_load, sign_model  # noqa: E402
from tests.test_supply_keys import KeyPair, make_keys  # noqa: E402


class _Payload:
    """Unpickling this calls open(marker, "w"): creates an empty file, nothing else."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


@pytest.fixture()
def keys(tmp_path: pathlib.Path) -> KeyPair:
    return make_keys(tmp_path)


def _clean(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "clean.pkl"
    path.write_bytes(pickle.dumps({"weights": [0.5, 1.5], "labels": ["a", "b"]}))
    return path


def _loader(calls: list[pathlib.Path]):  # type: ignore[no-untyped-def]
    def load(path: pathlib.Path) -> object:
        calls.append(path)
        with open(path, "rb") as f:
            return pickle.load(f)  # noqa: S301 - only reached for verified, scanned files
    return load


def test_loads_a_signed_clean_model(tmp_path: pathlib.Path, keys: KeyPair) -> None:
    model = _clean(tmp_path)
    sign_model(model, key=keys.private)
    calls: list[pathlib.Path] = []
    assert dozor.load(model, _loader(calls), key=keys.public) == {
        "weights": [0.5, 1.5], "labels": ["a", "b"]}
    # the loader read a private copy, not the original path, and the copy is gone
    assert calls and calls[0] != model and not calls[0].exists()


def test_refuses_unsigned(tmp_path: pathlib.Path, keys: KeyPair) -> None:
    model = _clean(tmp_path)
    calls: list[pathlib.Path] = []
    with pytest.raises(ModelRefused, match="unsigned"):
        dozor.load(model, _loader(calls), key=keys.public)
    assert not calls


def test_refuses_tampered(tmp_path: pathlib.Path, keys: KeyPair) -> None:
    model = _clean(tmp_path)
    sign_model(model, key=keys.private)
    marker = tmp_path / "PWNED"
    model.write_bytes(pickle.dumps(_Payload(marker)))  # swapped after signing
    calls: list[pathlib.Path] = []
    with pytest.raises(ModelRefused) as info:
        dozor.load(model, _loader(calls), key=keys.public)
    assert info.value.reasons == ("changed: clean.pkl (its digest differs from the signed "
                                  "one)",)
    assert not calls and not marker.exists()


def test_refuses_signed_malicious(tmp_path: pathlib.Path, keys: KeyPair) -> None:
    marker = tmp_path / "PWNED"
    model = tmp_path / "evil.pkl"
    model.write_bytes(pickle.dumps(_Payload(marker)))
    sign_model(model, key=keys.private)  # signed does not mean safe
    calls: list[pathlib.Path] = []
    with pytest.raises(ModelRefused) as info:
        dozor.load(model, _loader(calls), key=keys.public)
    assert info.value.findings and info.value.findings[0].rule_id.startswith("DZ-PKL-")
    assert str(model) in str(info.value.findings[0].location)
    assert not calls and not marker.exists()


def test_malicious_refused_without_signature_requirement(tmp_path: pathlib.Path) -> None:
    marker = tmp_path / "PWNED"
    model = tmp_path / "evil.pkl"
    model.write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(ModelRefused):
        dozor.load(model, _loader([]), require_signature=False)
    assert not marker.exists()
    # a stricter threshold than the finding still refuses; a looser one would let it by
    with pytest.raises(ModelRefused):
        dozor.load(model, _loader([]), require_signature=False,
                   policy=Policy(fail_on=dozor.Severity.LOW))
    assert not marker.exists()


def test_file_inside_a_signed_folder(tmp_path: pathlib.Path, keys: KeyPair) -> None:
    folder = tmp_path / "repo"
    folder.mkdir()
    model = _clean(folder)
    (folder / "config.json").write_text("{}")
    sign_model(folder, key=keys.private)
    assert dozor.load(model, _loader([]), key=keys.public)["labels"] == ["a", "b"]
    (folder / "config.json").write_text('{"x": 1}')  # another file: this one still verifies
    assert dozor.load(model, _loader([]), key=keys.public)["labels"] == ["a", "b"]
    model.write_bytes(model.read_bytes() + b".")
    with pytest.raises(ModelRefused, match="changed: clean.pkl"):
        dozor.load(model, _loader([]), key=keys.public)


def test_folder_model_with_added_file(tmp_path: pathlib.Path, keys: KeyPair) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    _clean(folder)
    sign_model(folder, key=keys.private)
    seen: list[list[str]] = []
    dozor.load(folder, lambda p: seen.append(sorted(os.listdir(p))), key=keys.public)
    assert seen == [["clean.pkl", "model.sig"]]
    (folder / "extra.pkl").write_bytes(pickle.dumps(1))
    with pytest.raises(ModelRefused, match="added: extra.pkl"):
        dozor.load(folder, lambda p: None, key=keys.public)


def test_torch_guard(tmp_path: pathlib.Path, keys: KeyPair) -> None:
    torch = pytest.importorskip("torch")
    good = tmp_path / "good.pt"
    torch.save({"w": torch.ones(2)}, good)
    sign_model(good, key=keys.private)
    marker = tmp_path / "PWNED"
    bad = tmp_path / "bad.pt"
    bad.write_bytes(pickle.dumps(_Payload(marker)))
    sign_model(bad, key=keys.private)
    original = torch.load
    with guard_torch_load(key=keys.public):
        assert torch.load(good)["w"].sum().item() == 2.0
        with pytest.raises(ModelRefused):
            torch.load(bad, weights_only=False)
        with open(good, "rb") as f, pytest.raises(ModelRefused, match="file object"):
            torch.load(f)
    assert torch.load is original
    assert not marker.exists()


def test_explicit_signature_paths(tmp_path: pathlib.Path, keys: KeyPair) -> None:
    model = _clean(tmp_path)
    sig = tmp_path / "model.sig"  # a single-file signature under the folder-style name
    sign_model(model, key=keys.private, signature=sig)
    assert dozor.load(model, _loader([]), key=keys.public, signature=sig)["labels"]
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    folder_sig = outside / "model.sig"
    (outside / "x.bin").write_bytes(b"x")
    sign_model(outside, key=keys.private)
    with pytest.raises(ModelRefused, match="does not contain this file"):
        dozor.load(model, _loader([]), key=keys.public, signature=folder_sig)


def test_policy_file_allows_a_known_import(tmp_path: pathlib.Path, keys: KeyPair) -> None:
    import collections

    model = tmp_path / "counts.pkl"
    model.write_bytes(pickle.dumps(collections.OrderedDict(a=1)))
    sign_model(model, key=keys.private)
    policy = tmp_path / "policy.yaml"
    policy.write_text("fail_on: high\n")
    got = dozor.load(model, _loader([]), key=keys.public, policy=policy)
    assert got == {"a": 1}
    with pytest.raises(ValueError):
        dozor.load(model, _loader([]), key=keys.public, policy=tmp_path / "missing.yaml")


def test_install_torch_guard_and_undo(tmp_path: pathlib.Path, keys: KeyPair) -> None:
    torch = pytest.importorskip("torch")
    from dozor.supply import install_torch_guard

    unsigned = tmp_path / "u.pt"
    torch.save({"w": torch.zeros(1)}, unsigned)
    original = torch.load
    undo = install_torch_guard(key=keys.public)
    try:
        with pytest.raises(ModelRefused, match="unsigned"):
            torch.load(unsigned)
    finally:
        undo()
    assert torch.load is original
    assert torch.load(unsigned)["w"].shape == (1,)


def test_fifo_and_link_in_model_are_refused(tmp_path: pathlib.Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    _clean(folder)
    os.mkfifo(folder / "pipe")  # would block a naive copy forever
    with pytest.raises(ModelRefused, match="not a regular file|refused"):
        dozor.load(folder, lambda p: None, require_signature=False)
    (folder / "pipe").unlink()
    (folder / "link.pkl").symlink_to(tmp_path / "clean.pkl")
    with pytest.raises(ModelRefused, match="refused"):
        dozor.load(folder, lambda p: None, require_signature=False)


def test_load_with_certificate_chain(tmp_path: pathlib.Path) -> None:
    from tests.test_supply_keys import make_chain

    chain = make_chain(tmp_path)
    model = _clean(tmp_path)
    sign_model(model, key=chain.leaf_key, certificate=chain.leaf,
               chain=[chain.intermediate, chain.root])
    assert dozor.load(model, _loader([]), chain=[chain.root])["labels"] == ["a", "b"]
    other = make_chain(tmp_path, "other")
    with pytest.raises(ModelRefused, match="does not verify"):
        dozor.load(model, _loader([]), chain=[other.root])
