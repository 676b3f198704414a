"""Static analysis of Jinja2 chat templates shipped inside model files.

Why this exists: GGUF files (``tokenizer.chat_template``) and Hugging Face
``tokenizer_config.json`` files carry a Jinja2 template that the runtime renders on
every chat request. A loader that renders it with an unsandboxed
``jinja2.Environment`` (llama-cpp-python before 0.2.72, CVE-2024-34359) lets the
template walk Python object internals (``cycler.__init__.__globals__.os.popen``) and
run commands. Even in a sandbox such templates are a red flag.

We only ever *parse* the template with ``jinja2.Environment.parse`` (which builds an
AST and never runs template code) and walk that AST for the constructs such payloads
need: attribute or item access to dunder and interpreter-internal names, access to
``os``/``subprocess``-like names, calls such as ``popen(...)``, the usual SSTI gadget
roots (``cycler``, ``joiner``, ``lipsum``, ``self``, ``config``, ...) and names built at
render time by concatenation or string filters (``'__glo' ~ 'bals__'``), which we fold
to constants. If the template does not parse we still grep it for dunder words, since
other engines (llama.cpp's minja, custom renderers) may accept what Jinja2 rejects.

The result is a list of `TemplateIssue`s; callers (the GGUF scanner, the
``tokenizer_config.json`` scanner) map each issue kind to their own rule ids.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from dozor.findings import Finding, Location, Severity
from dozor.scan.base import finding

# Issue kinds. Callers map these to rule ids.
CODE_EXECUTION = "code-execution"
"""Reaches interpreter internals or a command-running call: runs code if rendered unsandboxed."""
SUSPICIOUS = "suspicious"
"""Constructs no benign chat template uses (gadget roots, dunder strings, os-like names)."""
LOADER = "loader"
"""Private attributes, or include/import/extends that depend on the renderer's loader."""
UNPARSEABLE = "unparseable"
"""Jinja2 cannot parse the template (or it is too large to analyse)."""

MAX_TEMPLATE_CHARS = 2 << 20
"""Templates longer than this are only grepped, not parsed."""
MAX_ISSUES = 50
"""Issues reported for one template; the rest are dropped (the verdict is already clear)."""
_MAX_FOLD_CHARS = 4096
_MAX_FOLD_CHOICES = 16
_MAX_FOLD_DEPTH = 40
_MAX_WALK_NODES = 2_000_000

# Attribute names that only matter for reaching Python internals. Accessing any of
# them from a template is the first step of every known Jinja2 sandbox escape.
INTERNAL_ATTRS: frozenset[str] = frozenset(
    {
        "__globals__",
        "__builtins__",
        "__subclasses__",
        "__class__",
        "__mro__",
        "__base__",
        "__bases__",
        "__init__",
        "__new__",
        "__import__",
        "__getattribute__",
        "__getattr__",
        "__dict__",
        "__code__",
        "__func__",
        "__self__",
        "__closure__",
        "__module__",
        "__loader__",
        "__spec__",
        "__reduce__",
        "__reduce_ex__",
        "__call__",
        "__subclasshook__",
        "__init_subclass__",
        "__getitem__",
        "__wrapped__",
        "__qualname__",
        "func_globals",
        "func_code",
        "func_closure",
        "im_func",
        "f_globals",
        "f_locals",
        "f_builtins",
        "f_back",
        "f_code",
        "gi_frame",
        "gi_code",
        "cr_frame",
        "cr_code",
        "ag_frame",
        "tb_frame",
        "tb_next",
        "co_code",
        "co_consts",
        "cell_contents",
        "mro",
        "_TemplateReference__context",
    }
)

# Names of modules and functions that give command execution or imports once reached.
DANGEROUS_ATTRS: frozenset[str] = frozenset(
    {
        "os",
        "subprocess",
        "sys",
        "builtins",
        "importlib",
        "modules",
        "popen",
        "eval",
        "exec",
        "execfile",
        "import_module",
        "load_module",
        "check_output",
        "check_call",
        "getoutput",
        "getstatusoutput",
        "Popen",
        "pty",
        "posix",
        "nt",
    }
)

