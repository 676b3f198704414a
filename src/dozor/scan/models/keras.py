"""Static checks for Keras models: the `.keras` config.json and HDF5 (`.h5`) files.

Why this exists: loading a Keras model is deserialisation. The config names Python
modules, classes and functions that the loader looks up and calls, and a `Lambda`
layer can carry marshalled Python bytecode that becomes a live function on load.
`safe_mode` has been bypassed repeatedly (CVE-2024-3660 bytecode Lambda,
CVE-2025-1550 arbitrary `module` import, CVE-2025-8747 / CVE-2025-9906
`get_file` and `enable_unsafe_deserialization` called from a config, CVE-2025-9905
HDF5 ignoring safe_mode, CVE-2026-1462 `TFSMLayer`), so dozor reads the config as
plain JSON and judges every serialised object itself, whatever Keras version will
load the file.

HDF5 files are opened with h5py from memory, never from a path, and only in a
helper process, because libhdf5 itself hangs and segfaults on crafted files. Only
root attributes (`model_config`, `training_config`) and the link/object structure
are read, never dataset contents, and links are never followed. External links,
external raw storage and virtual datasets make the HDF5 library open *other*
files, so they are reported instead. The JSON configs are judged in this process
by the same walker as config.json.

Rules:
- DZ-KER-001 CRITICAL: marshalled Python bytecode (Lambda / ``__lambda__``).
- DZ-KER-002 CRITICAL/HIGH: a serialised object or function from a module outside
  the Keras/TensorFlow allowlist (CRITICAL when the module or builtin can run
  commands or code).
- DZ-KER-003 MEDIUM: custom objects that need user code registered at load.
- DZ-KER-004 HIGH: file/network/safe_mode gadgets reachable from a config
  (``get_file``, ``enable_unsafe_deserialization``, ``load_model``, URLs,
  ``TFSMLayer``, vocabulary file paths, TFOpLambda outside the TF API).
- DZ-KER-005 MEDIUM: malformed or over-limit JSON/HDF5.
- DZ-KER-006 HIGH: HDF5 external links, external storage, virtual datasets.
"""

from __future__ import annotations

import atexit
import binascii
import contextlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from dozor.findings import Finding, Location, Severity
from dozor.scan.base import (
    Blob,
    Buffer,
    BufferFile,
    LimitExceeded,
    Limits,
    ScanContext,
    ScanTimeout,
    finding,
    printable,
)

SCANNER = "keras"

MAX_CONFIG_BYTES = 64 << 20
"""Largest config.json / model_config parsed as JSON."""
MAX_JSON_DEPTH = 512
"""Deepest nesting walked; real configs (nested models, wrappers) stay under ~60."""
MAX_JSON_NODES = 5_000_000
"""JSON values visited in one config."""
MAX_FINDINGS_PER_RULE = 50
"""Per config or file; the rest are summarised in one finding."""
MAX_HDF5_OBJECTS = 250_000
"""Links visited in one HDF5 file (a large model has a few thousand)."""
MAX_HDF5_LINKS_PER_GROUP = 1_000_000

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"

# --- What is allowed, what is dangerous ---------------------------------------------------------

KERAS_ROOTS = frozenset(
    {"keras", "keras_core", "keras_hub", "keras_nlp", "keras_cv", "keras_rs", "tf_keras"}
)
"""Top-level packages whose serialised objects Keras itself produces."""

TF_KERAS_PREFIXES = (
    "tensorflow.keras",
    "tensorflow.python.keras",
    "tensorflow_core.python.keras",
    "tensorflow.compat.v1.keras",
    "tensorflow.compat.v2.keras",
)

KERAS_PACKAGES = frozenset({*KERAS_ROOTS, "keras_tuner"})
"""Packages in ``registered_name = "package>Name"`` that ship with the Keras family."""

KERAS_BUILTIN_OPTIMIZERS = frozenset(
    {
        "Adadelta",
        "Adafactor",
        "Adagrad",
        "Adam",
        "AdamW",
        "Adamax",
        "Ftrl",
        "Lamb",
        "Lion",
        "LossScaleOptimizer",
        "Muon",
        "Nadam",
        "RMSprop",
        "SGD",
    }
)
"""tf.keras 2.x saves its own optimizers as ``"Custom>Adam"`` in HDF5 training_config."""

CRITICAL_MODULE_ROOTS = frozenset(
    {
        "__builtin__",
        "_ctypes",
        "_io",
        "_operator",
        "_pickle",
        "_posixsubprocess",
        "_winapi",
        "asyncio",
        "bdb",
        "cPickle",
        "cProfile",
        "cloudpickle",
        "code",
        "codeop",
        "commands",
        "ctypes",
        "dill",
        "imp",
        "importlib",
        "joblib",
        "marshal",
        "multiprocessing",
        "nt",
        "operator",
        "os",
        "pdb",
        "pickle",
        "pkgutil",
        "platform",
        "popen2",
        "posix",
        "profile",
        "pty",
        "pydoc",
        "runpy",
        "shutil",
        "site",
        "socket",
        "subprocess",
        "sys",
        "timeit",
        "trace",
        "types",
        "webbrowser",
        "zipimport",
    }
)
"""Modules whose functions run commands, code or unpickling when called with arguments."""

DANGEROUS_BUILTINS: dict[str, Severity] = {
    "__build_class__": Severity.CRITICAL,
    "__import__": Severity.CRITICAL,
    "breakpoint": Severity.CRITICAL,
    "compile": Severity.CRITICAL,
    "delattr": Severity.CRITICAL,
    "eval": Severity.CRITICAL,
    "exec": Severity.CRITICAL,
    "execfile": Severity.CRITICAL,
    "getattr": Severity.CRITICAL,
    "globals": Severity.CRITICAL,
    "locals": Severity.CRITICAL,
    "reload": Severity.CRITICAL,
    "setattr": Severity.CRITICAL,
    "vars": Severity.CRITICAL,
    "exit": Severity.HIGH,
    "file": Severity.HIGH,
    "help": Severity.HIGH,
    "input": Severity.HIGH,
    "open": Severity.HIGH,
    "quit": Severity.HIGH,
}

