"""Intraprocedural taint: does an LLM answer or request input reach eval, a shell or SQL?

Why: OWASP LLM05 (improper output handling) is a data-flow bug. The model's text is
harmless until a line later it is passed to ``exec`` or formatted into a query, so a
pattern on one call cannot see it. Each function (and the module's top level) is
walked statement by statement with a map from variable to the source that tainted
it; branches are followed separately and merged, loop bodies twice. Assignments,
unpacking, attribute and subscript access, f-strings, ``+``, ``%``, ``.format`` and
calls on tainted values carry taint; ``int()``, ``shlex.quote()`` and the like stop it.
Calls into other functions are not followed (results of unknown calls with a tainted
argument stay tainted, which errs towards reporting), and nothing is executed.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from dozor.scan.code.names import LOCAL, dotted, is_true, keyword
from dozor.scan.code.rules import RULES, Hit
from dozor.scan.code.survey import Survey


@dataclass(frozen=True)
class Source:
    """Where untrusted data entered a function."""

    kind: str
    """``llm`` (a model's answer) or ``input`` (web request, network, ``input()``)."""
    what: str
    """The expression that produced it, e.g. ``client.chat.completions.create()``."""
    line: int
    sequence: bool = False
    """The value is a list or tuple literal (an argument vector, not a command string)."""


Env = dict[str, Source]

_LLM_CALL_SUFFIXES = (
    ".chat.completions.create", ".chat.completions.parse", ".completions.create",
    ".responses.create", ".messages.create", ".messages.stream", ".generate_content",
    ".chat.complete", ".ChatCompletion.create", ".Completion.create",
)
_LLM_FUNCTIONS = frozenset({"openai.ChatCompletion.create", "openai.Completion.create",
                            "litellm.completion", "litellm.acompletion", "ollama.chat",
                            "ollama.generate"})
_LLM_METHODS = frozenset({"invoke", "ainvoke"})
_LLM_AGENT_METHODS = frozenset({"run", "arun", "predict", "apredict", "query", "aquery", "chat",
                                "achat", "complete", "acomplete", "generate_reply"})
_LLM_RECEIVER = re.compile(r"llm|chain|agent|gpt|claude|gemini|query_engine|chat_engine|"
                           r"assistant", re.IGNORECASE)
_NETWORK_METHODS = frozenset({"get", "post", "put", "patch", "delete", "request"})
_REQUEST_ATTRS = frozenset({"args", "form", "json", "values", "data", "files", "cookies",
                            "headers", "get_json", "get_data", "GET", "POST", "body", "COOKIES",
                            "query_params", "path_params", "query_string", "stream"})
_SANITIZERS = frozenset({
    "builtins.int", "builtins.float", "builtins.bool", "builtins.len", "builtins.abs",
    "builtins.round", "builtins.hash", "builtins.id", "builtins.type", "builtins.isinstance",
    "builtins.ord", "builtins.hex", "builtins.oct", "builtins.bin", "builtins.print",
    "shlex.quote", "pipes.quote", "ast.literal_eval", "re.escape", "html.escape",
    "markupsafe.escape", "bleach.clean", "uuid.UUID", "os.path.exists", "os.path.isfile",
    "os.path.isdir",
})
_SANITIZING_METHODS = frozenset({"isdigit", "isnumeric", "isalnum", "isalpha", "isdecimal",
                                 "startswith", "endswith", "count", "find", "index", "__len__"})
_CODE_SINKS = frozenset({"builtins.eval", "builtins.exec", "builtins.compile"})
_SHELL_ALWAYS = frozenset({"os.system", "os.popen", "subprocess.getoutput",
                           "subprocess.getstatusoutput", "asyncio.create_subprocess_shell",
                           "commands.getoutput", "pty.spawn"})
_SHELL_MAYBE = frozenset({"subprocess.run", "subprocess.call", "subprocess.check_call",
                          "subprocess.check_output", "subprocess.Popen"})
_SQL_METHODS = frozenset({"execute", "executemany", "executescript"})
_SQL_FUNCTIONS = frozenset({"pandas.read_sql", "pandas.read_sql_query", "sqlalchemy.text",
                            "sqlalchemy.sql.text"})
_SQL_RECEIVER = re.compile(r"cur|conn|con$|db|sql|session|engine|database|spark",
                           re.IGNORECASE)
_SQL_WORDS = re.compile(r"\b(select|insert|update|delete|where|from|into|values|drop|create)\b",
                        re.IGNORECASE)

_ROUTE_DECORATORS = frozenset({"get", "post", "put", "patch", "delete", "route", "api_route",
                               "websocket", "head", "options"})
_NOT_INPUT = frozenset({"int", "float", "bool", "UUID", "date", "datetime", "Request",
                        "WebSocket", "BackgroundTasks", "Response", "Session", "AsyncSession"})

_RULE_FOR = {
    ("llm", "code"): "DZ-CODE-020",
    ("llm", "sql"): "DZ-CODE-021",
    ("input", "code"): "DZ-CODE-022",
    ("input", "sql"): "DZ-CODE-023",
}
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


class TaintAnalysis:
    """Runs the taint walk over every function of one module."""

    def __init__(self, found: Survey) -> None:
        self.found = found
        self.imports = found.imports
        self.hits: list[Hit] = []
        self.returns: dict[str, Source] = {}
        """Functions of this module that return untrusted data (``def ask(): return
        client...create(...)``), by name: calling one is a source too."""
        self._returned: Source | None = None

    def run(self) -> list[Hit]:
        """Walk every function that calls a sink (most functions call none)."""
        self._summarise()
        self.hits = []  # hits seen while summarising are found again below
        scopes: dict[int, ast.AST] = {}
        for call, scope in self.found.calls:
            if id(scope.node) not in scopes and self._sink_kind(call):
                scopes[id(scope.node)] = scope.node
        for node in scopes.values():
            if isinstance(node, ast.Module):
                self._block(node.body, {})
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._block(node.body, self._parameters(node))
        return self.hits

    def _summarise(self) -> None:
        """Find helpers that return a source's data, and helpers of helpers (two rounds)."""
        for _ in range(2):
            functions: dict[int, ast.FunctionDef | ast.AsyncFunctionDef] = {}
            for call, scope in self.found.calls:
                node = scope.node
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (
                    node.name not in self.returns and self._source_of(call) is not None
                ):
                    functions[id(node)] = node
            if not functions:
                return
            for function in functions.values():
                self._returned = None
                self._block(function.body, self._parameters(function))
                if self._returned is not None:
                    self.returns[function.name] = replace(
                        self._returned, what=f"{function.name}() -> {self._returned.what}"
                    )
            self._returned = None

    def _parameters(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> Env:
        """Parameters of a web route handler carry request data; others start clean."""
        if not any(_is_route(d) for d in function.decorator_list):
            return {}
        args = function.args
        params = [*args.posonlyargs, *args.args, *args.kwonlyargs]
        defaults: list[ast.expr | None] = [None] * (len(args.posonlyargs) + len(args.args)
                                                    - len(args.defaults))
        defaults += [*args.defaults, *args.kw_defaults]
        env: Env = {}
        for param, default in zip(params, defaults, strict=True):
            if param.arg in ("self", "cls") or _annotation(param) in _NOT_INPUT:
                continue
            if isinstance(default, ast.Call) and dotted(default.func).rsplit(".", 1)[-1] in (
                "Depends", "Security"
            ):
                continue
            env[param.arg] = Source("input", f"route parameter {param.arg}", param.lineno)
        return env

    # -- statements ----------------------------------------------------------------------
    def _block(self, body: Iterable[ast.stmt], env: Env) -> Env:
        for stmt in body:
            env = self._stmt(stmt, env)
        return env

    def _stmt(self, stmt: ast.stmt, env: Env) -> Env:
        if isinstance(stmt, _SCOPES):
            return env  # analysed on its own
        if isinstance(stmt, ast.If):
            self._sinks(stmt.test, env)
            return _merge(self._block(stmt.body, dict(env)), self._block(stmt.orelse, dict(env)))
        if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
            head = stmt.test if isinstance(stmt, ast.While) else stmt.iter
            self._sinks(head, env)
            inner = dict(env)
            if not isinstance(stmt, ast.While):
                self._bind(stmt.target, self._taint(stmt.iter, inner), inner)
            for _ in range(2):  # a value tainted late in the body reaches its start
                inner = _merge(inner, self._block(stmt.body, dict(inner)))
            return self._block(stmt.orelse, _merge(env, inner))
        if isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                self._sinks(item.context_expr, env)
                if item.optional_vars is not None:
                    self._bind(item.optional_vars, self._taint(item.context_expr, env), env)
            return self._block(stmt.body, env)
        if isinstance(stmt, (ast.Try, ast.TryStar)):
            after = self._block(stmt.body, dict(env))
            merged = _merge(env, after)
            for handler in stmt.handlers:
                merged = _merge(merged, self._block(handler.body, dict(merged)))
            merged = _merge(merged, self._block(stmt.orelse, dict(after)))
            return self._block(stmt.finalbody, merged)
        if isinstance(stmt, ast.Match):
            self._sinks(stmt.subject, env)
            out = dict(env)
            for case in stmt.cases:
                out = _merge(out, self._block(case.body, dict(env)))
            return out
        self._sinks(stmt, env)
        if isinstance(stmt, ast.Return) and stmt.value is not None:
            self._returned = self._returned or self._taint(stmt.value, env)
        elif isinstance(stmt, ast.Assign):
            source = self._taint(stmt.value, env)
            for target in stmt.targets:
                self._bind(target, source, env, stmt.value)
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            self._bind(stmt.target, self._taint(stmt.value, env), env, stmt.value)
        elif isinstance(stmt, ast.AugAssign):
            source = self._taint(stmt.value, env) or self._taint(stmt.target, env)
            self._bind(stmt.target, source, env)
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            self._mutation(stmt.value, env)
        return env

    def _mutation(self, call: ast.Call, env: Env) -> None:
        """``parts.append(tainted)`` taints ``parts``."""
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr in ("append", "extend", "insert", "add",
                                                             "update", "write"):
            source = next((s for a in call.args if (s := self._taint(a, env))), None)
            if source is not None:
                env[dotted(func.value)] = replace(source, sequence=False)

    def _bind(self, target: ast.expr, source: Source | None, env: Env,
              value: ast.expr | None = None) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._bind(element, source, env)
            return
        if isinstance(target, ast.Starred):
            self._bind(target.value, source, env)
            return
        if isinstance(target, ast.Subscript):  # d[k] = tainted taints d; never clears it
            if source is not None:
                env[dotted(target.value)] = source
            return
        key = dotted(target)
        if source is None:
            env.pop(key, None)
        else:
            sequence = isinstance(value, (ast.List, ast.Tuple, ast.ListComp))
            env[key] = replace(source, sequence=sequence)

    # -- expressions ---------------------------------------------------------------------
    def _taint(self, node: ast.expr | None, env: Env) -> Source | None:
        """The source whose data `node` may carry, or None."""
        if node is None:
            return None
        if isinstance(node, ast.Name):
            return env.get(node.id)
        if isinstance(node, ast.Attribute):
            if (found := env.get(dotted(node))) is not None:
                return found
            if node.attr in _REQUEST_ATTRS and self._is_request(node.value):
                return Source("input", f"{dotted(node)}", node.lineno)
            return self._taint(node.value, env)
        if isinstance(node, ast.Call):
            return self._call_taint(node, env)
        if isinstance(node, (ast.Subscript, ast.Starred, ast.Await, ast.FormattedValue)):
            return self._taint(node.value, env)
        if isinstance(node, ast.NamedExpr):
            source = self._taint(node.value, env)
            self._bind(node.target, source, env)
            return source
        if isinstance(node, ast.BinOp):
            return self._taint(node.left, env) or self._taint(node.right, env)
        if isinstance(node, ast.IfExp):
            return self._taint(node.body, env) or self._taint(node.orelse, env)
        if isinstance(node, (ast.BoolOp, ast.JoinedStr, ast.List, ast.Tuple, ast.Set)):
            parts = node.values if isinstance(node, (ast.BoolOp, ast.JoinedStr)) else node.elts
            return next((s for p in parts if (s := self._taint(p, env))), None)
        if isinstance(node, ast.Dict):
            return next((s for v in node.values if (s := self._taint(v, env))), None)
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            inner = dict(env)
            for gen in node.generators:
                self._bind(gen.target, self._taint(gen.iter, inner), inner)
            elements = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
            return next((s for e in elements if (s := self._taint(e, inner))), None)
        return None

    def _call_taint(self, call: ast.Call, env: Env) -> Source | None:
        func = call.func
        name = self.imports.resolve(func) or ""
        text = dotted(func)
        source = self._source(call, name, text)
        if source is not None:
            return source
        if name in _SANITIZERS:
            return None
        if isinstance(func, ast.Attribute):
            if func.attr in _SANITIZING_METHODS:
                return None
            if (found := self._taint(func, env)) is not None:
                return found  # a method of tainted data: .strip(), .json(), .get(...)
        values = [*call.args, *(kw.value for kw in call.keywords)]
        return next((s for v in values if (s := self._taint(v, env))), None)

    def _source_of(self, call: ast.Call) -> Source | None:
        return self._source(call, self.imports.resolve(call.func) or "", dotted(call.func))

    def _source(self, call: ast.Call, name: str, text: str) -> Source | None:
        func = call.func
        helper = ""
        if isinstance(func, ast.Name) and func.id not in self.imports.aliases:
            helper = func.id
        elif isinstance(func, ast.Attribute) and dotted(func.value) in ("self", "cls"):
            helper = func.attr
        if helper in self.returns:
            return replace(self.returns[helper], line=call.lineno)
        if name in _LLM_FUNCTIONS or text.endswith(_LLM_CALL_SUFFIXES):
            return Source("llm", f"{text}()", call.lineno)
        if isinstance(func, ast.Attribute):
            receiver = dotted(func.value).rsplit(".", 1)[-1]
            if func.attr in _LLM_METHODS or (
                func.attr in _LLM_AGENT_METHODS and _LLM_RECEIVER.search(receiver)
            ):
                return Source("llm", f"{text}()", call.lineno)
            root = name.split(".", 1)[0]
            if func.attr in _NETWORK_METHODS and root in ("requests", "httpx"):
                return Source("input", f"{name}() response", call.lineno)
        if name in ("urllib.request.urlopen", "urllib2.urlopen"):
            return Source("input", f"{name}() response", call.lineno)
        if name == "builtins.input":
            return Source("input", "input()", call.lineno)
        if isinstance(func, ast.Name) and func.id == "llm":
            return Source("llm", "llm()", call.lineno)
        return None

    def _is_request(self, node: ast.expr) -> bool:
        """flask's ``request`` proxy, or a view's ``request`` parameter (Django, Starlette)."""
        if isinstance(node, ast.Attribute):  # class-based views: self.request.GET
            return node.attr == "request" and dotted(node.value) == "self"
        if not isinstance(node, ast.Name):
            return False
        resolved = self.imports.resolve(node)
        return resolved in ("flask.request", "quart.request", "sanic.request") or (
            node.id == "request" and resolved in ("request", LOCAL + "request")
        )

    # -- sinks ---------------------------------------------------------------------------
    def _sinks(self, node: ast.AST, env: Env) -> None:
        stack: list[ast.AST] = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, _SCOPES):
                continue
            if isinstance(current, ast.Call):
                self._sink_call(current, env)
            stack.extend(ast.iter_child_nodes(current))

    def _sink_kind(self, call: ast.Call) -> str:
        """``code`` or ``sql`` if the call runs its first argument, else ``""``."""
        if not call.args:
            return ""
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr in _SQL_METHODS | {"sql", "raw"}:
            return "sql" if self._is_sql_call(func, call.args[0]) else ""
        name = self.imports.resolve(func) or ""
        if name in _CODE_SINKS or name in _SHELL_ALWAYS:
            return "code"
        if name in _SHELL_MAYBE:
            shell = is_true(keyword(call, "shell"))
            return "code" if shell or not isinstance(call.args[0], (ast.List, ast.Tuple)) else ""
        return "sql" if name in _SQL_FUNCTIONS else ""

    def _sink_call(self, call: ast.Call, env: Env) -> None:
        kind = self._sink_kind(call)
        if not kind:
            return
        name = self.imports.resolve(call.func) or ""
        first = call.args[0]
        source = self._taint(first, env)
        if source is None:
            return
        if kind == "code" and name in _SHELL_MAYBE and source.sequence and not is_true(
            keyword(call, "shell")
        ):
            return  # an argument vector: the program is fixed, no shell parses the data
        sink = name.removeprefix("builtins.") if name else dotted(call.func)
        origin = "LLM output" if source.kind == "llm" else "input"
        evidence = f"{origin} from {source.what} reaches {sink}()"
        details = (("sink", sink), ("source", source.what))
        rule = RULES[_RULE_FOR[(source.kind, kind)]]
        self.hits.append(Hit(rule, call.lineno, evidence, details, source.line))

    @staticmethod
    def _is_sql_call(func: ast.Attribute, query: ast.expr) -> bool:
        if func.attr == "sql":
            return "spark" in dotted(func.value).lower()
        if func.attr == "raw":
            return dotted(func.value).endswith("objects")
        if func.attr not in _SQL_METHODS:
            return False
        receiver = dotted(func.value).rsplit(".", 1)[-1]
        if _SQL_RECEIVER.search(receiver):
            return True
        return any(
            isinstance(n, ast.Constant) and isinstance(n.value, str) and _SQL_WORDS.search(n.value)
            for n in ast.walk(query)
        )


def _merge(a: Env, b: Env) -> Env:
    """Variables tainted on either path stay tainted."""
    return {**b, **a}


def _is_route(decorator: ast.expr) -> bool:
    """``@app.get("/x")``, ``@router.post(...)``, ``@app.route(...)``, ``@bp.route(...)``."""
    return (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)
            and decorator.func.attr in _ROUTE_DECORATORS)


def _annotation(param: ast.arg) -> str:
    note = param.annotation
    return dotted(note).rsplit(".", 1)[-1] if note is not None else ""
