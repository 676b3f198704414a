"""Supply chain: sign and verify models, verify-then-scan-then-load, AI bill of materials,
provenance attestations and sealed transfer (`dozor sign|verify|bom|attest|seal|unseal`).

Heavy libraries (model-signing, cyclonedx-python-lib, pyrage) are imported only inside
the functions that need them; they come with ``pip install 'dozor[supply]'``.
"""

from __future__ import annotations

from dozor.supply.load import ModelRefused, guard_torch_load, install_torch_guard, load
from dozor.supply.signing import (
    SignatureInvalid,
    SigningError,
    SignResult,
    Trust,
    Verification,
    sign_model,
    verify_model,
)

__all__ = [
    "ModelRefused",
    "SignResult",
    "SignatureInvalid",
    "SigningError",
    "Trust",
    "Verification",
    "guard_torch_load",
    "install_torch_guard",
    "load",
    "sign_model",
    "verify_model",
]