KERAS_GADGETS: dict[str, str] = {
    "enable_unsafe_deserialization": "turns safe_mode off for the rest of the load (CVE-2025-9906)",
    "get_file": "downloads a URL and writes it to disk (CVE-2025-8747)",
    "load_model": "loads another model file, possibly with safe_mode off",
    "load_weights": "reads another file",
    "model_from_json": "deserialises a second, unchecked model config",
    "model_from_yaml": "deserialises a second, unchecked model config",
    "model_from_config": "deserialises a second, unchecked model config",
    "deserialize_keras_object": "deserialises a second, unchecked object config",
    "serialize_keras_object": "is not a modelling function",
    "register_keras_serializable": "changes the registry of custom objects",
    "save_model": "writes files",
    "save_weights": "writes files",
    "save_img": "writes files",
    "load_img": "reads files",
    "image_dataset_from_directory": "reads files",
    "text_dataset_from_directory": "reads files",
    "audio_dataset_from_directory": "reads files",
    "clear_session": "resets global Keras state",
    "set_global_attribute": "changes global Keras state such as safe_mode",
    "func_load": "turns bytecode into a function",
    "TFSMLayer": "loads an external TensorFlow SavedModel with its graph code (CVE-2026-1462)",
}
"""Names inside the Keras namespace that are not modelling code (Keras >= 3.9 refuses most)."""

LOOKUP_LAYERS = frozenset({"StringLookup", "IntegerLookup", "TextVectorization", "IndexLookup"})
"""Their ``vocabulary`` may be a path or URL read at load; Keras never saves one."""

TF_NAMESPACES = frozenset(
    {
        "__operators__",
        "audio",
        "autodiff",
        "autograph",
        "bitwise",
        "compat",
        "config",
        "data",
        "debugging",
        "distribute",
        "dtypes",
        "errors",
        "estimator",
        "experimental",
        "feature_column",
        "graph_util",
        "image",
        "initializers",
        "io",
        "keras",
        "linalg",
        "lite",
        "lookup",
        "losses",
        "math",
        "metrics",
        "mlir",
        "nest",
        "nn",
        "optimizers",
        "profiler",
        "quantization",
        "queue",
        "ragged",
        "random",
        "raw_ops",
        "saved_model",
        "sets",
        "signal",
        "sparse",
        "strings",
        "summary",
        "sysconfig",
        "test",
        "tpu",
        "train",
        "types",
        "version",
        "xla",
    }
)
"""Sub-namespaces of the ``tf`` API that a TFOpLambda ``function`` may name."""

TF_FILE_OR_CODE_OPS = frozenset(
    {
        "EagerPyFunc",
        "MatchingFiles",
        "Print",
        "PrintV2",
        "PyFunc",
        "PyFuncStateless",
        "ReadFile",
        "Restore",
        "RestoreSlice",
        "RestoreV2",
        "Save",
        "SaveSlices",
        "SaveV2",
        "WriteFile",
        "create_file_writer",
        "eager_py_func",
        "enable_dump_debug_info",
        "load",
        "load_library",
        "load_op_library",
        "matching_files",
        "numpy_function",
        "print",
        "py_func",
        "py_function",
        "read_file",
        "write_file",
    }
)
"""TF ops that read or write files, load libraries or call back into Python."""

TF_ROOTS = frozenset({"tensorflow", "tensorflow_core"})
TF_RISKY_MODULES = frozenset(
    {"file_io", "gen_io_ops", "gfile", "io_ops", "load_library", "script_ops", "saved_model"}
)
"""TensorFlow modules whose members touch files, load code or call back into Python."""

SUSPICIOUS_BYTECODE_NAMES = frozenset(
    {
        "__builtins__",
        "__import__",
        "builtins",
        "check_output",
        "compile",
        "eval",
        "exec",
        "execv",
        "execve",
        "getattr",
        "importlib",
        "marshal",
        "open",
        "os",
        "pickle",
        "popen",
        "Popen",
        "pty",
        "remove",
        "requests",
        "rmtree",
        "shutil",
        "socket",
        "spawn",
        "subprocess",
        "system",
        "unlink",
        "urllib",
        "urlopen",
        "webbrowser",
    }
)
"""Names worth showing when seen as plain strings inside embedded bytecode (no unmarshalling)."""

URL_RE = re.compile(r"(?i)\b(?:https?|ftps?|s3|gs|hdfs|file)://[^\s\"'<>]*")
IDENT_PATH_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
BYTECODE_NAME_RE = re.compile(rb"[A-Za-z_][A-Za-z0-9_]{1,40}")
FILEISH_KEY_RE = re.compile(r"(?i)(url|uri|origin|path|file|dir|vocab|handle|location|fname)")
RAW_GADGET_RE = re.compile(
    rb"__lambda__|enable_unsafe_deserialization|get_file|TFSMLayer|"
    rb"\"module\"\s*:\s*\"(?:os|posix|nt|subprocess|builtins|sys|importlib|runpy|pty|socket)\b"
)

