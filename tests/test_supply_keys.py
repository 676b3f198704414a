"""Key material for the supply-chain tests, made here with `cryptography`.

`make_keys` writes an elliptic-curve key pair; `make_chain` a root CA, an intermediate
CA and a code-signing leaf certificate (root -> intermediate -> leaf). Other
test_supply_* modules import these; the tests below check the material is what the
other tests assume (a chain that really chains, a leaf usable for signing).
"""

from __future__ import annotations

import datetime as dt
import pathlib
from dataclasses import dataclass

import pytest

pytest.importorskip("cryptography")
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402


@dataclass(frozen=True)
class KeyPair:
    private: pathlib.Path
    public: pathlib.Path


@dataclass(frozen=True)
class Chain:
    root: pathlib.Path
    intermediate: pathlib.Path
    leaf: pathlib.Path
    leaf_key: pathlib.Path


def _write_key(key: ec.EllipticCurvePrivateKey, path: pathlib.Path) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))


def make_keys(folder: pathlib.Path, name: str = "signer") -> KeyPair:
    key = ec.generate_private_key(ec.SECP256R1())
    priv, pub = folder / f"{name}.pem", folder / f"{name}.pub"
    _write_key(key, priv)
    pub.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return KeyPair(priv, pub)


def _cert(subject: str, key: ec.EllipticCurvePrivateKey, issuer: str,
          issuer_key: ec.EllipticCurvePrivateKey, *, ca: bool,
          path_len: int | None = None) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(days=1 if ca else 0, minutes=5))
               .not_valid_after(now + dt.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=path_len), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                              critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   issuer_key.public_key()), critical=False))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
    else:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True).add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def make_chain(folder: pathlib.Path, name: str = "test") -> Chain:
    root_key = ec.generate_private_key(ec.SECP384R1())
    mid_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    root = _cert(f"{name} root CA", root_key, f"{name} root CA", root_key, ca=True)
    mid = _cert(f"{name} intermediate CA", mid_key, f"{name} root CA", root_key, ca=True,
                path_len=0)
    leaf = _cert(f"{name} model signer", leaf_key, f"{name} intermediate CA", mid_key,
                 ca=False)
    paths = Chain(folder / f"{name}-root.pem", folder / f"{name}-intermediate.pem",
                  folder / f"{name}-leaf.pem", folder / f"{name}-leaf.key")
    for cert, path in ((root, paths.root), (mid, paths.intermediate), (leaf, paths.leaf)):
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(leaf_key, paths.leaf_key)
    return paths


def test_chain_really_chains(tmp_path: pathlib.Path) -> None:
    chain = make_chain(tmp_path)
    root = x509.load_pem_x509_certificate(chain.root.read_bytes())
    mid = x509.load_pem_x509_certificate(chain.intermediate.read_bytes())
    leaf = x509.load_pem_x509_certificate(chain.leaf.read_bytes())
    leaf.verify_directly_issued_by(mid)
    mid.verify_directly_issued_by(root)
    with pytest.raises(ValueError):
        leaf.verify_directly_issued_by(root)  # not a shortcut: the intermediate is needed
    assert leaf.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature


def test_keys_pair_up(tmp_path: pathlib.Path) -> None:
    pair = make_keys(tmp_path)
    priv = serialization.load_pem_private_key(pair.private.read_bytes(), None)
    pub = serialization.load_pem_public_key(pair.public.read_bytes())
    assert isinstance(priv, ec.EllipticCurvePrivateKey)
    assert isinstance(pub, ec.EllipticCurvePublicKey)
    sig = priv.sign(b"x", ec.ECDSA(hashes.SHA256()))
    pub.verify(sig, b"x", ec.ECDSA(hashes.SHA256()))