# Called as methods these run commands or code. ``system`` is only flagged when called:
# ``['system']`` as a dict key is ordinary chat-template data.
DANGEROUS_CALLS: frozenset[str] = DANGEROUS_ATTRS | frozenset(
    {
        "system",
        "spawnl",
        "spawnlp",
        "spawnv",
        "spawnvp",
        "spawnve",
        "execl",
        "execle",
        "execlp",
        "execv",
        "execve",
        "execvp",
        "call",
        "run",
        "__import__",
        "compile",
        "getattr",
        "setattr",
        "remove",
        "unlink",
        "rmtree",
        "urlopen",
    }
)
# ``call``, ``run``, ``remove`` are too generic to matter on their own; they only count
# as method calls at the end of a chain that already looks dangerous (see _check_call).
_GENERIC_CALLS = frozenset({"call", "run", "remove", "unlink", "getattr", "setattr", "compile"})

# Global names that an unsandboxed renderer does not provide but a careless one might.
DANGEROUS_GLOBALS: frozenset[str] = frozenset(
    {
        "eval",
        "exec",
        "__import__",
        "open",
        "getattr",
        "setattr",
        "compile",
        "globals",
        "locals",
        "vars",
        "breakpoint",
        "__builtins__",
        "os",
        "subprocess",
        "importlib",
    }
)

# Jinja2 default globals and well-known framework objects whose Python attributes lead
# to module globals: the usual roots of server-side template injection payloads.
GADGET_ROOTS: frozenset[str] = frozenset(
    {
        "self",
        "cycler",
        "joiner",
        "namespace",
        "lipsum",
        "range",
        "dict",
        "config",
        "request",
        "url_for",
        "get_flashed_messages",
    }
)

# Filters whose arguments name attributes that Jinja2 looks up on the items.
_ATTRIBUTE_FILTERS = frozenset(
    {"map", "selectattr", "rejectattr", "sort", "groupby", "sum", "unique", "min", "max"}
)
_POSITIONAL_ATTRIBUTE_FILTERS = frozenset({"selectattr", "rejectattr", "groupby"})

_DUNDER_RE = re.compile(r"^__\w+__$")
_FALLBACK_RE = re.compile(
    r"__(?:globals|builtins|subclasses|class|mro|bases?|init|import|getattribute|dict|code"
    r"|func|self|closure|module|loader|reduce(?:_ex)?|subclasshook)__"
    r"|\b(?:func_globals|f_globals|f_locals|f_builtins|gi_frame|cr_frame|tb_frame"
    r"|popen|subprocess|import_module|check_output|getoutput)\b"
    r"|\bos\s*\.\s*system\b"
)
_FORMAT_FIELD_RE = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True)
class TemplateIssue:
    """One construct in a template that a benign chat template would not contain."""

    kind: str
    """`CODE_EXECUTION`, `SUSPICIOUS`, `LOADER` or `UNPARSEABLE`."""
    severity: Severity
    message: str
    """One line saying what was seen and why it matters."""
    evidence: str
    """The expression or text, shortened; for display only."""
    line: int | None = None
    """1-based line in the template source, where known."""


def analyze_template(src: str) -> list[TemplateIssue]:
    """Parse `src` as Jinja2 (never render it) and report sandbox-escape constructs.

    Benign chat templates (ChatML, Llama 3, Mistral, Gemma, Qwen with tools, ...)
    produce no issue at all. Never raises on any input string.
    """
    if len(src) > MAX_TEMPLATE_CHARS:
        issues = [
            TemplateIssue(
                UNPARSEABLE,
                Severity.MEDIUM,
                f"template of {len(src)} characters is too large to analyse",
                _short(src[:80]),
            )
        ]
        return issues + _regex_fallback(src)
    try:
        tree = _environment().parse(src)
    except RecursionError:
        return [_unparseable("template nests too deeply to parse", src)] + _regex_fallback(src)
    except Exception as exc:  # noqa: BLE001 - hostile input must never crash the scan
        line = getattr(exc, "lineno", None)
        msg = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        issue = _unparseable(f"Jinja2 cannot parse the template: {msg}", src, line)
        return [issue] + _regex_fallback(src)
    try:
        return _Analyzer(tree).run()
    except RecursionError:
        return [_unparseable("template nests too deeply to analyse", src)] + _regex_fallback(src)


def _unparseable(message: str, src: str, line: int | None = None) -> TemplateIssue:
    text = src.splitlines()[line - 1] if line and 0 < line <= src.count("\n") + 1 else src[:80]
    return TemplateIssue(UNPARSEABLE, Severity.MEDIUM, _short(message, 200), _short(text), line)