REMEDIATION = {
    "DZ-KER-001": (
        "Do not load this model from an untrusted source. Rebuild the Lambda as a registered "
        "custom layer in reviewed code, or load with safe_mode=True on Keras >= 3.9 (HDF5 "
        "files ignore safe_mode: convert them to .keras in a sandbox first)."
    ),
    "DZ-KER-002": (
        "Do not load this model. A Keras config must only name keras.* objects or custom "
        "objects you register yourself; upgrade Keras to >= 3.9 and review the named module."
    ),
    "DZ-KER-003": (
        "Loading needs custom code from the named package. Install and review that package, "
        "pass it through custom_objects yourself, and keep safe_mode=True."
    ),
    "DZ-KER-004": (
        "Do not load this model from an untrusted source: the config reaches files, the "
        "network or turns safe_mode off. Upgrade Keras (>= 3.12) and remove the reference."
    ),
    "DZ-KER-005": (
        "The file could not be fully checked. Re-export the model with Keras, or inspect it "
        "by hand in a sandbox before loading."
    ),
    "DZ-KER-006": (
        "Do not load this file: it makes the HDF5 library read other files. Re-save the "
        "model without external links, external storage or virtual datasets."
    ),
}

TITLES_MALFORMED = "Malformed or over-limit Keras/HDF5 content; not fully checked"


# --- JSON config walker --------------------------------------------------------------------------

_Path = tuple[Any, ...] | None
"""A linked path: (parent, key), built lazily into text only for findings."""


def _path_text(path: _Path) -> str:
    keys: list[Any] = []
    while path is not None:
        path, key = path
        keys.append(key)
    out = ""
    for key in reversed(keys):
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out or "(root)"


def _root(module: str) -> str:
    return module.split(".", 1)[0]


def _is_keras_module(module: str) -> bool:
    if _root(module) in KERAS_ROOTS:
        return True
    return any(module == p or module.startswith(p + ".") for p in TF_KERAS_PREFIXES)


def _custom_package(name: str) -> str | None:
    """The package of a ``package>Name`` registered name, if it is not a Keras package."""
    package, sep, rest = name.partition(">")
    if not sep:
        return None
    if package in KERAS_PACKAGES:
        return None
    if package == "Custom" and rest in KERAS_BUILTIN_OPTIMIZERS:
        return None
    return package


def _bytecode_summary(code: Any) -> tuple[str, dict[str, str]]:
    """Size and notable plain strings of base64 marshalled bytecode, never unmarshalled."""
    if isinstance(code, list | tuple) and code:
        code = code[0]
    if not isinstance(code, str):
        return "bytecode of unexpected type " + type(code).__name__, {}
    try:
        raw = binascii.a2b_base64(code.encode("ascii", "ignore"))
    except (binascii.Error, ValueError):
        raw = code.encode("utf-8", "surrogatepass")
    names = sorted(
        {m.decode("ascii") for m in BYTECODE_NAME_RE.findall(raw[: 1 << 20])}
        & SUSPICIOUS_BYTECODE_NAMES
    )
    is_code = bool(raw) and (raw[0] & 0x7F) == ord("c")
    text = f"{len(raw)} bytes of {'marshalled code object' if is_code else 'encoded bytecode'}"
    details = {"bytecode_bytes": str(len(raw))}
    if names:
        text += "; strings seen: " + ", ".join(names[:12])
        details["bytecode_names"] = ",".join(names)
    return text, details


@dataclass
class _Hit:
    rule: str
    severity: Severity
    title: str
    evidence: str
    details: dict[str, str]
    confidence: float = 1.0


