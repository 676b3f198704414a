"""Guard scanners, one module each; `SCANNERS` maps policy names to their classes.

Imported lazily by name so a policy that does not use a scanner never imports it.
"""

from __future__ import annotations

import importlib

from dozor.guard.scanners.base import Hit, ScanInput, Scanner

SCANNER_MODULES: dict[str, str] = {
    "limits": "dozor.guard.scanners.limits:Limits",
    "injection": "dozor.guard.scanners.injection:Injection",
    "unicode": "dozor.guard.scanners.unicode:HiddenUnicode",
    "encoded": "dozor.guard.scanners.encoded:EncodedPayload",
    "pii": "dozor.guard.scanners.pii:PersonalData",
    "secrets": "dozor.guard.scanners.secrets:Secrets",
    "banned": "dozor.guard.scanners.banned:Banned",
    "leakage": "dozor.guard.scanners.leakage:PromptLeakage",
    "images": "dozor.guard.scanners.images:ExternalImages",
    "links": "dozor.guard.scanners.links:ExternalLinks",
    "code": "dozor.guard.scanners.code:Code",
}


def scanner_class(name: str) -> type[Scanner]:
    """The class registered under `name`; KeyError if there is none."""
    module, cls = SCANNER_MODULES[name].split(":")
    found: type[Scanner] = getattr(importlib.import_module(module), cls)
    return found


__all__ = ["SCANNER_MODULES", "Hit", "ScanInput", "Scanner", "scanner_class"]
