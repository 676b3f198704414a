"""Detectors: what decides whether an attack worked. One module per kind.

`make_detectors()` builds the set a run uses; a probe names the detectors that judge
it (``Probe.detectors``) and the attack succeeded when any of them hits.
"""

from __future__ import annotations

from typing import Any

from dozor.redteam.detectors.base import Context, Detector
from dozor.redteam.detectors.leak import CanaryDetector, SystemPromptDetector
from dozor.redteam.detectors.patterns import (
    EchoDetector,
    LengthDetector,
    MarkerDetector,
    PackageDetector,
)
from dozor.redteam.detectors.pii import PIIDetector
from dozor.redteam.detectors.refusal import ComplianceDetector, RefusalDetector
from dozor.redteam.detectors.tools import ToolPolicy, ToolPolicyDetector


def make_detectors(tool_policy: dict[str, Any] | None = None,
                   max_chars: int = 8000) -> dict[str, Detector]:
    found: list[Detector] = [
        MarkerDetector(), CanaryDetector(), SystemPromptDetector(), EchoDetector(),
        PackageDetector(), LengthDetector(max_chars=max_chars), PIIDetector(),
        RefusalDetector(), ComplianceDetector(),
        ToolPolicyDetector(ToolPolicy.from_dict(tool_policy) if tool_policy else None),
    ]
    return {d.name: d for d in found}


__all__ = ["Context", "Detector", "ToolPolicy", "make_detectors"]