class _ConfigWalker:
    """Walks one parsed Keras config iteratively and collects findings."""

    def __init__(self, location: Location, ctx: ScanContext, source: str) -> None:
        self.location = location
        self.ctx = ctx
        self.source = source
        self.findings: list[Finding] = []
        self.per_rule: dict[str, int] = {}
        self.dropped: dict[str, tuple[int, Severity]] = {}
        self.reported: set[tuple[str, int]] = set()
        self.too_deep = False

    # -- reporting --

    def report(self, hit: _Hit, owner: object, path: _Path, layer: str | None) -> None:
        key = (hit.rule, id(owner))
        if key in self.reported:
            return
        self.reported.add(key)
        count = self.per_rule.get(hit.rule, 0)
        if count >= MAX_FINDINGS_PER_RULE:
            n, sev = self.dropped.get(hit.rule, (0, hit.severity))
            self.dropped[hit.rule] = (n + 1, max(sev, hit.severity))
            return
        self.per_rule[hit.rule] = count + 1
        where = _path_text(path)
        prefix = f"{self.source}: " if self.source else ""
        layer_text = f"layer {printable(layer, 60)!s} " if layer else ""
        details = {"json_path": printable(where, 200), **hit.details}
        if layer:
            details["layer"] = printable(layer, 120)
        self.findings.append(
            finding(
                hit.rule,
                hit.title,
                hit.severity,
                self.location,
                evidence=f"{prefix}{layer_text}at {printable(where, 100)}: {hit.evidence}",
                remediation=REMEDIATION[hit.rule],
                scanner=SCANNER,
                confidence=hit.confidence,
                details=details,
            )
        )

    def summaries(self) -> Iterator[Finding]:
        for rule, (n, sev) in sorted(self.dropped.items()):
            yield finding(
                rule,
                f"{n} more {rule} occurrences not listed",
                sev,
                self.location,
                evidence=f"{self.source or 'config'}: only the first {MAX_FINDINGS_PER_RULE} "
                "are shown",
                remediation=REMEDIATION[rule],
                scanner=SCANNER,
                details={"omitted": str(n)},
            )

    # -- walking --

    def walk(self, root: Any) -> None:
        stack: list[tuple[Any, int, _Path, str | None]] = [(root, 0, None, None)]
        nodes = 0
        while stack:
            value, depth, path, layer = stack.pop()
            nodes += 1
            if nodes & 0xFFF == 0:
                self.ctx.check_time()
            if nodes > MAX_JSON_NODES:
                raise LimitExceeded(f"more than {MAX_JSON_NODES} JSON values in a Keras config")
            if depth > MAX_JSON_DEPTH:
                self.too_deep = True
                continue
            if isinstance(value, dict):
                name = self._object_name(value) or layer
                if "class_name" in value:
                    self.inspect_object(value, path, name)
                self.inspect_dict_keys(value, path, name)
                pending = []
                for key, child in value.items():
                    if isinstance(child, str):
                        self.inspect_string(child, str(key), value, (path, key), name)
                    elif isinstance(child, dict | list):
                        pending.append((child, depth + 1, (path, key), name))
                stack.extend(reversed(pending))  # pop in document order
            elif isinstance(value, list):
                pending = []
                for i, child in enumerate(value):
                    if isinstance(child, str):
                        self.inspect_string(child, "", value, (path, i), layer)
                    elif isinstance(child, dict | list):
                        pending.append((child, depth + 1, (path, i), layer))
                stack.extend(reversed(pending))
            elif isinstance(value, str):
                self.inspect_string(value, "", value, path, layer)

    @staticmethod
    def _object_name(obj: dict[str, Any]) -> str | None:
        inner = obj.get("config")
        if "class_name" in obj and isinstance(inner, dict) and isinstance(inner.get("name"), str):
            return f"{inner['name']} ({printable(str(obj['class_name']), 60)})"
        return None

    # -- checks --

    def inspect_string(
        self, text: str, key: str, owner: object, path: _Path, layer: str | None
    ) -> None:
        if len(text) < 6:
            return
        if "enable_unsafe_deserialization" in text:
            self.report(
                _Hit(
                    "DZ-KER-004",
                    Severity.HIGH,
                    "Keras config references enable_unsafe_deserialization",
                    f"string {printable(text, 80)}: "
                    + KERAS_GADGETS["enable_unsafe_deserialization"],
                    {"gadget": "enable_unsafe_deserialization"},
                ),
                owner,
                path,
                layer,
            )
        elif text == "get_file" or text.endswith(".get_file"):
            self.report(
                _Hit(
                    "DZ-KER-004",
                    Severity.HIGH,
                    "Keras config references get_file (download to disk)",
                    f"string {printable(text, 80)}: {KERAS_GADGETS['get_file']}",
                    {"gadget": "get_file"},
                ),
                owner,
                path,
                layer,
            )
        match = URL_RE.search(text[:4096])
        if match:
            fileish = bool(FILEISH_KEY_RE.search(key)) or len(match.group(0)) == len(text)
            self.report(
                _Hit(
                    "DZ-KER-004",
                    Severity.HIGH,
                    "Keras config contains a URL or remote path",
                    f"{printable(key or 'value', 40)} = {printable(match.group(0), 100)}",
                    {"url": printable(match.group(0), 200)},
                    1.0 if fileish else 0.6,
                ),
                owner,
                path,
                layer,
            )

    def inspect_dict_keys(self, obj: dict[str, Any], path: _Path, layer: str | None) -> None:
        if obj.get("safe_mode") is False:
            self.report(
                _Hit(
                    "DZ-KER-004",
                    Severity.HIGH,
                    "Keras config passes safe_mode=False",
                    "an argument turns safe_mode off for a nested load",
                    {"gadget": "safe_mode=False"},
                ),
                obj,
                path,
                layer,
            )

    def inspect_object(self, obj: dict[str, Any], path: _Path, layer: str | None) -> None:
        class_name = obj.get("class_name")
        if not isinstance(class_name, str):
            return
        inner = obj.get("config")
        if class_name == "__lambda__":
            code = inner.get("code", inner.get("value")) if isinstance(inner, dict) else inner
            self._bytecode(obj, code, "__lambda__ function", path, layer)
            return
        if class_name.startswith("__") and class_name.endswith("__"):
            module = obj.get("module")
            # __typespec__ names a TensorFlow TypeSpec class; other dunder forms are plain data.
            if (
                class_name == "__typespec__"
                and isinstance(module, str)
                and _root(module) != "tensorflow"
            ):
                spec = obj.get("spec_name")
                self._module(obj, module, spec if isinstance(spec, str) else "", path, layer)
            return

        module = obj.get("module")
        registered = obj.get("registered_name")
        # Functions serialise as class_name "function" with their name in config.
        name = inner if class_name == "function" and isinstance(inner, str) else class_name
        flagged = False
        if isinstance(module, str):
            flagged = self._module(obj, module, name, path, layer)
        elif "module" in obj and module is None:
            # Keras 3 writes module=None for objects that are not Keras built-ins.
            custom = registered if isinstance(registered, str) else name
            flagged = self._custom(
                obj, custom, path, layer, why="module null: not a Keras built-in"
            )
        if not flagged:
            for candidate in (registered, class_name, name):
                if isinstance(candidate, str) and _custom_package(candidate) is not None:
                    self._custom(obj, candidate, path, layer, why="registered custom object")
                    break

        if isinstance(inner, dict):
            self._layer_specific(obj, class_name, inner, path, layer)

    def _bytecode(
        self, owner: object, code: Any, what: str, path: _Path, layer: str | None
    ) -> None:
        summary, details = _bytecode_summary(code)
        self.report(
            _Hit(
                "DZ-KER-001",
                Severity.CRITICAL,
                "Keras Lambda layer with embedded Python bytecode",
                f"{what}: {summary}; it runs when the model is loaded or called "
                "(safe_mode=False, Keras < 2.13, or any HDF5 load)",
                details,
            ),
            owner,
            path,
            layer,
        )

    def _custom(
        self, owner: object, name: str, path: _Path, layer: str | None, *, why: str
    ) -> bool:
        package = _custom_package(name) or ""
        self.report(
            _Hit(
                "DZ-KER-003",
                Severity.MEDIUM,
                "Keras custom object needs user code at load",
                f"{printable(name, 100)} ({why})",
                {"custom_object": printable(name, 200), "package": printable(package, 100)},
            ),
            owner,
            path,
            layer,
        )
        return True

    def _module(
        self, owner: dict[str, Any], module: str, name: str, path: _Path, layer: str | None
    ) -> bool:
        """Judge a (module, attribute) pair; True when something was reported."""
        target = f"{module}.{name}" if name else module
        if _is_keras_module(module):
            gadget = KERAS_GADGETS.get(name)
            if gadget is None and module.split(".")[-1] == "config" and name.startswith("enable_"):
                gadget = "changes global Keras configuration"
            if gadget is None:
                return False
            self.report(
                _Hit(
                    "DZ-KER-004",
                    Severity.HIGH,
                    f"Keras config calls non-modelling Keras API {printable(name, 60)}",
                    f"{printable(target, 120)} {gadget}",
                    {"import": printable(target, 200), "gadget": printable(name, 80)},
                ),
                owner,
                path,
                layer,
            )
            return True
        if module == "builtins":
            severity = DANGEROUS_BUILTINS.get(name)
            if severity is None:
                # Keras 3 writes plain functions (relu, custom "pkg>fn") as builtins.
                return False
            self.report(
                _Hit(
                    "DZ-KER-002",
                    severity,
                    f"Keras config resolves dangerous builtin {printable(name, 40)}",
                    f"{printable(target, 120)} can run code or touch files when called",
                    {"import": printable(target, 200), "module": "builtins"},
                ),
                owner,
                path,
                layer,
            )
            return True
        if module == "__main__":
            return self._custom(owner, target, path, layer, why="defined in the loading script")
        root = _root(module)
        if root in TF_ROOTS:
            # tf.keras configs name TensorFlow classes (e.g. init_ops_v2.Constant); only
            # file, library and Python-callback ops are a risk there.
            segments = set(module.split("."))
            if name not in TF_FILE_OR_CODE_OPS and not segments & TF_RISKY_MODULES:
                return False
            self.report(
                _Hit(
                    "DZ-KER-004",
                    Severity.HIGH,
                    "Keras config names a TensorFlow file or Python-callback op",
                    f"{printable(target, 120)} reads or writes files, loads libraries or "
                    "calls Python",
                    {"import": printable(target, 200), "gadget": printable(name, 80)},
                ),
                owner,
                path,
                layer,
            )
            return True
        severity = Severity.CRITICAL if root in CRITICAL_MODULE_ROOTS else Severity.HIGH
        self.report(
            _Hit(
                "DZ-KER-002",
                severity,
                "Keras config imports a module outside Keras"
                + (" that can run commands" if severity is Severity.CRITICAL else ""),
                f"module {printable(module, 100)}, attribute {printable(name, 60)}: imported and "
                "called by Keras < 3.9 even with safe_mode (CVE-2025-1550)",
                {"import": printable(target, 200), "module": printable(module, 200)},
            ),
            owner,
            path,
            layer,
        )
        return True

    def _layer_specific(
        self,
        obj: dict[str, Any],
        class_name: str,
        inner: dict[str, Any],
        path: _Path,
        layer: str | None,
    ) -> None:
        cpath = (path, "config")
        if class_name == "Lambda":
            for field in ("function", "output_shape"):
                fn = inner.get(field)
                ftype = inner.get(f"{field}_type")
                fmodule = inner.get("module" if field == "function" else "output_shape_module")
                if ftype == "lambda" and isinstance(fn, str | list):
                    # Legacy tf.keras / Keras 2: [base64 code, defaults, closure].
                    self._bytecode(fn, fn, f"legacy Lambda {field}", (cpath, field), layer)
                elif ftype == "function" and isinstance(fn, str) and isinstance(fmodule, str):
                    self._module(inner, fmodule, fn, (cpath, field), layer)
        elif class_name in ("TFOpLambda", "SlicingOpLambda"):
            fn = inner.get("function")
            if isinstance(fn, str):
                self._tf_op(obj, fn, (cpath, "function"), layer)
        elif class_name == "TFSMLayer":
            filepath = inner.get("filepath")
            self.report(
                _Hit(
                    "DZ-KER-004",
                    Severity.HIGH,
                    "Keras TFSMLayer loads an external SavedModel",
                    f"filepath {printable(str(filepath), 100)}: {KERAS_GADGETS['TFSMLayer']}",
                    {"gadget": "TFSMLayer", "path": printable(str(filepath), 200)},
                ),
                obj,
                path,
                layer,
            )
        elif class_name in LOOKUP_LAYERS and isinstance(inner.get("vocabulary"), str):
            vocab = inner["vocabulary"]
            self.report(
                _Hit(
                    "DZ-KER-004",
                    Severity.HIGH,
                    "Keras lookup layer reads its vocabulary from a path or URL",
                    f"vocabulary {printable(vocab, 100)} is opened at load; Keras never saves "
                    "a path here",
                    {"gadget": "vocabulary", "path": printable(vocab, 200)},
                ),
                obj,
                path,
                layer,
            )

    def _tf_op(self, owner: object, fn: str, path: _Path, layer: str | None) -> None:
        name = fn
        for prefix in ("tf.", "tensorflow."):
            if name.startswith(prefix):
                name = name[len(prefix) :]
        parts = name.split(".")
        why = ""
        if not IDENT_PATH_RE.match(name):
            why = "is not a TensorFlow API name"
        elif len(parts) > 1 and parts[0] not in TF_NAMESPACES:
            why = "is outside the TensorFlow API namespace"
        elif parts[-1] in TF_FILE_OR_CODE_OPS or "gfile" in parts:
            why = "reads or writes files, loads libraries or calls Python"
        if not why:
            return
        self.report(
            _Hit(
                "DZ-KER-004",
                Severity.HIGH,
                "Keras TFOpLambda calls a function outside the safe TensorFlow ops",
                f"function {printable(fn, 100)} {why}",
                {"import": printable(fn, 200), "gadget": "TFOpLambda"},
            ),
            owner,
            path,
            layer,
        )