def _regex_fallback(src: str) -> list[TemplateIssue]:
    """Dunder words in a template we could not parse: another engine may still run it."""
    issues: list[TemplateIssue] = []
    seen: set[str] = set()
    for match in _FALLBACK_RE.finditer(src):
        word = match.group(0)
        if word in seen:
            continue
        seen.add(word)
        line = src.count("\n", 0, match.start()) + 1
        issues.append(
            TemplateIssue(
                SUSPICIOUS,
                Severity.HIGH,
                f"unparsed template mentions {word!r}, a sandbox-escape building block",
                _short(word),
                line,
            )
        )
        if len(issues) >= MAX_ISSUES:
            break
    return issues


@cache
def _environment() -> Any:
    """A parse-only Environment that accepts the tags real chat templates use."""
    from jinja2 import Environment, nodes
    from jinja2.ext import Extension

    class _GenerationTag(Extension):
        """``{% generation %}...{% endgeneration %}`` (Hugging Face assistant masks)."""

        tags = {"generation"}  # noqa: RUF012 - the base class declares it this way

        def parse(self, parser: Any) -> Any:
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return nodes.Scope(body, lineno=lineno)

    return Environment(extensions=["jinja2.ext.loopcontrols", "jinja2.ext.do", _GenerationTag])


def _short(text: str, limit: int = 120) -> str:
    text = text.encode("unicode_escape", "backslashreplace").decode("ascii")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_internal(name: str) -> bool:
    return name in INTERNAL_ATTRS


def _is_dunder(name: str) -> bool:
    return bool(_DUNDER_RE.match(name))


