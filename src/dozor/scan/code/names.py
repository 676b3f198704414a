"""Resolve what a name in Python source refers to, by reading its imports only.

Why: rules match calls by their fully-qualified name (``torch.load``), but code says
``t.load`` after ``import torch as t``, or ``jl(...)`` after ``from joblib import load
as jl``. One table per module maps each imported local name to what it imports, so a
rule is written once against the real name and survives any alias. Nothing is
imported: the table is built from the syntax tree.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Container, Mapping
from dataclasses import dataclass, field

# Conventional aliases, used only when the module never binds the name itself (a
# notebook whose import cell did not parse, a snippet without imports).
_CONVENTIONAL = {"np": "numpy", "pd": "pandas", "tf": "tensorflow", "gr": "gradio"}
_BUILTINS = frozenset(dir(builtins))
SHA_PIN = re.compile(r"[0-9a-fA-F]{40}")
LOCAL = "local:"
"""Prefix of a resolved name the module binds itself; no library rule matches it."""


@dataclass
class Imports:
    """Local names bound by imports in one module, and names it defines itself."""

    aliases: dict[str, str] = field(default_factory=dict)
    """Local name -> dotted name it stands for (``t`` -> ``torch``, ``jl`` -> ``joblib.load``)."""
    defined: set[str] = field(default_factory=set)
    """Names the module binds itself at top level: def, class, assignment (they shadow
    builtins and libraries of the same name)."""

    def add(self, node: ast.Import | ast.ImportFrom) -> None:
        """Record the names an import statement binds."""
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.aliases[alias.asname] = alias.name
                else:
                    top = alias.name.split(".", 1)[0]
                    self.aliases[top] = top
            return
        # a relative import names a module of this project: never a library rule
        base = "." * node.level + (node.module or "")
        for alias in node.names:
            if alias.name != "*":
                self.aliases[alias.asname or alias.name] = f"{base}.{alias.name}"

    def define_top_level(self, module: ast.Module) -> None:
        """Record names the module binds itself at top level (def, class, assignment)."""
        for stmt in module.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.defined.add(stmt.name)
            elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                self.defined.update(t.id for t in targets if isinstance(t, ast.Name))

    def resolve(
        self, node: ast.expr, local: Container[str] = (), modules: Mapping[str, str] | None = None
    ) -> str | None:
        """The dotted name an expression stands for, with import aliases expanded.

        ``t.hub.load`` -> ``torch.hub.load``; ``eval`` -> ``builtins.eval`` unless the
        module defines its own. A variable the code binds itself (`local` names of the
        enclosing function, or module-level names) is not a library:
        ``yaml = YAML(); yaml.load(f)`` gives ``local:yaml.load``. None for anything that
        is not a plain name or attribute chain. `modules` maps names bound by a dynamic
        import (``yaml = pytest.importorskip("yaml")``) to the module.
        """
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        name = node.id
        if modules and name in modules:
            head = modules[name]
        elif name in local:
            head = LOCAL + name
        elif name in self.aliases:
            head = self.aliases[name]
        elif name in self.defined:
            head = LOCAL + name
        elif name in _CONVENTIONAL:
            head = _CONVENTIONAL[name]
        elif name in _BUILTINS and not parts:
            head = f"builtins.{name}"
        else:
            head = name  # unbound here: a library used without import (a notebook cell)
        return ".".join([head, *reversed(parts)])


def dotted(node: ast.expr) -> str:
    """Source-like text of a name/attribute/call chain, for receivers and evidence
    (``self.client.chat.completions.create``; calls and subscripts shown as ``()``/``[]``)."""
    parts: list[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Call):
            parts.append("()")
            node = node.func
        elif isinstance(node, ast.Subscript):
            parts.append("[]")
            node = node.value
        elif isinstance(node, ast.Name):
            parts.append(node.id)
            break
        else:
            parts.append("?")
            break
    text = ""
    for part in reversed(parts):
        text += part if part in ("()", "[]") or not text else "." + part
    return text


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    """The value passed as keyword `name`, or None."""
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return None


def has_star_kwargs(call: ast.Call) -> bool:
    """True when ``**kwargs`` is passed: an absent keyword may still be given."""
    return any(kw.arg is None for kw in call.keywords)


def argument(call: ast.Call, position: int, name: str) -> ast.expr | None:
    """An argument given by position or by keyword."""
    value = keyword(call, name)
    if value is None and len(call.args) > position:
        arg = call.args[position]
        if not isinstance(arg, ast.Starred):
            value = arg
    return value


def is_true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def is_false(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def string(node: ast.expr | None) -> str | None:
    """The value of a string literal, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None