def _malformed(location: Location, what: str, evidence: str) -> Finding:
    return finding(
        "DZ-KER-005",
        TITLES_MALFORMED,
        Severity.MEDIUM,
        location,
        evidence=f"{what}: {evidence}",
        remediation=REMEDIATION["DZ-KER-005"],
        scanner=SCANNER,
    )


def _raw_gadgets(data: Buffer, location: Location, what: str) -> Iterator[Finding]:
    """Token scan of content that could not be parsed, so size tricks hide nothing."""
    view = memoryview(data)[: 256 << 20]
    try:
        seen = sorted({m.group(0).decode("ascii", "replace") for m in RAW_GADGET_RE.finditer(view)})
    finally:
        view.release()
    for token in seen[:8]:
        rule, severity = "DZ-KER-004", Severity.HIGH
        if token == "__lambda__":
            rule, severity = "DZ-KER-001", Severity.CRITICAL
        yield finding(
            rule,
            "Suspicious Keras token in content that could not be parsed",
            severity,
            location,
            evidence=f"{what}: raw bytes contain {printable(token, 80)}",
            remediation=REMEDIATION[rule],
            scanner=SCANNER,
            confidence=0.5,
            details={"token": printable(token, 80)},
        )


def _scan_config_bytes(
    data: Buffer, location: Location, ctx: ScanContext, source: str
) -> Iterator[Finding]:
    what = source or "config"
    size = len(data)
    if size > MAX_CONFIG_BYTES:
        yield _malformed(
            location, what, f"{size} bytes is over the {MAX_CONFIG_BYTES >> 20} MiB limit"
        )
        yield from _raw_gadgets(data, location, what)
        return
    try:
        parsed = json.loads(bytes(data))
    except RecursionError:
        yield _malformed(location, what, "JSON nested too deeply to parse")
        yield from _raw_gadgets(data, location, what)
        return
    except (ValueError, MemoryError) as exc:
        yield _malformed(location, what, f"not valid JSON ({printable(str(exc), 100)})")
        return
    if not isinstance(parsed, dict):
        yield _malformed(location, what, f"top level is {type(parsed).__name__}, not an object")
    walker = _ConfigWalker(location, ctx, source)
    walker.walk(parsed)
    yield from walker.findings
    yield from walker.summaries()
    if walker.too_deep:
        yield _malformed(location, what, f"JSON deeper than {MAX_JSON_DEPTH} levels not checked")


