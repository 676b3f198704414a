"""One pass over a syntax tree that gathers everything the code rules look at.

Why: a repository has thousands of Python files and parsing them is already the
largest cost, so the tree is walked once, iteratively (no recursion limit, no
generator per node), collecting imports, calls, string literals and assignments with
the function they belong to. The rules then read these lists instead of walking the
tree again, and the taint analysis runs only in functions that call a sink.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from dozor.scan.code.names import Imports, string

_SKIP_FIELDS = frozenset({"ctx", "type_comment", "type_ignores"})
_INTERESTING = frozenset({
    ast.Call, ast.Expr, ast.JoinedStr, ast.List, ast.Tuple, ast.Dict, ast.Import, ast.ImportFrom,
    ast.Assign, ast.AnnAssign, ast.With, ast.AsyncWith, ast.FunctionDef, ast.AsyncFunctionDef,
    ast.AugAssign, ast.NamedExpr, ast.For, ast.AsyncFor, ast.comprehension,
})
_FIELDS: dict[type, tuple[str, ...]] = {}


@dataclass(eq=False)
class Scope:
    """A function body (or the module's top level) and the names bound in it."""

    node: ast.AST
    parent: Scope | None = None
    assigned: dict[str, set[str | None]] = field(default_factory=dict)
    """Name -> the string literals assigned to it (None for anything else)."""
    tars: set[str] = field(default_factory=set)
    """Names bound to an opened tar archive."""
    modules: dict[str, str] = field(default_factory=dict)
    """Names bound by a dynamic import: ``yaml = pytest.importorskip("yaml")``."""

    def bind(self, target: ast.AST, value: ast.AST | None) -> None:
        if isinstance(target, ast.Name):
            module = _imported(value)
            if module:
                self.modules[target.id] = module
            if _is_dumps(value):
                what: str | None = DUMPED
            else:
                what = string(value) if isinstance(value, ast.expr) else None
            self.assigned.setdefault(target.id, set()).add(what)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.bind(element, None)
        elif isinstance(target, ast.Starred):
            self.bind(target.value, None)

    def literal(self, name: str) -> str | None:
        """The one string literal `name` is bound to in this or an enclosing scope."""
        scope: Scope | None = self
        while scope is not None:
            values = scope.assigned.get(name)
            if values is not None:
                return next(iter(values)) if len(values) == 1 else None
            scope = scope.parent
        return None

    def serialised_here(self, node: ast.expr) -> bool:
        """`node` is a ``dumps(...)`` call or a name bound only to such calls: loading it
        again is a round trip of in-process data, not untrusted input."""
        if isinstance(node, ast.Name):
            return node.id in self.assigned and self.literal(node.id) is DUMPED
        return _is_dumps(node)


DUMPED = "\x00dumps()"
"""Marks a name bound to the result of a ``dumps`` call (not a string a file contains)."""


def _imported(node: ast.AST | None) -> str:
    """The module a call like ``importlib.import_module("yaml")`` imports, or ``""``."""
    if not isinstance(node, ast.Call) or not node.args:
        return ""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if name in ("import_module", "importorskip", "__import__"):
        return string(node.args[0]) or ""
    return ""


def _is_dumps(node: ast.AST | None) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")) == "dumps"


@dataclass
class Survey:
    """What one module contains, as the rules need it."""

    imports: Imports
    module: Scope
    functions: list[Scope] = field(default_factory=list)
    calls: list[tuple[ast.Call, Scope]] = field(default_factory=list)
    assigns: list[tuple[ast.Assign, Scope]] = field(default_factory=list)
    withs: list[tuple[ast.With | ast.AsyncWith, Scope]] = field(default_factory=list)
    strings: list[tuple[str, int]] = field(default_factory=list)
    """String literals and f-string texts (``{}`` for values), with their line; docstrings
    and other bare string statements are left out."""
    sequences: list[ast.List | ast.Tuple] = field(default_factory=list)
    dicts: list[ast.Dict] = field(default_factory=list)


def survey(tree: ast.Module) -> Survey:
    """Walk `tree` once and sort what the rules look at into lists."""
    module = Scope(tree)
    found = Survey(Imports(), module)
    found.imports.define_top_level(tree)
    scope = module
    # Nodes to visit; a Scope on the stack marks where a function body ends and its
    # enclosing scope applies again.
    stack: list[Any] = list(reversed(tree.body))
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is ast.Name:
            continue
        if kind is Scope:
            scope = node
            continue
        if kind is ast.Constant:
            if isinstance(node.value, str) and len(node.value) < 20_000:
                found.strings.append((node.value, node.lineno))
            continue
        if kind in _INTERESTING:
            if kind is ast.Call:
                found.calls.append((node, scope))
            elif kind is ast.Expr:
                if isinstance(node.value, (ast.Constant, ast.JoinedStr)):
                    continue  # docstrings and bare strings describe commands, not run them
            elif kind is ast.JoinedStr:
                found.strings.append((fstring_text(node), node.lineno))
                stack.extend(p.value for p in node.values if isinstance(p, ast.FormattedValue))
                continue
            elif kind is ast.List or kind is ast.Tuple:
                found.sequences.append(node)
            elif kind is ast.Dict:
                found.dicts.append(node)
            elif kind is ast.Import or kind is ast.ImportFrom:
                found.imports.add(node)
                continue
            elif kind is ast.Assign:
                found.assigns.append((node, scope))
                for target in node.targets:
                    scope.bind(target, node.value)
            elif kind is ast.AnnAssign:
                scope.bind(node.target, node.value)
            elif kind is ast.With or kind is ast.AsyncWith:
                found.withs.append((node, scope))
                for item in node.items:
                    if item.optional_vars is not None:
                        scope.bind(item.optional_vars, None)
            elif kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
                stack.append(scope)
                scope = Scope(node, scope)
                found.functions.append(scope)
                args = node.args
                for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg,
                            args.kwarg):
                    if arg is not None:
                        scope.assigned.setdefault(arg.arg, set()).add(None)
            else:  # AugAssign, NamedExpr, For, AsyncFor, comprehension
                scope.bind(node.target, None)
        names = _FIELDS.get(kind)
        if names is None:
            names = _FIELDS[kind] = (
                tuple(f for f in node._fields if f not in _SKIP_FIELDS)
                if isinstance(node, ast.AST) else ()  # None and str items of lists
            )
        for name in names:
            value = getattr(node, name, None)
            if value.__class__ is list:
                stack.extend(value)
            elif isinstance(value, ast.AST):
                stack.append(value)
    found.imports.defined.update(module.assigned)
    return found


def fstring_text(node: ast.JoinedStr) -> str:
    """An f-string's literal text with ``{}`` where values go."""
    return "".join(
        v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "{}"
        for v in node.values
    )