class _Analyzer:
    """Walks one parsed template and collects issues."""

    def __init__(self, tree: Any) -> None:
        from jinja2 import nodes

        self.nodes = nodes
        self.tree = tree
        self.issues: list[TemplateIssue] = []
        self.seen: set[tuple[str, str, int | None]] = set()
        self.values: dict[str, list[object]] = {}
        """Constant values a template variable may hold (from set/for/macro defaults)."""
        self.bound: set[str] = set()
        """Names the template itself assigns (they shadow gadget roots)."""
        self.consumed: set[int] = set()
        """Ids of expression nodes already judged as attribute names."""
        self.literal_words: set[tuple[str, int | None]] = set()

    # -- driver ----------------------------------------------------------------------

    def run(self) -> list[TemplateIssue]:
        all_nodes = list(self._walk(self.tree))
        self._collect_bindings(all_nodes)
        n = self.nodes
        for node in all_nodes:
            if isinstance(node, n.Getattr):
                self._check_access(node.attr, node, node.node, via="getattr")
            elif isinstance(node, n.Getitem):
                if not isinstance(node.arg, n.Slice):
                    self.consumed.add(id(node.arg))
                    for value in self._fold_str(node.arg):
                        self._check_access(value, node, node.node, via="getitem")
            elif isinstance(node, n.Filter):
                self._check_filter(node)
            elif isinstance(node, n.Call):
                self._check_call(node)
            elif isinstance(node, n.Name) and node.ctx == "load":
                self._check_name(node)
            elif isinstance(node, (n.Include, n.Import, n.FromImport, n.Extends)):
                self._add(
                    LOADER,
                    Severity.MEDIUM,
                    f"template uses {{% {type(node).__name__.lower()} %}}: what it loads "
                    "depends on the renderer's loader (files, with a file loader)",
                    _expr_text(getattr(node, "template", None)),
                    node,
                )
        for node in all_nodes:
            self._check_literal(node)
        return self.issues[:MAX_ISSUES]

    def _walk(self, root: Any) -> Iterator[Any]:
        stack = [root]
        count = 0
        while stack:
            node = stack.pop()
            count += 1
            if count > _MAX_WALK_NODES:
                return
            yield node
            stack.extend(reversed(list(node.iter_child_nodes())))

    def _collect_bindings(self, all_nodes: list[Any]) -> None:
        n = self.nodes
        for node in all_nodes:
            if isinstance(node, n.Name) and node.ctx in ("store", "param"):
                self.bound.add(node.name)
        # A few passes so that ``{% set b = a ~ 'x' %}`` sees the values of ``a``.
        for _ in range(3):
            for node in all_nodes:
                if isinstance(node, n.Assign) and isinstance(node.target, n.Name):
                    self._bind(node.target.name, self._fold(node.node))
                elif isinstance(node, n.AssignBlock) and isinstance(node.target, n.Name):
                    self._bind(node.target.name, self._fold_body(node.body))
                elif isinstance(node, n.For) and isinstance(node.target, n.Name):
                    for seq in self._fold(node.iter) or []:
                        if isinstance(seq, (list, tuple)):
                            self._bind(node.target.name, list(seq))
                        elif isinstance(seq, str):
                            self._bind(node.target.name, list(seq[:_MAX_FOLD_CHOICES]))
                elif isinstance(node, n.Macro):
                    params = node.args[len(node.args) - len(node.defaults) :]
                    for param, default in zip(params, node.defaults, strict=True):
                        self._bind(param.name, self._fold(default))

    def _bind(self, name: str, values: list[object] | None) -> None:
        if not values:
            return
        known = self.values.setdefault(name, [])
        for value in values:
            if value not in known and len(known) < _MAX_FOLD_CHOICES:
                known.append(value)

    # -- checks ----------------------------------------------------------------------

    def _add(self, kind: str, severity: Severity, message: str, evidence: str, node: Any) -> None:
        line = getattr(node, "lineno", None)
        key = (kind, evidence, line)
        if key in self.seen or len(self.issues) >= MAX_ISSUES:
            return
        self.seen.add(key)
        self.issues.append(TemplateIssue(kind, severity, message, _short(evidence), line))

    def _check_access(self, name: str, node: Any, base: Any, *, via: str) -> None:
        """Judge an attribute (or item, or ``|attr``) named `name` read from `base`."""
        evidence = _expr_text(node)
        for part in name.split(".") if via == "attribute-arg" else [name]:
            if _is_internal(part):
                self._add(
                    CODE_EXECUTION,
                    Severity.CRITICAL,
                    f"template reads Python internal {part!r}: the first step of a sandbox "
                    "escape; runs code when rendered without a sandbox (CVE-2024-34359)",
                    evidence,
                    node,
                )
            elif _is_dunder(part):
                self._add(
                    SUSPICIOUS,
                    Severity.HIGH,
                    f"template reads dunder attribute {part!r}",
                    evidence,
                    node,
                )
            elif part in DANGEROUS_ATTRS:
                self._add(
                    SUSPICIOUS,
                    Severity.HIGH,
                    f"template reads {part!r}, a name used to reach commands or imports",
                    evidence,
                    node,
                )
            elif part.startswith("_") and via != "getitem":
                self._add(
                    LOADER,
                    Severity.MEDIUM,
                    f"template reads private attribute {part!r} (sandboxes forbid it)",
                    evidence,
                    node,
                )
        n = self.nodes
        if isinstance(base, n.Name) and base.name in GADGET_ROOTS and base.name not in self.bound:
            self._add(
                SUSPICIOUS,
                Severity.HIGH,
                f"template reads attributes of {base.name!r}, a common root of "
                "template-injection payloads",
                evidence,
                node,
            )

    def _check_filter(self, node: Any) -> None:
        n = self.nodes
        if node.name == "attr" and node.args:
            self.consumed.add(id(node.args[0]))
            for value in self._fold_str(node.args[0]):
                self._check_access(value, node, node.node, via="attr-filter")
            return
        if node.name not in _ATTRIBUTE_FILTERS:
            return
        candidates: list[Any] = [kw.value for kw in node.kwargs if kw.key == "attribute"]
        if node.name in _POSITIONAL_ATTRIBUTE_FILTERS and node.args:
            candidates.append(node.args[0])
        if node.name == "map" and len(node.args) >= 2 and "attr" in self._fold_str(node.args[0]):
            candidates.append(node.args[1])
        for arg in candidates:
            if isinstance(arg, n.Expr):
                self.consumed.add(id(arg))
                for value in self._fold_str(arg):
                    self._check_access(value, node, node.node, via="attribute-arg")

    def _check_call(self, node: Any) -> None:
        n = self.nodes
        callee = node.node
        names: list[str] = []
        if isinstance(callee, n.Getattr):
            names = [callee.attr]
        elif isinstance(callee, n.Getitem) and not isinstance(callee.arg, n.Slice):
            names = self._fold_str(callee.arg)
        elif isinstance(callee, n.Filter) and callee.name == "attr" and callee.args:
            names = self._fold_str(callee.args[0])
        elif isinstance(callee, n.Name):
            if callee.name in DANGEROUS_GLOBALS and callee.name not in self.bound:
                self._add(
                    SUSPICIOUS,
                    Severity.HIGH,
                    f"template calls {callee.name!r}, which only a dangerously configured "
                    "renderer would provide",
                    _expr_text(node),
                    node,
                )
            return
        evidence = _expr_text(node)
        for name in names:
            if name in ("format", "format_map") and isinstance(callee, n.Getattr):
                self._check_format_string(callee.node, node)
            if name not in DANGEROUS_CALLS:
                continue
            if name in _GENERIC_CALLS and not self._chain_is_suspicious(callee):
                continue
            self._add(
                CODE_EXECUTION,
                Severity.CRITICAL,
                f"template calls {name!r}, which runs commands or code when reached",
                evidence,
                node,
            )

    def _chain_is_suspicious(self, node: Any) -> bool:
        n = self.nodes
        for _ in range(_MAX_FOLD_DEPTH * 10):
            if isinstance(node, n.Getattr):
                if _is_dunder(node.attr) or node.attr in DANGEROUS_ATTRS:
                    return True
                node = node.node
            elif isinstance(node, (n.Getitem, n.Filter, n.Call)) and node.node is not None:
                node = node.node
            else:
                return False
        return False

    def _check_format_string(self, receiver: Any, node: Any) -> None:
        """``'{0.__class__}'.format(x)`` reads attributes through str.format fields."""
        for text in self._fold_str(receiver):
            for field in _FORMAT_FIELD_RE.findall(text):
                parts = [p for p in re.split(r"[.\[\]!:]", field) if p]
                for part in parts[1:]:
                    if _is_internal(part) or _is_dunder(part):
                        self._add(
                            CODE_EXECUTION,
                            Severity.CRITICAL,
                            f"str.format field reads {part!r} (format-string sandbox escape)",
                            _expr_text(node),
                            node,
                        )

    def _check_name(self, node: Any) -> None:
        name = node.name
        if name in self.bound:
            return
        if _is_dunder(name) or name in INTERNAL_ATTRS:
            self._add(
                SUSPICIOUS,
                Severity.HIGH,
                f"template uses the variable {name!r}",
                name,
                node,
            )

    def _check_literal(self, node: Any) -> None:
        """A string that is, or is built to be, an internal name, outside any access."""
        n = self.nodes
        if id(node) in self.consumed:
            return
        values: list[str] = []
        if isinstance(node, n.Const) and isinstance(node.value, str):
            values = [node.value]
        elif isinstance(node, n.Keyword):
            values = [node.key]
        elif isinstance(node, (n.Concat, n.Add, n.Mul, n.Mod, n.Filter, n.Call)):
            values = self._fold_str(node)
        line = getattr(node, "lineno", None)
        for value in values:
            word = value.strip()
            if (word, line) in self.literal_words:
                continue
            if _is_internal(word) or (_is_dunder(word) and len(word) > 4):
                self.literal_words.add((word, line))
                built = not isinstance(node, n.Const)
                how = "built at render time" if built else "as a string literal"
                self._add(
                    SUSPICIOUS,
                    Severity.HIGH,
                    f"template contains the name {word!r} {how}",
                    f"{_expr_text(node)} -> {word}" if built else word,
                    node,
                )

    # -- constant folding ------------------------------------------------------------

    def _fold_str(self, node: Any) -> list[str]:
        return [v for v in (self._fold(node) or []) if isinstance(v, str)]

    def _fold_body(self, body: list[Any]) -> list[object] | None:
        n = self.nodes
        parts: list[str] = []
        for stmt in body:
            if not isinstance(stmt, n.Output):
                return None
            for item in stmt.nodes:
                values = self._fold(item)
                if not values or len(values) != 1:
                    return None
                parts.append(_to_str(values[0]))
        text = "".join(parts)
        return [text] if len(text) <= _MAX_FOLD_CHARS else None

    def _fold(self, node: Any, depth: int = 0) -> list[object] | None:
        """Possible constant values of an expression, or None if not constant.

        Only string-building operations are modelled, each with a bounded result size;
        never evaluates anything with Python's own formatting on untrusted input.
        """
        if depth > _MAX_FOLD_DEPTH or node is None:
            return None
        n = self.nodes
        d = depth + 1
        result: list[object] | None = None
        if isinstance(node, n.TemplateData):
            result = [node.data]
        elif isinstance(node, n.Const):
            if isinstance(node.value, (str, int, float, bool)) or node.value is None:
                result = [node.value]
        elif isinstance(node, n.Name):
            if node.ctx == "load" and node.name in self.values:
                result = list(self.values[node.name])
        elif isinstance(node, (n.List, n.Tuple)):
            items: list[object] = []
            for item in node.items:
                values = self._fold(item, d)
                if not values or len(values) != 1:
                    return None
                items.append(values[0])
            result = [items]
        elif isinstance(node, n.Concat):
            concat: list[object] | None = [""]
            for part in node.nodes:
                values = self._fold(part, d)
                if not values or not concat:
                    return None
                concat = _product(concat, values, lambda a, b: _to_str(a) + _to_str(b))
            result = concat
        elif isinstance(node, n.Add):
            result = self._binary(node, d, _add)
        elif isinstance(node, n.Mul):
            result = self._binary(node, d, _mul)
        elif isinstance(node, n.Mod):
            result = self._binary(node, d, _percent_format)
        elif isinstance(node, n.CondExpr):
            first = self._fold(node.expr1, d) or []
            second = self._fold(node.expr2, d) if node.expr2 is not None else [""]
            result = (first + (second or []))[:_MAX_FOLD_CHOICES] or None
        elif isinstance(node, n.Getitem):
            result = self._fold_getitem(node, d)
        elif isinstance(node, n.Filter):
            result = self._fold_filter(node, d)
        elif isinstance(node, n.Call):
            result = self._fold_method(node, d)
        if result is None:
            return None
        result = [v for v in result if _small(v)][:_MAX_FOLD_CHOICES]
        return result or None

    def _binary(self, node: Any, depth: int, op: Any) -> list[object] | None:
        left = self._fold(node.left, depth)
        right = self._fold(node.right, depth)
        if not left or not right:
            return None
        return _product(left, right, op)

    def _args(self, args: list[Any], depth: int) -> list[object] | None:
        out: list[object] = []
        for arg in args:
            values = self._fold(arg, depth)
            if not values or len(values) != 1:
                return None
            out.append(values[0])
        return out

    def _fold_getitem(self, node: Any, depth: int) -> list[object] | None:
        n = self.nodes
        bases = self._fold(node.node, depth)
        if not bases:
            return None
        if isinstance(node.arg, n.Slice):
            bounds: list[int | None] = []
            for part in (node.arg.start, node.arg.stop, node.arg.step):
                if part is None:
                    bounds.append(None)
                    continue
                values = self._fold(part, depth)
                if not values or len(values) != 1 or not isinstance(values[0], int):
                    return None
                bounds.append(values[0])
            if bounds[2] == 0:
                return None
            return [b[slice(*bounds)] for b in bases if isinstance(b, (str, list))]
        index = self._fold(node.arg, depth)
        if not index or len(index) != 1 or not isinstance(index[0], int):
            return None
        out: list[object] = []
        for b in bases:
            if isinstance(b, (str, list)) and -len(b) <= index[0] < len(b):
                out.append(b[index[0]])
        return out or None

    def _fold_filter(self, node: Any, depth: int) -> list[object] | None:
        if node.node is None:
            return None
        bases = self._fold(node.node, depth)
        args = self._args(node.args, depth)
        if not bases or args is None:
            return None
        return _apply_op(node.name, bases, args)

    def _fold_method(self, node: Any, depth: int) -> list[object] | None:
        n = self.nodes
        if not isinstance(node.node, n.Getattr) or node.kwargs or node.dyn_args:
            return None
        bases = self._fold(node.node.node, depth)
        args = self._args(node.args, depth)
        if not bases or args is None:
            return None
        return _apply_op("." + node.node.attr, bases, args)