def scan_keras_config(blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    """Check the config.json of a Keras v3 `.keras` archive."""
    yield from _scan_config_bytes(blob.data, blob.location, ctx, "")


# --- HDF5 -----------------------------------------------------------------------------------------


def hdf5_offset(data: Buffer) -> int | None:
    """Where the HDF5 superblock signature is (0, 512, 1024, ...), or None."""
    size = len(data)
    offset = 0
    while offset + 8 <= size:
        if bytes(data[offset : offset + 8]) == HDF5_MAGIC:
            return offset
        offset = 512 if offset == 0 else offset * 2
    return None


def _attr_text(value: Any) -> bytes | None:
    """An attribute value as bytes when it is a string (str, bytes, numpy scalar/1-array)."""
    import numpy as np

    if isinstance(value, np.ndarray):
        if value.size != 1:
            return None
        value = value.reshape(-1)[0]
    if isinstance(value, bytes | np.bytes_):
        return bytes(value)
    if isinstance(value, str | np.str_):
        return str(value).encode("utf-8", "surrogatepass")
    return None


def _hdf5_finding(
    location: Location, title: str, evidence: str, details: dict[str, str]
) -> Finding:
    return finding(
        "DZ-KER-006",
        title,
        Severity.HIGH,
        location,
        evidence=evidence,
        remediation=REMEDIATION["DZ-KER-006"],
        scanner=SCANNER,
        details=details,
    )


def _walk_hdf5(h5file: Any, location: Location, ctx: ScanContext) -> Iterator[Finding]:
    """Visit groups and datasets through hard links only; never follow soft/external links."""
    import h5py

    h5g, h5l, h5o, h5d = h5py.h5g, h5py.h5l, h5py.h5o, h5py.h5d
    seen: set[tuple[int, int]] = set()
    root = h5g.open(h5file.id, b"/")
    info = h5o.get_info(root)
    seen.add((info.fileno, info.addr))
    queue: list[tuple[Any, str]] = [(root, "")]
    visited = 0
    reported = 0
    while queue:
        group, gpath = queue.pop()
        count = min(group.get_num_objs(), MAX_HDF5_LINKS_PER_GROUP)
        for index in range(count):
            visited += 1
            if visited & 0xFF == 0:
                ctx.check_time()
            if visited > MAX_HDF5_OBJECTS:
                yield _malformed(
                    location, "HDF5", f"more than {MAX_HDF5_OBJECTS} links; the rest not checked"
                )
                return
            name = group.get_objname_by_idx(index)
            path = f"{gpath}/{name.decode('utf-8', 'backslashreplace')}"
            kind = group.links.get_info(name).type
            if kind == h5l.TYPE_EXTERNAL:
                target = group.links.get_val(name)
                fname, opath = (target[0], target[1]) if len(target) >= 2 else (target, b"")
                reported += 1
                if reported <= MAX_FINDINGS_PER_RULE:
                    yield _hdf5_finding(
                        location,
                        "HDF5 external link to another file",
                        f"{printable(path, 100)} -> {printable(fname, 100)}:{printable(opath, 80)}",
                        {"hdf5_path": printable(path, 200), "file": printable(fname, 200)},
                    )
                continue
            if kind == h5l.TYPE_SOFT:
                continue  # a path inside this file; resolving it could cross an external link
            if kind != h5l.TYPE_HARD:
                yield _malformed(location, "HDF5", f"user-defined link type {kind} at {path}")
                continue
            oinfo = h5o.get_info(group, name=name)
            key = (oinfo.fileno, oinfo.addr)
            if key in seen:
                continue
            seen.add(key)
            if oinfo.type == h5o.TYPE_GROUP:
                queue.append((h5g.open(group, name), path))
            elif oinfo.type == h5o.TYPE_DATASET:
                for hit in _dataset_storage(h5d, group, name, path, location):
                    reported += 1
                    if reported <= MAX_FINDINGS_PER_RULE:
                        yield hit
        del group
    if reported > MAX_FINDINGS_PER_RULE:
        yield _hdf5_finding(
            location,
            f"{reported - MAX_FINDINGS_PER_RULE} more DZ-KER-006 occurrences not listed",
            f"only the first {MAX_FINDINGS_PER_RULE} are shown",
            {"omitted": str(reported - MAX_FINDINGS_PER_RULE)},
        )


def _dataset_storage(
    h5d: Any, group: Any, name: bytes, path: str, location: Location
) -> list[Finding]:
    """External raw files and virtual-dataset sources of one dataset (its plist only)."""
    out: list[Finding] = []
    dataset = dcpl = None
    try:
        dataset = h5d.open(group, name)
        dcpl = dataset.get_create_plist()
        nexternal = dcpl.get_external_count()
        if nexternal > 0:
            files = [dcpl.get_external(i)[0] for i in range(min(nexternal, 8))]
            shown = ", ".join(printable(f, 60) for f in files)
            out.append(
                _hdf5_finding(
                    location,
                    "HDF5 dataset stored in external raw files",
                    f"{printable(path, 100)} reads {nexternal} external file(s): {shown}",
                    {"hdf5_path": printable(path, 200), "file": printable(files[0], 200)},
                )
            )
        if dcpl.get_layout() == h5d.VIRTUAL:
            count = dcpl.get_virtual_count()
            others = sorted({dcpl.get_virtual_filename(i) for i in range(min(count, 1024))} - {"."})
            if others:
                shown = ", ".join(printable(f, 60) for f in others[:8])
                out.append(
                    _hdf5_finding(
                        location,
                        "HDF5 virtual dataset maps other files",
                        f"{printable(path, 100)} is built from {len(others)} other file(s): "
                        f"{shown}",
                        {"hdf5_path": printable(path, 200), "file": printable(others[0], 200)},
                    )
                )
    finally:
        # Property lists must not outlive the file: HDF5 would close it later, from C.
        del dcpl, dataset
    return out


_CONFIG_ATTRIBUTES = ("model_config", "training_config")

_Attrs = list[tuple[str, bytes | None]]
"""Root attributes that hold JSON configs: (name, text or None when not a string)."""


def _root_attributes(h5file: Any) -> _Attrs:
    attrs = h5file.attrs
    out: _Attrs = []
    for attr in _CONFIG_ATTRIBUTES:
        if attr in attrs:
            out.append((attr, _attr_text(attrs[attr])))
    return out


def _inspect_hdf5(data: Buffer, location: Location, seconds: float) -> tuple[list[Finding], _Attrs]:
    """Open with h5py from memory; structure findings plus the config attributes' text."""
    import h5py

    ctx = ScanContext(limits=Limits(seconds_per_file=seconds))
    results: list[Finding] = []
    attrs: _Attrs = []
    source = BufferFile(data)
    h5file = None
    try:
        try:
            h5file = h5py.File(source, "r")
        except Exception as exc:  # noqa: BLE001 - h5py raises many types on corrupt input
            results.append(_malformed(location, "HDF5", f"cannot open: {_error(exc)}"))
        if h5file is not None:
            try:
                attrs = _root_attributes(h5file)
            except Exception as exc:  # noqa: BLE001 - corrupt attributes: still walk the tree
                results.append(_malformed(location, "HDF5", f"attribute error: {_error(exc)}"))
            try:
                results.extend(_walk_hdf5(h5file, location, ctx))
            except (ScanTimeout, LimitExceeded) as exc:
                results.append(_malformed(location, "HDF5", f"structure not fully checked: {exc}"))
            except Exception as exc:  # noqa: BLE001 - corrupt structure: keep what was found
                results.append(_malformed(location, "HDF5", f"read error: {_error(exc)}"))
    finally:
        if h5file is not None:
            with contextlib.suppress(Exception):  # closing a corrupt file must not mask findings
                h5file.close()
        source.close()
    return results, attrs


# --- Isolation: libhdf5 runs in a helper process ------------------------------------------------
#
# libhdf5 is C code that hangs (an endless loop in its global-heap decoder, found by
# tests/test_fuzz_keras.py) and segfaults on crafted files, and check_time() cannot
# interrupt C code. So untrusted bytes only ever reach the library in a helper process
# that dozor starts itself (`python -c`, so no __main__ is re-run), reused across files
# and killed on a hang or crash, which then becomes a DZ-KER-005 finding. Requests and
# answers are JSON lines plus raw bytes: the answer comes from a process that parsed
# hostile input, so it is never unpickled.

ISOLATE_HDF5 = os.name == "posix" and bool(sys.executable)
"""Run libhdf5 in the helper process (False: in this process)."""
HDF5_SECONDS = 120.0
"""Wall time for one HDF5 file in the helper, also bounded by the per-file deadline."""
HELPER_REQUESTS = 500
"""Files one helper process handles before it is replaced (bounds leaked library state)."""
HELPER_GRACE = 10.0
"""Extra seconds to wait for the helper beyond the file budget (start-up, transfer)."""
MAX_ANSWER_BYTES = 256 << 20

_HELPER_CODE = "from dozor.scan.models.keras import _helper_main; _helper_main()"


def _helper_main() -> None:
    """Helper side: read {"size", "seconds"} + bytes, answer with one JSON line, repeat."""
    import base64
    import sys

    requests: Any = sys.stdin.buffer  # a BufferedReader: has readinto
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray C-level output must not corrupt the answers
    nowhere = Location("-")
    while True:
        header = requests.readline(4096)
        if not header:
            return
        request = json.loads(header)
        data = bytearray(int(request["size"]))
        view = memoryview(data)
        got = 0
        while got < len(data):
            n = requests.readinto(view[got:])
            if not n:
                return
            got += n
        view.release()
        found, attrs = _inspect_hdf5(data, nowhere, float(request["seconds"]))
        answer = {
            "findings": [
                [f.rule_id, f.title, int(f.severity), f.evidence, dict(f.details)] for f in found
            ],
            "attrs": [
                [name, None if text is None else base64.b64encode(text).decode("ascii")]
                for name, text in attrs
            ],
        }
        answers.write(json.dumps(answer).encode("utf-8") + b"\n")
        answers.flush()


class _Helper:
    """The parent's handle on one helper process."""

    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _HELPER_CODE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            close_fds=True,
        )
        self.served = 0
        self.buffer = b""
        self.eof = False

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.proc.kill()
        with contextlib.suppress(Exception):
            self.proc.wait(5)
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(Exception):
                stream.close()  # type: ignore[union-attr]

    def ask(self, data: Buffer, seconds: float) -> dict[str, Any] | str:
        """The helper's answer, or a sentence saying why there is none."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.served += 1
        view = memoryview(data)
        try:
            header = json.dumps({"size": view.nbytes, "seconds": seconds}).encode() + b"\n"
            self.proc.stdin.write(header)
            self.proc.stdin.write(view if view.format == "B" else view.cast("B"))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return "HDF5 helper process could not be reached"
        finally:
            view.release()
        line = self._read_line(time.monotonic() + seconds + HELPER_GRACE)
        if line is None:
            try:  # after end-of-file the exit status follows shortly
                code = self.proc.wait(5) if self.eof else self.proc.poll()
            except subprocess.TimeoutExpired:
                code = None
            if code is None:
                return f"HDF5 library did not finish within {seconds:.0f}s (hang on crafted input?)"
            return f"HDF5 library crashed on this file (exit code {code})"
        try:
            answer = json.loads(line)
        except ValueError:
            return "HDF5 helper gave an unreadable answer"
        return answer if isinstance(answer, dict) else "HDF5 helper gave an unreadable answer"

    def _read_line(self, deadline: float) -> bytes | None:
        import selectors

        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self.buffer:
                left = deadline - time.monotonic()
                if left <= 0 or len(self.buffer) > MAX_ANSWER_BYTES:
                    return None
                if not selector.select(min(left, 1.0)):
                    continue
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    self.eof = True
                    return None
                self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line


_helper: _Helper | None = None
_helper_lock = threading.Lock()


def _stop_helper() -> None:
    global _helper
    if _helper is not None:
        _helper.stop()
        _helper = None


atexit.register(_stop_helper)


def _inspect_isolated(
    data: Buffer, location: Location, seconds: float
) -> tuple[list[Finding], _Attrs]:
    global _helper
    import base64

    with _helper_lock:
        if _helper is None or _helper.proc.poll() is not None:
            _stop_helper()
            _helper = _Helper()
        answer = _helper.ask(data, seconds)
        if isinstance(answer, str) or _helper.served >= HELPER_REQUESTS:
            _stop_helper()  # hung, crashed or used up: the next file gets a fresh helper
    if isinstance(answer, str):
        return [_malformed(location, "HDF5", answer)], []
    found: list[Finding] = []
    for item in answer.get("findings", []):
        rule, title, severity, evidence, details = item
        if not (isinstance(rule, str) and rule.startswith("DZ-KER-") and rule in REMEDIATION):
            continue
        found.append(
            finding(
                rule,
                str(title),
                Severity(max(0, min(int(severity), int(Severity.CRITICAL)))),
                location,
                evidence=str(evidence),
                remediation=REMEDIATION[rule],
                scanner=SCANNER,
                details={str(k): str(v) for k, v in dict(details).items()},
            )
        )
    attrs: _Attrs = []
    for name, text in answer.get("attrs", []):
        attrs.append((str(name), None if text is None else base64.b64decode(text)))
    return found, attrs


def scan_hdf5(blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    """Check an HDF5 file (legacy Keras `.h5` or `model.weights.h5`) without following links."""
    if importlib.util.find_spec("h5py") is None:
        yield _malformed(blob.location, "HDF5", "h5py is not installed; file not checked")
        return
    if hdf5_offset(blob.data) is None:
        yield _malformed(blob.location, "HDF5", "no HDF5 signature at 0 or a power of two >= 512")
        return
    remaining = ctx.deadline - time.monotonic()
    if remaining <= 0:
        ctx.check_time()
    seconds = max(1.0, min(HDF5_SECONDS, remaining))
    found: list[Finding] | None = None
    attrs: _Attrs = []
    if ISOLATE_HDF5:
        try:
            found, attrs = _inspect_isolated(blob.data, blob.location, seconds)
        except OSError:
            found = None  # no helper process can be started here: run the library inline
        except (ValueError, TypeError, KeyError):
            found, attrs = [_malformed(blob.location, "HDF5", "unreadable helper answer")], []
    if found is None:
        found, attrs = _inspect_hdf5(blob.data, blob.location, seconds)
    yield from found
    for name, text in attrs:
        if text is None:
            yield _malformed(blob.location, f"HDF5 attribute {name}", "not a string")
        else:
            yield from _scan_config_bytes(text, blob.location, ctx, f"HDF5 attribute {name}")
    ctx.check_time()


def _error(exc: BaseException) -> str:
    return printable(f"{type(exc).__name__}: {exc}", 160)
