"""Pattern rules on calls, assignments and command strings of one parsed module.

Why patterns here and taint elsewhere: most ML code risks are visible in a single
call (``torch.load`` without ``weights_only=True``, ``trust_remote_code=True``,
``launch(share=True)``) once the callee's real name is known, so each check reads one
node and its arguments. Flows from an LLM response to ``eval`` need data flow and
live in `taint`. Checks only name a rule and the evidence; metadata is in `rules`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from dozor.scan.code.names import (
    SHA_PIN,
    argument,
    dotted,
    has_star_kwargs,
    is_false,
    is_true,
    keyword,
    string,
)
from dozor.scan.code.rules import RULES, Hit
from dozor.scan.code.survey import Scope, Survey, fstring_text

_PICKLE_LOADERS = frozenset(
    f"{mod}.{fn}"
    for mod in ("pickle", "_pickle", "cPickle", "six.moves.cPickle", "dill", "cloudpickle",
                "pickle5")
    for fn in ("load", "loads", "Unpickler")
) | {
    "dill.load_session", "dill.load_module", "joblib.load", "sklearn.externals.joblib.load",
    "pandas.read_pickle", "shelve.open", "marshal.load", "marshal.loads", "jsonpickle.decode",
    "yaml.unsafe_load", "yaml.unsafe_load_all",
}
_TORCH_LOADERS = frozenset({"torch.load", "torch.serialization.load",
                            "torch.hub.load_state_dict_from_url"})
_SAFE_YAML = ("SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader")
_UNSAFE_YAML = frozenset({"yaml.Loader", "yaml.UnsafeLoader", "yaml.CLoader", "yaml.CUnsafeLoader"})
_FULL_YAML = frozenset({"yaml.FullLoader", "yaml.CFullLoader"})
_KERAS_ROOTS = frozenset({"keras", "tensorflow", "tf_keras"})

_AGENT_ROOTS = frozenset({
    "langchain", "langchain_experimental", "langchain_community", "langchain_core", "crewai",
    "crewai_tools", "autogen", "autogen_ext", "autogen_agentchat", "smolagents", "llama_index",
})
_AGENT_TOOLS = frozenset({"PythonREPLTool", "PythonAstREPLTool", "PythonREPL", "ShellTool",
                          "BashProcess", "LocalCommandLineCodeExecutor", "LocalPythonExecutor"})
_DANGEROUS_TOOL_NAMES = frozenset({"terminal", "python_repl", "shell", "bash"})
_DANGEROUS_FLAGS = ("allow_dangerous_code", "allow_dangerous_requests")

_ALL_INTERFACES = frozenset({"0.0.0.0", "::", "[::]"})
_HTTP_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request",
                           "stream", "send", "urlopen"})
_SHELL_CALLS = frozenset({"os.system", "os.popen", "subprocess.run", "subprocess.call",
                          "subprocess.check_call", "subprocess.check_output", "subprocess.Popen",
                          "subprocess.getoutput", "subprocess.getstatusoutput",
                          "asyncio.create_subprocess_shell", "asyncio.create_subprocess_exec"})
_HUB_DOWNLOADS = {  # callee -> (position, keyword) of the repository id
    "huggingface_hub.hf_hub_download": (0, "repo_id"),
    "huggingface_hub.snapshot_download": (0, "repo_id"),
    "huggingface_hub.file_download.hf_hub_download": (0, "repo_id"),
    "huggingface_hub._snapshot_download.snapshot_download": (0, "repo_id"),
    "transformers.pipeline": (1, "model"),
    "datasets.load_dataset": (0, "path"),
    "sentence_transformers.SentenceTransformer": (0, "model_name_or_path"),
}
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}")
# First path parts that name a local folder rather than a hub organisation.
_LOCAL_DIRS = re.compile(
    r"(outputs?|results?|checkpoints?|ckpts?|models?|saved\w*|runs?|tmp|temp|data|weights|"
    r"exp\w*|logs?|artifacts?|local\w*|cache|pretrained|finetuned\w*|out|build|dist)$",
    re.IGNORECASE,
)
_TAR_NAME = re.compile(r"(?:^|_)tar(?:_|ball|file|f$|$)", re.IGNORECASE)
_TAR_SUFFIX = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")

# Command lines in strings and notebook shell lines.
_LAUNCHER = re.compile(
    r"^\s*(?:!|\$\s*)?(?:sudo\s+)?(?:\w+=\S*\s+)*(?:python3?(?:\.\d+)?|vllm|sglang|lm_eval|"
    r"lm-eval|text-generation-launcher|accelerate|torchrun|deepspeed|optimum-cli|"
    r"huggingface-cli|hf|mlflow|ray|jupyter|jupyter-lab|jupyter-notebook|docker|uv|"
    r"swift|llamafactory-cli|axolotl|tune|litgpt|mlc_llm|trl|\.?/?\S*\.sh)\b"
)
_TRUST_FLAG = re.compile(r"--trust[-_]remote[-_]code\b(?!\s*[= ]\s*(?:false|0|no)\b)", re.I)
_REVISION_PIN = re.compile(r"--(?:code[-_])?revision[= ]\s*['\"]?[0-9a-fA-F]{40}\b")
_JUPYTER_NO_TOKEN = re.compile(
    r"--(?:NotebookApp|ServerApp|IdentityProvider)\.token\s*=\s*(?:''|\"\"|\\?['\"]{2}|(?=\s|$))"
)
_MLFLOW_OPEN = re.compile(
    r"\bmlflow\s+(?:server|ui)\b[^\n;&|]*?(?:--host|-h)[= ]\s*['\"]?0\.0\.0\.0"
)
_RAY_OPEN = re.compile(r"\bray\s+start\b[^\n;&|]*?--dashboard[-_]host[= ]\s*['\"]?0\.0\.0\.0")
_JUPYTER_TOKENS = ("NotebookApp.token", "ServerApp.token", "IdentityProvider.token")

# A call is looked at only if one of these appears; most calls in a repository match none.
_KEYWORDS = frozenset({
    "allow_pickle", "weights_only", "safe_mode", "Loader", "allow_dangerous_deserialization",
    "trust_remote_code", "revision", "allow_dangerous_code", "allow_dangerous_requests",
    "code_execution_config", "additional_authorized_imports", "unsafe_mode", "debug",
    "use_debugger", "share", "server_name", "dashboard_host", "host", "verify", "filter",
})
_METHODS = frozenset({"from_pretrained", "launch", "extractall", "extract", "run", "run_server"})
_ROOTS = frozenset({
    "pickle", "_pickle", "cPickle", "six", "dill", "cloudpickle", "pickle5", "joblib", "sklearn",
    "pandas", "pd", "shelve", "marshal", "jsonpickle", "yaml", "numpy", "np", "torch", "keras",
    "tensorflow", "tf", "tf_keras", "langchain", "langchain_experimental", "langchain_community",
    "crewai", "crewai_tools", "autogen", "smolagents", "llama_index", "werkzeug", "ray", "uvicorn",
    "requests", "httpx", "urllib3", "tempfile", "shutil", "os", "subprocess", "asyncio",
    "huggingface_hub", "transformers", "datasets", "sentence_transformers",
})


def _root_name(node: ast.expr) -> str:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else ""



def command_text_hits(text: str, line: int, *, is_command: bool) -> Iterator[Hit]:
    """Rules on a command line: a notebook ``!`` line, a subprocess argument, or a
    string literal that starts like one (``vllm serve ... --trust-remote-code``).
    Other strings (help texts, messages) are not commands and are left alone."""
    if not is_command and not _LAUNCHER.match(text):
        if not _JUPYTER_NO_TOKEN.search(text):
            return
    short = _short(text)
    if _TRUST_FLAG.search(text):
        rule = "DZ-CODE-011" if _REVISION_PIN.search(text) else "DZ-CODE-010"
        yield Hit(RULES[rule], line, f"command line enables remote code: {short}")
    if _JUPYTER_NO_TOKEN.search(text):
        yield Hit(RULES["DZ-CODE-043"], line, f"Jupyter started without a token: {short}")
    if _MLFLOW_OPEN.search(text):
        yield Hit(RULES["DZ-CODE-044"], line, f"MLflow served on all interfaces: {short}")
    if _RAY_OPEN.search(text):
        yield Hit(RULES["DZ-CODE-042"], line, f"Ray dashboard on all interfaces: {short}")


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class PatternChecker:
    """Judges the calls, assignments and strings one `Survey` collected."""

    def __init__(self, found: Survey) -> None:
        self.found = found
        self.imports = found.imports
        self.hits: list[Hit] = []
        self.scope: Scope = found.module

    def run(self) -> list[Hit]:
        found = self.found
        for text, line in found.strings:
            self.hits.extend(command_text_hits(text, line, is_command=False))
        for sequence in found.sequences:
            self._argv(sequence)
        for mapping in found.dicts:
            self._dict(mapping)
        for node, scope in found.assigns:
            self.scope = scope
            self._assign(node, scope)
        for with_node, scope in found.withs:
            self.scope = scope
            for item in with_node.items:
                var = item.optional_vars
                if isinstance(var, ast.Name) and self._is_tar_open(item.context_expr):
                    scope.tars.add(var.id)
        for call, scope in found.calls:
            self.scope = scope
            self._call(call)
        return self.hits

    def _resolve(self, node: ast.expr) -> str:
        """What `node` names, seen from the function being checked."""
        local = self.scope.assigned if self.scope is not self.found.module else ()
        modules = {**self.found.module.modules, **self.scope.modules}
        return self.imports.resolve(node, local, modules) or ""

    def _literal(self, node: ast.expr | None) -> str | None:
        """A string literal, or a name bound only to one literal in an enclosing scope."""
        if isinstance(node, ast.Name):
            return self.scope.literal(node.id)
        return string(node)

    def _hit(self, rule: str, node: ast.AST, evidence: str, **details: str) -> None:
        line = getattr(node, "lineno", 1)
        self.hits.append(Hit(RULES[rule], line, evidence, tuple(sorted(details.items()))))

    # -- assignments, strings, literals --------------------------------------------------
    def _assign(self, node: ast.Assign, scope: Scope) -> None:
        for target in node.targets:
            if isinstance(target, ast.Attribute) and target.attr == "token":
                text = dotted(target)
                if text.endswith(_JUPYTER_TOKENS) and string(node.value) == "":
                    self._hit("DZ-CODE-043", node, f"{text} = ''")
            elif isinstance(target, ast.Name) and self._is_tar_open(node.value):
                scope.tars.add(target.id)

    def _is_tar_open(self, node: ast.expr) -> bool:
        return isinstance(node, ast.Call) and self._resolve(node.func) in (
            "tarfile.open", "tarfile.TarFile", "tarfile.TarFile.open", "tarfile.TarFile.gzopen")

    def _argv(self, node: ast.List | ast.Tuple) -> None:
        """An argument vector literal ``["vllm", "serve", m, "--trust-remote-code"]``."""
        if len(node.elts) < 2:
            return
        words = [string(e) for e in node.elts]
        if any(w is not None and _TRUST_FLAG.fullmatch(w.strip()) for w in words):
            text = " ".join(w if w is not None else "{}" for w in words)
            self.hits.extend(command_text_hits(text, node.lineno, is_command=True))

    def _dict(self, node: ast.Dict) -> None:
        pairs = {string(k): v for k, v in zip(node.keys, node.values, strict=True) if k}
        if is_true(pairs.get("trust_remote_code")):
            pinned = SHA_PIN.fullmatch(string(pairs.get("revision")) or "")
            rule = "DZ-CODE-011" if pinned else "DZ-CODE-010"
            self._hit(rule, node, "{'trust_remote_code': True} in keyword arguments")

    # -- calls ---------------------------------------------------------------------------
    def _call(self, node: ast.Call) -> None:
        func = node.func
        method = func.attr if isinstance(func, ast.Attribute) else ""
        root = _root_name(func)
        if not (root in _ROOTS or root in self.imports.aliases or method in _METHODS
                or any(kw.arg in _KEYWORDS for kw in node.keywords)):
            return  # cheap exit: nothing any rule looks at
        name = self._resolve(func)
        self._deserialisation(node, name)
        self._remote_code(node, name, method)
        self._agents(node, name)
        self._exposure(node, name, method)
        self._hygiene(node, name, method)
        if name in _SHELL_CALLS:
            for arg in node.args[:1]:
                text = fstring_text(arg) if isinstance(arg, ast.JoinedStr) else self._literal(arg)
                if text is not None:
                    self.hits.extend(command_text_hits(text, node.lineno, is_command=True))

    def _deserialisation(self, node: ast.Call, name: str) -> None:
        if name in _PICKLE_LOADERS:
            if node.args and self.scope.serialised_here(node.args[0]):
                return  # pickle.loads(pickle.dumps(x)): a copy, as tests make
            self._hit("DZ-CODE-001", node, f"{name}(...)", call=name)
        elif name in ("numpy.load", "numpy.lib.format.read_array"):
            if is_true(keyword(node, "allow_pickle")):
                self._hit("DZ-CODE-001", node, f"{name}(..., allow_pickle=True)", call=name)
        elif name in ("yaml.load", "yaml.load_all"):
            self._yaml(node, name)
        elif name in ("yaml.full_load", "yaml.full_load_all"):
            self._hit("DZ-CODE-004", node, f"{name}(...)", call=name)
        elif name in _TORCH_LOADERS:
            flag = keyword(node, "weights_only")
            if is_false(flag):
                self._hit("DZ-CODE-002", node, f"{name}(..., weights_only=False)", call=name)
            elif flag is None and not has_star_kwargs(node):
                self._hit(
                    "DZ-CODE-003", node,
                    f"{name}(...) without weights_only: full unpickling on torch < 2.6, "
                    "where even weights_only=True is bypassable (CVE-2025-32434)",
                    call=name,
                )
        elif name == "torch.jit.load":
            self._hit("DZ-CODE-005", node, "torch.jit.load(...)", call=name)
        elif name.endswith(".load_model") and name.split(".", 1)[0] in _KERAS_ROOTS:
            if is_false(keyword(node, "safe_mode")):
                self._hit("DZ-CODE-001", node, f"{name}(..., safe_mode=False)", call=name)
        if is_true(keyword(node, "allow_dangerous_deserialization")):
            self._hit("DZ-CODE-001", node, f"{dotted(node.func)}(..., "
                      "allow_dangerous_deserialization=True) unpickles the stored index")

    def _yaml(self, node: ast.Call, name: str) -> None:
        loader = argument(node, 1, "Loader")
        if loader is None:
            if not has_star_kwargs(node):
                self._hit("DZ-CODE-001", node, f"{name}(...) without Loader: arbitrary objects "
                          "on PyYAML < 5.1", call=name)
            return
        which = self._resolve(loader)
        if which.endswith(_SAFE_YAML):
            return
        if which in _UNSAFE_YAML:
            self._hit("DZ-CODE-001", node, f"{name}(..., Loader={which})", call=name)
        elif which in _FULL_YAML:
            self._hit("DZ-CODE-004", node, f"{name}(..., Loader={which})", call=name)

    def _remote_code(self, node: ast.Call, name: str, method: str) -> None:
        if is_true(keyword(node, "trust_remote_code")):
            pins = [self._literal(keyword(node, k)) for k in ("revision", "code_revision")]
            pinned = any(p and SHA_PIN.fullmatch(p) for p in pins)
            rule = "DZ-CODE-011" if pinned else "DZ-CODE-010"
            what = "pinned to a commit" if pinned else "not pinned to a commit"
            self._hit(rule, node, f"{dotted(node.func)}(..., trust_remote_code=True), {what}")
            return
        if name == "torch.hub.load":
            if self._literal(keyword(node, "source")) == "local":
                return
            repo = self._literal(argument(node, 0, "repo_or_dir")) or "?"
            ref = repo.partition(":")[2]
            rule = "DZ-CODE-011" if SHA_PIN.fullmatch(ref) else "DZ-CODE-010"
            self._hit(rule, node, f"torch.hub.load({repo!r}) runs the repository's hubconf.py")
            return
        where = _HUB_DOWNLOADS.get(name)
        if method == "from_pretrained":
            where = (0, "pretrained_model_name_or_path")
        if where is None:
            return
        repo_id = self._literal(argument(node, *where))
        if repo_id is None or not _looks_like_hub_id(repo_id):
            return
        revision = keyword(node, "revision")
        if revision is None:
            if has_star_kwargs(node):
                return
            self._hit("DZ-CODE-012", node, f"{dotted(node.func)}({repo_id!r}) without revision=")
            return
        pin = self._literal(revision)
        if pin is not None and not SHA_PIN.fullmatch(pin):
            self._hit("DZ-CODE-012", node, f"{dotted(node.func)}({repo_id!r}, revision={pin!r}): "
                      "a branch or tag can move")

    def _agents(self, node: ast.Call, name: str) -> None:
        for flag in _DANGEROUS_FLAGS:
            if is_true(keyword(node, flag)):
                self._hit("DZ-CODE-030", node, f"{dotted(node.func)}(..., {flag}=True)")
        parts = name.split(".")
        if parts[0] not in _AGENT_ROOTS:
            return
        if parts[-1] in _AGENT_TOOLS:
            self._hit("DZ-CODE-030", node, f"{parts[-1]} gives the agent a code or shell "
                      "interpreter on the host")
        elif parts[-1] == "load_tools":
            tools = argument(node, 0, "tool_names")
            if isinstance(tools, (ast.List, ast.Tuple)):
                bad = sorted({s for e in tools.elts if (s := string(e)) in _DANGEROUS_TOOL_NAMES})
                if bad:
                    self._hit("DZ-CODE-030", node, f"load_tools({bad}) on the host")
        elif parts[-1] == "CodeInterpreterTool" or "LLMMathChain" in parts:
            if is_true(keyword(node, "unsafe_mode")):
                self._hit("DZ-CODE-030", node, "CodeInterpreterTool(unsafe_mode=True) runs code "
                          "on the host")
            else:
                which = "LLMMathChain" if "LLMMathChain" in parts else "CodeInterpreterTool"
                self._hit("DZ-CODE-031", node, f"{which} evaluates model-written code")
        config = keyword(node, "code_execution_config")
        if isinstance(config, ast.Dict):
            pairs = {string(k): v for k, v in zip(config.keys, config.values, strict=True) if k}
            if is_false(pairs.get("use_docker")):
                self._hit("DZ-CODE-030", node, "code_execution_config use_docker=False runs "
                          "generated code on the host")
        imports = keyword(node, "additional_authorized_imports")
        if isinstance(imports, (ast.List, ast.Tuple)) and any(
            string(e) == "*" for e in imports.elts
        ):
            self._hit("DZ-CODE-030", node, "additional_authorized_imports=['*'] lets agent code "
                      "import anything (os, subprocess)")

    def _exposure(self, node: ast.Call, name: str, method: str) -> None:
        if method in ("run", "run_server") and is_true(keyword(node, "debug")):
            host = self._literal(keyword(node, "host"))
            if host in _ALL_INTERFACES:
                self._hit("DZ-CODE-040", node, f"{dotted(node.func)}(host={host!r}, debug=True)")
        elif name == "werkzeug.serving.run_simple" and is_true(keyword(node, "use_debugger")):
            host = self._literal(argument(node, 0, "hostname"))
            if host in _ALL_INTERFACES:
                self._hit("DZ-CODE-040", node, f"run_simple({host!r}, use_debugger=True)")
        elif method == "launch":
            share = is_true(keyword(node, "share"))
            host = self._literal(keyword(node, "server_name"))
            exposed = share or host in _ALL_INTERFACES
            guarded = keyword(node, "auth") is not None or keyword(node, "auth_dependency")
            if exposed and not guarded and not has_star_kwargs(node):
                what = "share=True" if share else f"server_name={host!r}"
                self._hit("DZ-CODE-041", node, f"{dotted(node.func)}({what}) without auth=")
        elif name == "ray.init":
            host = self._literal(keyword(node, "dashboard_host"))
            if host in _ALL_INTERFACES:
                self._hit("DZ-CODE-042", node, f"ray.init(dashboard_host={host!r})")
        elif name in ("uvicorn.run", "uvicorn.Config"):
            host = self._literal(keyword(node, "host"))
            if host in _ALL_INTERFACES:
                self._hit("DZ-CODE-045", node, f"{name}(..., host={host!r})")

    def _hygiene(self, node: ast.Call, name: str, method: str) -> None:
        if is_false(keyword(node, "verify")) and (
            name.split(".", 1)[0] in ("requests", "httpx", "urllib3") or method in _HTTP_METHODS
        ):
            self._hit("DZ-CODE-050", node, f"{dotted(node.func)}(..., verify=False)")
        if name == "tempfile.mktemp":
            self._hit("DZ-CODE-051", node, "tempfile.mktemp()")
        if method in ("extractall", "extract") and isinstance(node.func, ast.Attribute):
            if self._is_tar(node.func.value) and self._unfiltered(node):
                self._hit("DZ-CODE-052", node, f"{dotted(node.func)}(...) without filter=")
        elif name == "shutil.unpack_archive" and self._unfiltered(node):
            archive = self._literal(argument(node, 0, "filename")) or ""
            kind = self._literal(argument(node, 2, "format")) or ""
            if archive.lower().endswith(_TAR_SUFFIX) or "tar" in kind:
                self._hit("DZ-CODE-052", node, f"shutil.unpack_archive({archive!r}) of a tar "
                          "without filter=")

    def _is_tar(self, receiver: ast.expr) -> bool:
        if self._is_tar_open(receiver):
            return True
        if isinstance(receiver, ast.Name):
            return receiver.id in self.scope.tars or bool(_TAR_NAME.search(receiver.id))
        return False

    @staticmethod
    def _unfiltered(node: ast.Call) -> bool:
        if has_star_kwargs(node):
            return False
        value = keyword(node, "filter")
        return value is None or (isinstance(value, ast.Constant) and value.value in (
            None, "fully_trusted"))


def _looks_like_hub_id(text: str) -> bool:
    """``org/name`` that is not a local folder path (``outputs/checkpoint-500``)."""
    if not _HUB_ID.fullmatch(text):
        return False
    org, _, name = text.partition("/")
    if _LOCAL_DIRS.match(org) or name.lower().startswith(("checkpoint", "ckpt", "epoch", "step")):
        return False
    return not name.lower().endswith((".bin", ".pt", ".pth", ".json", ".safetensors", ".ckpt"))