def _to_str(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, list):
        return "[" + ", ".join(repr(v) for v in value) + "]"
    return str(value)


def _small(value: object) -> bool:
    if isinstance(value, str):
        return len(value) <= _MAX_FOLD_CHARS
    if isinstance(value, list):
        return len(value) <= _MAX_FOLD_CHARS and all(_small(v) for v in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return abs(value) <= 1 << 32
    return True


def _product(left: list[object], right: list[object], op: Any) -> list[object] | None:
    out: list[object] = []
    for a in left:
        for b in right:
            value = op(a, b)
            if value is not None and _small(value):
                out.append(value)
            if len(out) >= _MAX_FOLD_CHOICES:
                return out
    return out or None


def _add(a: object, b: object) -> object | None:
    if isinstance(a, str) and isinstance(b, str):
        return a + b
    if isinstance(a, list) and isinstance(b, list):
        return a + b
    if type(a) is int and type(b) is int:
        return a + b
    return None


def _mul(a: object, b: object) -> object | None:
    if isinstance(b, str) and type(a) is int:
        a, b = b, a
    if isinstance(a, str) and type(b) is int:
        if b < 0 or len(a) * b > _MAX_FOLD_CHARS:
            return None
        return a * b
    if type(a) is int and type(b) is int:
        return a * b
    return None


def _percent_format(fmt: object, args: object) -> object | None:
    """``fmt % args`` for ``%s`` and ``%%`` only; anything else is not folded."""
    if not isinstance(fmt, str):
        return None
    values = list(args) if isinstance(args, list) else [args]
    out: list[str] = []
    i = 0
    used = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch != "%":
            out.append(ch)
            i += 1
            continue
        spec = fmt[i + 1 : i + 2]
        if spec == "%":
            out.append("%")
        elif spec == "s" and used < len(values):
            out.append(_to_str(values[used]))
            used += 1
        else:
            return None
        i += 2
    if used != len(values):
        return None
    return "".join(out)


def _brace_format(fmt: str, args: list[object]) -> str | None:
    """``fmt.format(*args)`` for plain ``{}``/``{0}`` fields only."""
    out: list[str] = []
    auto = 0
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == "{" and fmt[i + 1 : i + 2] == "{":
            out.append("{")
            i += 2
        elif ch == "}" and fmt[i + 1 : i + 2] == "}":
            out.append("}")
            i += 2
        elif ch == "{":
            end = fmt.find("}", i)
            if end < 0:
                return None
            field = fmt[i + 1 : end]
            if field == "":
                index = auto
                auto += 1
            elif field.isdigit() and len(field) < 4:
                index = int(field)
            else:
                return None
            if index >= len(args):
                return None
            out.append(_to_str(args[index]))
            i = end + 1
        elif ch == "}":
            return None
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _apply_op(op: str, bases: list[object], args: list[object]) -> list[object] | None:
    """Apply a string filter (``join``) or method (``.join``) to folded values."""
    out: list[object] = []
    for base in bases:
        value = _apply_one(op, base, args)
        if value is not None and _small(value):
            out.append(value)
    return out or None


def _apply_one(op: str, base: object, args: list[object]) -> object | None:
    strs = all(isinstance(a, str) for a in args)
    if op == "join" and isinstance(base, list) and len(args) <= 1 and strs:
        sep = str(args[0]) if args else ""
        return sep.join(_to_str(v) for v in base)
    if op == ".join" and isinstance(base, str) and len(args) == 1 and isinstance(args[0], list):
        return base.join(_to_str(v) for v in args[0])
    if not isinstance(base, str):
        if op in ("first", "last") and isinstance(base, list) and base and not args:
            item: object = base[0] if op == "first" else base[-1]
            return item
        if op in ("string", "list") and isinstance(base, list) and not args:
            return _to_str(base) if op == "string" else base
        return None
    if op in ("replace", ".replace") and 2 <= len(args) <= 3 and isinstance(args[0], str):
        old, new = args[0], args[1]
        if not isinstance(new, str):
            return None
        count = args[2] if len(args) == 3 else -1
        if not isinstance(count, int) or isinstance(count, bool):
            return None
        hits = base.count(old) if old else len(base) + 1
        if len(base) + hits * max(len(new) - len(old), 0) > _MAX_FOLD_CHARS:
            return None
        return base.replace(old, new, count)
    if op == "format":
        return _percent_format(base, list(args))
    if op == ".format":
        return _brace_format(base, args)
    if args:
        if op in (".strip", ".lstrip", ".rstrip") and len(args) == 1 and strs:
            chars = str(args[0])
            if op == ".strip":
                return base.strip(chars)
            return base.lstrip(chars) if op == ".lstrip" else base.rstrip(chars)
        return None
    simple = {
        "lower": base.lower,
        "upper": base.upper,
        "trim": base.strip,
        "capitalize": base.capitalize,
        ".lower": base.lower,
        ".upper": base.upper,
        ".strip": base.strip,
        ".lstrip": base.lstrip,
        ".rstrip": base.rstrip,
        ".capitalize": base.capitalize,
        ".swapcase": base.swapcase,
        ".casefold": base.casefold,
    }
    if op in simple:
        return simple[op]()
    if op == "reverse":
        return base[::-1]
    if op in ("string", "e", "escape"):
        return base
    if op == "list":
        return list(base)
    if op in ("first", "last") and base:
        return base[0] if op == "first" else base[-1]
    return None


def _expr_text(node: Any, depth: int = 0) -> str:
    """A short source-like rendering of an expression for evidence."""
    if node is None:
        return ""
    if depth > 12:
        return "..."
    from jinja2 import nodes as n

    d = depth + 1
    if isinstance(node, n.Name):
        return str(node.name)
    if isinstance(node, n.Const):
        return repr(node.value)
    if isinstance(node, n.Getattr):
        return f"{_expr_text(node.node, d)}.{node.attr}"
    if isinstance(node, n.Getitem):
        return f"{_expr_text(node.node, d)}[{_expr_text(node.arg, d)}]"
    if isinstance(node, n.Slice):
        return ":".join(_expr_text(p, d) for p in (node.start, node.stop))
    if isinstance(node, n.Call):
        args = ", ".join(_expr_text(a, d) for a in node.args)
        return f"{_expr_text(node.node, d)}({args})"
    if isinstance(node, n.Filter):
        args = ", ".join(
            [_expr_text(a, d) for a in node.args]
            + [f"{k.key}={_expr_text(k.value, d)}" for k in node.kwargs]
        )
        base = _expr_text(node.node, d) if node.node is not None else ""
        return f"{base}|{node.name}({args})" if args else f"{base}|{node.name}"
    if isinstance(node, n.Concat):
        return " ~ ".join(_expr_text(p, d) for p in node.nodes)
    if isinstance(node, n.BinExpr):
        return f"{_expr_text(node.left, d)} {node.operator} {_expr_text(node.right, d)}"
    if isinstance(node, (n.List, n.Tuple)):
        return "[" + ", ".join(_expr_text(i, d) for i in node.items) + "]"
    if isinstance(node, n.Keyword):
        return f"{node.key}={_expr_text(node.value, d)}"
    return type(node).__name__


_TITLES = {
    CODE_EXECUTION: "Chat template reaches Python internals: runs code in unsandboxed renderers",
    SUSPICIOUS: "Chat template contains sandbox-escape building blocks",
    LOADER: "Chat template loads other templates or reads private attributes",
    UNPARSEABLE: "Chat template could not be parsed, so it was not checked",
}
_REMEDIATIONS = {
    CODE_EXECUTION: (
        "Do not load this model with a renderer that uses an unsandboxed Jinja2 Environment "
        "(llama-cpp-python < 0.2.72); remove or replace the chat template, and obtain the "
        "model from a trusted source."
    ),
    SUSPICIOUS: (
        "Review the chat template by hand; render templates only in "
        "jinja2.sandbox.ImmutableSandboxedEnvironment, and replace the template with the "
        "upstream one."
    ),
    LOADER: (
        "Chat templates should be self-contained; remove include/import/extends and "
        "private-attribute access, or replace the template with the upstream one."
    ),
    UNPARSEABLE: (
        "Fix or replace the template; other engines (llama.cpp's minja, custom renderers) "
        "may still render what Jinja2 rejects, so review it by hand."
    ),
}


def template_findings(
    issues: list[TemplateIssue],
    location: Location,
    *,
    rules: Mapping[str, str],
    scanner: str,
    source: str,
) -> Iterator[Finding]:
    """Turn the issues of one template into findings: one per issue kind.

    A template that reaches code execution gets that one finding (its other
    constructs counted in the details), not a HIGH and a MEDIUM besides.

    `rules` maps an issue kind to the caller's rule id; `location` is where the
    template lives (a GGUF key, a JSON field); `source` names it in the details.
    """
    by_kind: dict[str, list[TemplateIssue]] = {}
    for issue in issues:
        by_kind.setdefault(issue.kind, []).append(issue)
    kinds = [CODE_EXECUTION, SUSPICIOUS, LOADER, UNPARSEABLE]
    if CODE_EXECUTION in by_kind:
        # One verdict per template: the lesser constructs are part of the same payload.
        kinds = [CODE_EXECUTION, UNPARSEABLE]
    for kind in kinds:
        group = by_kind.get(kind)
        if not group or kind not in rules:
            continue
        severity = max(i.severity for i in group)
        top = [i for i in group if i.severity == severity]
        evidence: list[str] = []
        for issue in top:
            if issue.evidence not in evidence:
                evidence.append(issue.evidence)
        line = next((i.line for i in top if i.line is not None), None)
        yield finding(
            rules[kind],
            _TITLES[kind],
            severity,
            location.at(line=line) if line is not None else location,
            evidence="; ".join(evidence[:3])[:400],
            remediation=_REMEDIATIONS[kind],
            scanner=scanner,
            details={
                "template": source,
                "issue": top[0].message[:200],
                "issues": str(len(group) if kind != CODE_EXECUTION else len(issues)),
            },
        )
