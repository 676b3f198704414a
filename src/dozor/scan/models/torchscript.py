"""TorchScript source in a model's ``code/`` folder.

TorchScript cannot import Python modules, but it can call operators: ``aten::save`` and
``aten::from_file`` touch the file system, and ops from a custom namespace
(``torch.ops.myns.op``) need a native library that runs when loaded. Python escapes
(``__import__``, ``os.system``) are not valid TorchScript and only appear in a crafted
file, so they are reported as critical.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dozor.findings import Finding, Severity
from dozor.scan.base import Blob, ScanContext, finding, printable

SCANNER = "torchscript"
_MAX_SOURCE = 64 << 20

_PY_ESCAPE = re.compile(
    r"\b(?:__import__|__builtins__|__globals__|__subclasses__|os\.(?:system|popen|exec\w*)|"
    r"subprocess|builtins\.(?:eval|exec)|importlib|eval\s*\(|exec\s*\()"
)
_FILE_OPS = re.compile(r"\b(?:torch\.(?:ops\.aten\.)?(?:from_file|save|load|_save|_load\w*)|"
                       r"ops\.aten\.(?:from_file|save|_save))\s*\(")
_OP_NAMESPACE = re.compile(r"\bops\.([A-Za-z_]\w*)\.([A-Za-z_]\w*)")
_KNOWN_NAMESPACES = {"aten", "prim", "quantized", "_quantized", "profiler", "_caffe2", "sparse",
                     "prepacked", "quantized_decomposed", "torchvision", "image", "torchaudio",
                     "fbgemm", "mkldnn", "mkl", "onednn", "cuda", "inductor", "_c10d_functional",
                     "c10d", "rngprims", "higher_order", "xnnpack", "vulkan", "metal", "_nnapi"}


def scan_torchscript_code(blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    raw = bytes(blob.data[:_MAX_SOURCE])
    text = raw.decode("utf-8", "replace")
    for line_no, line in enumerate(text.splitlines(), 1):
        if line_no % 1000 == 0:
            ctx.check_time()
        m = _PY_ESCAPE.search(line)
        if m:
            yield finding("DZ-TCH-001", "TorchScript code reaches Python internals",
                          Severity.CRITICAL, blob.location.at(line=line_no),
                          evidence=printable(line.strip(), 120),
                          remediation="Do not load this model; TorchScript compiled by torch "
                          "never contains this.", scanner=SCANNER)
        m = _FILE_OPS.search(line)
        if m:
            yield finding("DZ-TCH-002", "TorchScript code reads or writes files", Severity.HIGH,
                          blob.location.at(line=line_no), evidence=printable(line.strip(), 120),
                          remediation="Do not load this model unless you know why it needs "
                          "file access.", scanner=SCANNER)
        for ns, op in _OP_NAMESPACE.findall(line):
            if ns not in _KNOWN_NAMESPACES:
                yield finding("DZ-TCH-003", "TorchScript code calls a custom operator",
                              Severity.MEDIUM, blob.location.at(line=line_no),
                              evidence=f"torch.ops.{ns}.{op}",
                              remediation="Custom operators need a native library loaded "
                              "first; check where it comes from.", scanner=SCANNER)
