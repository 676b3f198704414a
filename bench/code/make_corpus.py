#!/usr/bin/env python3
# ruff: noqa: E501  (corpus file templates read better unwrapped)
"""Write dozor's labelled corpus for code, notebook, secret, dependency and manifest scanners.

    python bench/code/make_corpus.py OUT_DIR

Every file is written by this script and committed nowhere else: the fake API keys are
assembled here from a fixed seed at generation time, so the repository never holds a
full key-shaped string.  Templates carry their labels inline as ``⟦P what k=v⟧`` (a
true positive) or ``⟦N what k=v⟧`` (a look-alike that must NOT be reported) at the end
of the line the case is about; the marks are stripped from the written files and become
entries of ``OUT_DIR/manifest.json``::

    {"file": "code/train_loaders.py", "category": "code", "label": "positive",
     "what": "pickle.load", "kind": "code", "line": 17, ...}

category: code | notebook | secret | deps | manifest (the folder the file is in).
kind: what family of detector the case tests: code (code rules), secret (a credential or
a secret-shaped non-secret), vuln (a pin with a known advisory, or a fixed pin), pin
(an unpinned dependency), config (a deployment misconfiguration).
line: 1-based line in the file as written.  Notebook cases also give ``cell`` (1-based
position in ``cells``, markdown cells included), ``where`` (source | output) and ``cell_line`` (1-based line inside
that cell's source, or inside the output's text).
A finding counts for a case when it is reported within +-2 lines of ``line`` (or between
``line`` and ``line_end`` where a case spans a construct: a multi-line call, an ``args:``
list, a lock-file entry); the script checks that
these windows never overlap within a file, so one reported line points at one case only.

Only the standard library is needed.  The output is deterministic.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import string
import struct
import sys
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = "dozor-code-bench-1"
MIN_GAP = 5

# ---------------------------------------------------------------------------
# fake secrets, built from parts at generation time
# ---------------------------------------------------------------------------

ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "-_"
HEX = "0123456789abcdef"
B32 = string.ascii_uppercase + "234567"
B64 = ALNUM + "+/"


def _rand(label: str, alphabet: str, n: int) -> str:
    rng = random.Random(f"{SEED}:{label}")
    return "".join(rng.choice(alphabet) for _ in range(n))


def fake(kind: str, label: str) -> str:
    """A fake credential of a real provider's shape (none of them is valid anywhere)."""
    tag = f"{kind}:{label}"
    if kind == "hf":  # Hugging Face user access token
        return "hf" + "_" + _rand(tag, string.ascii_letters, 34)
    if kind == "openai":  # project key; the middle marker is base64 of "OpenAI"
        return (
            "sk"
            + "-proj-"
            + _rand(tag + "a", URLSAFE, 54)
            + _rand(tag + "b", ALNUM, 20)
            + "T3Bl"
            + "bkFJ"
            + _rand(tag + "c", ALNUM, 20)
            + _rand(tag + "d", URLSAFE, 54)
        )
    if kind == "anthropic":
        return "sk" + "-ant-" + "api03-" + _rand(tag, URLSAFE, 93) + "AA"
    if kind == "awsid":
        return "AK" + "IA" + _rand(tag, B32, 16)
    if kind == "awssecret":
        return _rand(tag, B64, 40)
    if kind == "wandb":  # W&B API keys are 40 hex characters
        return _rand(tag, HEX, 40)
    if kind == "gemini":  # Google AI Studio key
        return "AI" + "za" + _rand(tag, URLSAFE, 35)
    if kind == "sha40":  # a git commit id: secret-shaped, not a secret
        return _rand(tag, HEX, 40)
    if kind == "digest":  # an image / file sha256: secret-shaped, not a secret
        return _rand(tag, HEX, 64)
    raise ValueError(kind)


TOKEN_RE = re.compile(r"<<(\w+):([\w.-]+)>>")


def fill(text: str) -> str:
    return TOKEN_RE.sub(lambda m: fake(m.group(1), m.group(2)), text)


# ---------------------------------------------------------------------------
# labels inline in templates
# ---------------------------------------------------------------------------

MARK_RE = re.compile(r"\s*⟦([PN]) ([^\s⟧]+)((?: [\w-]+=[^\s⟧]+)*)⟧")


def strip_marks(text: str) -> tuple[str, list[dict]]:
    """Remove the marks; return the clean text and one case per mark (with its line)."""
    out_lines: list[str] = []
    cases: list[dict] = []
    for n, line in enumerate(text.split("\n"), start=1):
        for m in MARK_RE.finditer(line):
            case: dict = {
                "label": "positive" if m.group(1) == "P" else "negative",
                "what": m.group(2),
                "line": n,
            }
            for kv in m.group(3).split():
                key, _, value = kv.partition("=")
                if key == "span":
                    case["line_end"] = n + int(value)
                else:
                    case[key] = value.split(",") if key == "advisories" else value
            cases.append(case)
        out_lines.append(MARK_RE.sub("", line))
    return "\n".join(out_lines), cases


GAP_ERRORS: list[str] = []


def window(case: dict) -> tuple[int, int]:
    """Lines a reported finding may be on to count for this case: +-2 around ``line``, or
    exactly ``line``..``line_end`` for a case that spans an entry (a Pipfile.lock package)."""
    if "line_end" in case:
        return case["line"], case["line_end"]
    return case["line"] - 2, case["line"] + 2


def check_gaps(path: str, cases: list[dict]) -> None:
    spans = sorted(window(c) for c in cases)
    for (a0, a1), (b0, b1) in zip(spans, spans[1:], strict=False):
        if b0 <= a1:
            GAP_ERRORS.append(f"{path}: the cases on lines {a0}-{a1} and {b0}-{b1} overlap")


# ---------------------------------------------------------------------------
# code
# ---------------------------------------------------------------------------

CODE: dict[str, str] = {}

CODE["code/train_loaders.py"] = '''\
"""Training utilities: checkpoints, features and run configs."""

import json
import pickle

import cloudpickle
import dill
import joblib
import keras
import numpy as np
import pandas as pd
import torch
import yaml
from safetensors.torch import load_file


def load_model_pickle(path):
    with open(path, "rb") as fh:
        return pickle.load(fh)  ⟦P pickle.load⟧


def save_model_pickle(model, path):
    with open(path, "wb") as fh:
        pickle.dump(model, fh)  ⟦N pickle.dump⟧


def load_from_cache(redis_client, key):
    blob = redis_client.get(key)
    return pickle.loads(blob)  ⟦P pickle.loads⟧


def load_sklearn(path):
    """The fitted scikit-learn pipeline."""
    clf = joblib.load(path)  ⟦P joblib.load⟧
    return clf


def save_sklearn(clf, path):
    joblib.dump(clf, path, compress=3)  ⟦N joblib.dump⟧


def load_featurizer(path):
    with open(path, "rb") as fh:
        return dill.load(fh)  ⟦P dill.load⟧


def load_udf(payload):
    """A user function shipped from the driver."""
    fn = cloudpickle.loads(payload)  ⟦P cloudpickle.loads⟧
    return fn


def load_label_map(path):
    with open(path) as fh:
        return json.load(fh)  ⟦N json.load⟧


def load_embeddings(path):
    """Ragged embeddings are stored as an object array."""
    return np.load(path, allow_pickle=True)  ⟦P np.load_allow_pickle⟧


def load_embeddings_safe(path):
    """Dense embeddings."""
    return np.load(path)  ⟦N np.load_default⟧


def load_checkpoint(path):
    """A training checkpoint."""
    state = torch.load(path, map_location="cpu")  ⟦P torch.load_no_weights_only⟧
    return state


def load_checkpoint_safe(path):
    """A training checkpoint, tensors only."""
    state = torch.load(path, map_location="cpu", weights_only=True)  ⟦N torch.load_weights_only_true⟧
    return state


def load_full_module(path):
    """A whole nn.Module saved with torch.save(model)."""
    return torch.load(path, weights_only=False)  ⟦P torch.load_weights_only_false⟧


def load_keras_with_lambdas(path):
    """The model has Lambda layers."""
    return keras.models.load_model(path, safe_mode=False)  ⟦P keras.load_model_safe_mode_false⟧


def load_keras(path):
    """A plain Keras model."""
    return keras.models.load_model(path)  ⟦N keras.load_model_default⟧


def read_run_config(path):
    with open(path) as fh:
        return yaml.load(fh, Loader=yaml.Loader)  ⟦P yaml.load_unsafe_loader⟧


def read_legacy_config(text):
    """Configs written by the 2019 pipeline."""
    return yaml.unsafe_load(text)  ⟦P yaml.unsafe_load⟧


def read_config(path):
    with open(path) as fh:
        return yaml.safe_load(fh)  ⟦N yaml.safe_load⟧


def read_config_explicit(path):
    with open(path) as fh:
        return yaml.load(fh, Loader=yaml.SafeLoader)  ⟦N yaml.load_safe_loader⟧


def load_features(path):
    """Feature table cached by the ETL job."""
    return pd.read_pickle(path)  ⟦P pandas.read_pickle⟧


def load_features_parquet(path):
    """Feature table, columnar."""
    return pd.read_parquet(path)  ⟦N pandas.read_parquet⟧


def load_scripted(path):
    """A TorchScript export."""
    return torch.jit.load(path, map_location="cpu")  ⟦P torch.jit.load⟧


def load_weights(path):
    """Weights only, as safetensors."""
    return load_file(path, device="cpu")  ⟦N safetensors.load_file⟧
'''

CODE["code/hub_models.py"] = '''\
"""Load models and tokenizers from the Hugging Face Hub and torch.hub."""

import torch
from huggingface_hub import hf_hub_download
from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline

MODEL_ID = "acme-research/chat-7b"
PINNED = "<<sha40:hub-pin>>"


def load_custom_architecture():
    """The checkpoint ships its own modelling code."""
    return AutoModelForCausalLM.from_pretrained(MODEL_ID, revision=PINNED, trust_remote_code=True)  ⟦P trust_remote_code⟧


def build_pipeline():
    return pipeline(  ⟦P trust_remote_code_pipeline span=5⟧
        "text-generation",
        model=MODEL_ID,
        revision=PINNED,
        trust_remote_code=True,
    )


def load_without_remote_code():
    """Architectures that transformers knows."""
    return AutoModelForCausalLM.from_pretrained(MODEL_ID, revision=PINNED, trust_remote_code=False)  ⟦N trust_remote_code_false⟧


def load_tokenizer_latest():
    """Whatever the main branch holds today."""
    return AutoTokenizer.from_pretrained(MODEL_ID)  ⟦P from_pretrained_unpinned⟧


def load_tokenizer_pinned():
    """The reviewed revision."""
    return AutoTokenizer.from_pretrained(MODEL_ID, revision=PINNED)  ⟦N from_pretrained_pinned_sha⟧


def load_main_branch():
    """A branch name moves."""
    return AutoModelForCausalLM.from_pretrained(MODEL_ID, revision="main")  ⟦P from_pretrained_branch_revision⟧


def load_local_checkpoint():
    """Our own fine-tuned checkpoint on disk."""
    return AutoModelForCausalLM.from_pretrained("./checkpoints/final")  ⟦N from_pretrained_local_path⟧


def load_detector():
    """Object detector for the image pipeline."""
    return torch.hub.load("ultralytics/yolov5", "yolov5s", pretrained=True)  ⟦P torch.hub.load⟧


def fetch_weights():
    """Weights of the reviewed revision."""
    return hf_hub_download(repo_id=MODEL_ID, filename="model.safetensors", revision=PINNED)  ⟦N hf_hub_download_pinned⟧
'''

CODE["code/llm_tools.py"] = '''\
"""Tools an assistant can call; the model's answer drives what happens next."""

import ast
import json
import os
import subprocess

import anthropic
from openai import OpenAI

client = OpenAI()
claude = anthropic.Anthropic()
MODEL = "gpt-4o-mini"


def ask(prompt):
    resp = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": prompt}])
    return resp.choices[0].message.content


def calculator(question):
    resp = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": question}])
    expr = resp.choices[0].message.content
    return eval(expr)  ⟦P llm_to_eval⟧


def run_generated(task):
    msg = claude.messages.create(model="claude-sonnet-4-5", max_tokens=1024, messages=[{"role": "user", "content": task}])
    exec(msg.content[0].text)  ⟦P llm_to_exec⟧


def shell_agent(task):
    resp = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": task}])
    cmd = resp.choices[0].message.content
    return subprocess.run(cmd, shell=True, capture_output=True, text=True)  ⟦P llm_to_subprocess_shell⟧


def sql_agent(conn, question):
    resp = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": question}])
    where = resp.choices[0].message.content
    cur = conn.cursor()
    cur.execute(f"SELECT * FROM orders WHERE {where}")  ⟦P llm_to_sql_fstring⟧
    return cur.fetchall()


def cleanup_agent(task):
    resp = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": task}])
    os.system(resp.choices[0].message.content)  ⟦P llm_to_os_system⟧


def solve(question):
    """Through the helper above."""
    answer = ask(f"Write one Python expression that answers: {question}")
    return eval(answer)  ⟦P llm_to_eval_via_helper⟧


def constant_eval():
    """A constant expression."""
    return eval("2 ** 10")  ⟦N eval_constant⟧


def list_models():
    """Files in the model store."""
    return subprocess.run(["ls", "-l", "/srv/models"], capture_output=True, text=True)  ⟦N subprocess_argv_constant⟧


def gpu_status():
    """One fixed command."""
    return subprocess.run("nvidia-smi --query-gpu=name --format=csv", shell=True, capture_output=True)  ⟦N subprocess_shell_constant⟧


def lookup_order(conn, question):
    resp = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": question}])
    order_id = resp.choices[0].message.content
    cur = conn.cursor()
    cur.execute("SELECT * FROM orders WHERE id = ?", (order_id,))  ⟦N sql_parameterised⟧
    return cur.fetchall()


def parse_list(question):
    resp = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": question}])
    return ast.literal_eval(resp.choices[0].message.content)  ⟦N llm_to_literal_eval⟧


def parse_json(question):
    resp = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": question}])
    return json.loads(resp.choices[0].message.content)  ⟦N llm_to_json_loads⟧
'''

CODE["code/webapp_flask.py"] = '''\
"""Demo server for the scoring model."""

import ast
import pickle

from flask import Flask, request

app = Flask(__name__)


@app.route("/calc")
def calc():
    expr = request.args.get("expr", "0")
    return str(eval(expr))  ⟦P request_to_eval⟧


@app.route("/score", methods=["POST"])
def score():
    values = ast.literal_eval(request.form["values"])  ⟦N request_to_literal_eval⟧
    return {"score": sum(values)}


@app.route("/upload", methods=["POST"])
def upload():
    model = pickle.loads(request.data)  ⟦P request_to_pickle_loads⟧
    return {"type": type(model).__name__}


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=5000, debug=True)  ⟦P flask_debug_public⟧
'''

CODE["code/webapp_flask_prod.py"] = '''\
"""Production entry point for the scoring model."""

import os

from flask import Flask

app = Flask(__name__)


@app.get("/healthz")
def healthz():
    return {"ok": True}


if __name__ == "__main__":
    if os.environ.get("IN_CONTAINER"):
        # inside the container the port is published by the orchestrator;
        # the debugger is never on in production
        app.run(host="0.0.0.0", port=8080)  ⟦N flask_public_no_debug⟧
    else:
        # a developer's laptop:
        # bind to loopback only
        # (the debugger stays off: it would expose a console)
        app.run(host="127.0.0.1", port=5000, debug=False)  ⟦N flask_localhost_debug_false⟧
'''

CODE["code/api_fastapi.py"] = '''\
"""Small FastAPI service around a feature formula."""

from fastapi import FastAPI

api = FastAPI()


@api.post("/feature")
async def feature(body: dict):
    return {"value": eval(body["formula"])}  ⟦P request_to_eval_fastapi⟧
'''

CODE["code/agents.py"] = '''\
"""LangChain agents over the sales data."""

from langchain_community.tools import DuckDuckGoSearchRun
from langchain_experimental.agents import create_pandas_dataframe_agent
from langchain_experimental.tools import PythonREPLTool


def analyst_agent(llm, df):
    """Answers questions by running pandas code."""
    return create_pandas_dataframe_agent(llm, df, allow_dangerous_code=True, verbose=True)  ⟦P langchain_allow_dangerous_code⟧


def readonly_agent(llm, df):
    """Same agent, no code execution."""
    return create_pandas_dataframe_agent(llm, df, allow_dangerous_code=False)  ⟦N langchain_allow_dangerous_code_false⟧


def coding_tools():
    """Tools for the coding assistant."""
    return [PythonREPLTool(), DuckDuckGoSearchRun()]  ⟦P langchain_python_repl_tool⟧


def research_tools():
    """Tools for the research assistant."""
    # PythonREPLTool is deliberately not offered here: it runs whatever the model writes.  ⟦N langchain_repl_in_comment⟧
    return [DuckDuckGoSearchRun()]


def search_only():
    """Web search, nothing else."""
    return [DuckDuckGoSearchRun(max_results=5)]  ⟦N langchain_search_tool_only⟧
'''

CODE["code/gradio_share.py"] = '''\
"""Quick demo of the classifier for the team."""

import gradio as gr


def classify(text):
    return {"positive": 0.7, "negative": 0.3}


demo = gr.Interface(fn=classify, inputs="text", outputs="label")
demo.launch(share=True)  ⟦P gradio_share_true⟧
'''

CODE["code/gradio_local.py"] = '''\
"""Local demo of the classifier."""

import os

import gradio as gr


def classify(text):
    return {"positive": 0.7, "negative": 0.3}


demo = gr.Interface(fn=classify, inputs="text", outputs="label")

if os.environ.get("BIND_LOCAL"):
    # only reachable from this machine
    demo.launch(server_name="127.0.0.1", server_port=7860)  ⟦N gradio_launch_localhost⟧
else:
    # the default: local address,
    # no public link
    # (share=False unless asked)
    demo.launch()  ⟦N gradio_launch_default⟧
'''

CODE["code/jupyter/jupyter_server_config.py"] = """\
# Jupyter Server configuration for the shared GPU box.
c = get_config()  # noqa: F821

c.ServerApp.open_browser = False
c.ServerApp.port = 8888
c.ServerApp.allow_root = True

# Everyone on the team uses this box; no login prompt.
c.ServerApp.token = ""  ⟦P jupyter_token_empty⟧

c.ServerApp.root_dir = "/workspace"
"""

CODE["code/jupyter_legacy/jupyter_notebook_config.py"] = """\
# Classic notebook server (pre Jupyter Server 2).
c = get_config()  # noqa: F821

c.NotebookApp.open_browser = False
c.NotebookApp.port = 8888
c.NotebookApp.notebook_dir = "/workspace"

c.NotebookApp.token = ''  ⟦P jupyter_notebookapp_token_empty⟧
c.NotebookApp.password = ''
"""

CODE["code/jupyter_secure/jupyter_server_config.py"] = """\
# Jupyter Server configuration: the token comes from the environment.
import os

c = get_config()  # noqa: F821

c.ServerApp.open_browser = False
c.ServerApp.port = 8888

c.ServerApp.token = os.environ["JUPYTER_TOKEN"]  ⟦N jupyter_token_from_env⟧

c.ServerApp.ip = "127.0.0.1"
"""

# ---------------------------------------------------------------------------
# notebooks: cells are (cell_type, source, outputs); outputs are
# ("stream", text) or ("result", mime, text)
# ---------------------------------------------------------------------------

NOTEBOOKS: dict[str, list[tuple]] = {}

NOTEBOOKS["notebook/finetune_llama.ipynb"] = [
    ("markdown", "# Fine-tune the chat model\nLoRA on the support tickets.", []),
    (
        "code",
        'import os\nfrom huggingface_hub import login\n\nHF_TOKEN = "<<hf:nb-finetune>>"  ⟦P hf_token_in_source kind=secret⟧\nlogin(token=HF_TOKEN)',
        [],
    ),
    (
        "code",
        'import torch\n\nstate = torch.load("checkpoints/step-1000.pt")  ⟦P torch.load_in_cell kind=code⟧\nprint(len(state))',
        [("stream", "291\n")],
    ),
    (
        "code",
        'from transformers import AutoModelForCausalLM\n\nREV = "<<sha40:nb-rev>>"\nmodel = AutoModelForCausalLM.from_pretrained("acme-research/chat-7b", revision=REV, trust_remote_code=True)  ⟦P trust_remote_code_in_cell kind=code⟧',
        [],
    ),
    (
        "code",
        'import wandb\n\nwandb.login(key="<<wandb:nb-finetune>>")  ⟦P wandb_key_in_source kind=secret⟧\nrun = wandb.init(project="chat-7b-lora")',
        [("stream", "wandb: Currently logged in as: acme-bot\n")],
    ),
]

NOTEBOOKS["notebook/debug_env.ipynb"] = [
    ("markdown", "## Why does the client fail?", []),
    (
        "code",
        'import os\n\nprint(os.environ["OPENAI_API_KEY"])',
        [("stream", "<<openai:nb-debug>>  ⟦P openai_key_in_output kind=secret⟧\n")],
    ),
    (
        "code",
        "!cat ~/.cache/huggingface/token",
        [("stream", "<<hf:nb-debug>>  ⟦P hf_token_in_output kind=secret⟧")],
    ),
    (
        "code",
        "!env | grep AWS",
        [
            (
                "stream",
                "AWS_DEFAULT_REGION=eu-west-1\nAWS_ACCESS_KEY_ID=<<awsid:nb-debug>>  ⟦P aws_keys_in_output kind=secret⟧\nAWS_SECRET_ACCESS_KEY=<<awssecret:nb-debug>>\n",
            )
        ],
    ),
    (
        "code",
        'import anthropic\n\nclient = anthropic.Anthropic(api_key="<<anthropic:nb-debug>>")  ⟦P anthropic_key_in_source kind=secret⟧\nclient.models.list()',
        [],
    ),
    (
        "code",
        'os.environ.get("GEMINI_API_KEY")',
        [("result", "text/plain", "'<<gemini:nb-debug>>'  ⟦P gemini_key_in_output kind=secret⟧")],
    ),
]


# a tiny real PNG (a 16x16 gradient) as a notebook image output: high-entropy base64, no secret
def _png() -> str:
    w = h = 16
    rows = b"".join(
        b"\x00" + b"".join(bytes((x * 16, y * 16, (x ^ y) * 16 % 256)) for x in range(w))
        for y in range(h)
    )

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )
    return base64.b64encode(png).decode()


NOTEBOOKS["notebook/quickstart.ipynb"] = [
    ("markdown", "# Quickstart\nPut your own keys in the cells below.", []),
    (
        "code",
        'HF_TOKEN = "hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"  # replace with your token  ⟦N hf_token_placeholder kind=secret⟧',
        [],
    ),
    (
        "code",
        'import os\nfrom getpass import getpass\n\nos.environ["OPENAI_API_KEY"] = getpass("OpenAI API key: ")  ⟦N openai_key_getpass kind=secret⟧',
        [("stream", "OpenAI API key: ········\n")],
    ),
    (
        "code",
        'from openai import OpenAI\n\nclient = OpenAI(api_key="sk-your-key-here")  ⟦N openai_key_placeholder kind=secret⟧',
        [],
    ),
    (
        "code",
        "!huggingface-cli whoami",
        [("stream", "acme-bot\norgs:  acme-research  ⟦N hf_whoami_output kind=secret⟧\n")],
    ),
    (
        "code",
        "import wandb\n\nwandb.login()",
        [
            (
                "stream",
                "wandb: Currently logged in as: acme-bot (acme-research)  ⟦N wandb_login_no_key kind=secret⟧\n",
            )
        ],
    ),
    (
        "code",
        'import torch\n\nstate = torch.load("checkpoints/step-1000.pt", weights_only=True)  ⟦N torch.load_weights_only_in_cell kind=code⟧',
        [],
    ),
    (
        "code",
        'import hashlib\n\ndigest = hashlib.sha256(open("model.safetensors", "rb").read()).hexdigest()\nprint(digest)',
        [("stream", "<<digest:nb-weights>>  ⟦N sha256_in_output kind=secret⟧\n")],
    ),
    (
        "code",
        "import matplotlib.pyplot as plt\n\nplt.imshow(loss_map)",
        [("result", "image/png", "@@PNG@@  ⟦N png_image_output kind=secret⟧")],
    ),
]

# ---------------------------------------------------------------------------
# secrets in plain files
# ---------------------------------------------------------------------------

SECRETS: dict[str, str] = {}

SECRETS["secret/.env"] = """\
# Local development settings for the chat service
APP_ENV=development
LOG_LEVEL=debug

HF_TOKEN=<<hf:env>>  ⟦P hf_token_dotenv⟧

# OpenAI for the fallback model
# (used when the main model is down)
MODEL_FALLBACK=gpt-4o-mini
OPENAI_API_KEY=<<openai:env>>  ⟦P openai_key_dotenv⟧

# Anthropic for the main model
# (claude in production)
MODEL_MAIN=claude-sonnet-4-5
ANTHROPIC_API_KEY=<<anthropic:env>>  ⟦P anthropic_key_dotenv⟧

# S3 bucket with the checkpoints
# (read and write)
S3_BUCKET=acme-checkpoints
AWS_ACCESS_KEY_ID=<<awsid:env>>  ⟦P aws_keys_dotenv⟧
AWS_SECRET_ACCESS_KEY=<<awssecret:env>>

# experiment tracking
WANDB_PROJECT=chat-7b
WANDB_API_KEY=<<wandb:env>>  ⟦P wandb_key_dotenv⟧

# embeddings
# (batch jobs only)
GEMINI_MODEL=text-embedding-004
GEMINI_API_KEY=<<gemini:env>>  ⟦P gemini_key_dotenv⟧
"""

SECRETS["secret/.env.example"] = """\
# Copy to .env and fill in your own values.
APP_ENV=development

HF_TOKEN=hf_your_token_here  ⟦N hf_token_placeholder_dotenv⟧

# OpenAI for the fallback model
# (optional)
MODEL_FALLBACK=gpt-4o-mini
OPENAI_API_KEY=sk-REPLACE_ME  ⟦N openai_key_placeholder_dotenv⟧

# experiment tracking
# (leave empty to disable)
WANDB_PROJECT=chat-7b
WANDB_API_KEY=  ⟦N wandb_key_empty_dotenv⟧

# Anthropic, taken from the shell
# (export it before docker compose up)
MODEL_MAIN=claude-sonnet-4-5
ANTHROPIC_API_KEY=${ANTHROPIC_API_KEY}  ⟦N anthropic_key_interpolated_dotenv⟧
"""

SECRETS["secret/settings.py"] = '''\
"""Service settings."""

import os

OPENAI_API_KEY = "<<openai:settings>>"  ⟦P openai_key_python⟧

# request limits
TIMEOUT_S = 30
MAX_TOKENS = 1024
HF_TOKEN = os.environ["HF_TOKEN"]  ⟦N hf_token_from_environ⟧

# model
RETRIES = 3
MODEL_ID = "acme-research/chat-7b"
MODEL_REVISION = "<<sha40:settings>>"  ⟦N git_sha_revision_python⟧

# tracking
TRACKING = "wandb"
WANDB_PROJECT = "chat-7b"
WANDB_API_KEY = "<<wandb:settings>>"  ⟦P wandb_key_python⟧

# form handling
AUTH_HEADER = "Authorization"
USER_FIELD = "username"
PASSWORD_FIELD = "password"  ⟦N password_field_name⟧
'''

SECRETS["secret/train_config.yaml"] = """\
model:
  name: acme-research/chat-7b
  revision: <<sha40:yaml>>  ⟦N git_sha_revision_yaml⟧
  dtype: bfloat16

training:
  epochs: 3
  lr: 2.0e-5
tracking:
  wandb_api_key: <<wandb:yaml>>  ⟦P wandb_key_yaml⟧
  project: chat-7b

hub:
  push: true
  repo: acme-research/chat-7b-lora
  token: <<hf:yaml>>  ⟦P hf_token_yaml⟧

openai:
  judge_model: gpt-4o
  base_url: https://api.openai.com/v1
  api_key: ${OPENAI_API_KEY}  ⟦N openai_key_interpolated_yaml⟧
"""

SECRETS["secret/litellm_config.yaml"] = """\
model_list:
  - model_name: claude
    litellm_params:
      model: anthropic/claude-sonnet-4-5
      api_key: <<anthropic:litellm>>  ⟦P anthropic_key_litellm⟧
      max_tokens: 4096

  - model_name: gpt
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/OPENAI_API_KEY  ⟦N litellm_env_reference⟧
"""

SECRETS["secret/.netrc"] = """\
machine api.wandb.ai
  login user
  password <<wandb:netrc>>  ⟦P wandb_key_netrc⟧
"""

SECRETS["secret/.streamlit/secrets.toml"] = """\
# Streamlit secrets for the demo app
[general]
app_name = "support-bot"

OPENAI_API_KEY = "<<openai:streamlit>>"  ⟦P openai_key_streamlit_toml⟧
"""

SECRETS["secret/checkpoint/config.json"] = """\
{
  "_name_or_path": "acme-research/chat-7b",
  "architectures": ["LlamaForCausalLM"],
  "hidden_size": 4096,
  "_commit_hash": "<<sha40:config-json>>",  ⟦N commit_hash_config_json⟧
  "model_type": "llama",
  "num_attention_heads": 32,
  "num_hidden_layers": 32,
  "torch_dtype": "bfloat16",
  "vocab_size": 32000
}
"""

# ---------------------------------------------------------------------------
# dependencies
# ---------------------------------------------------------------------------

DEPS: dict[str, str] = {}


def _adv(pin: str) -> str:
    return "advisories=@@" + pin + "@@"


DEPS["deps/vulnerable/requirements.txt"] = f"""\
# Inference service, pinned in early 2024.
torch==2.5.1  ⟦P torch_2.5.1 package=torch {_adv("torch==2.5.1")}⟧
#
#
#
#
transformers==4.36.0  ⟦P transformers_4.36.0 package=transformers {_adv("transformers==4.36.0")}⟧
#
#
#
#
keras==3.8.0  ⟦P keras_3.8.0 package=keras {_adv("keras==3.8.0")}⟧
#
#
#
#
mlflow==2.9.2  ⟦P mlflow_2.9.2 package=mlflow {_adv("mlflow==2.9.2")}⟧
#
#
#
#
gradio==4.19.0  ⟦P gradio_4.19.0 package=gradio {_adv("gradio==4.19.0")}⟧
#
#
#
#
ray[serve]==2.6.3  ⟦P ray_2.6.3 package=ray {_adv("ray==2.6.3")}⟧
#
#
#
#
vllm==0.6.0  ⟦P vllm_0.6.0 package=vllm {_adv("vllm==0.6.0")}⟧
#
#
#
#
langchain==0.0.300  ⟦P langchain_0.0.300 package=langchain {_adv("langchain==0.0.300")}⟧
#
#
#
#
llama-cpp-python==0.2.60  ⟦P llama-cpp-python_0.2.60 package=llama-cpp-python {_adv("llama-cpp-python==0.2.60")}⟧
"""

DEPS["deps/fixed/requirements.txt"] = """\
# Inference service after the 2026 upgrade: no advisory in the PyPA database matches these pins.
# torch==2.5.1 was pinned here until the weights_only bypass (CVE-2025-32434).  ⟦N torch_2.5.1_in_comment package=torch⟧
#
#
#
#
#
torch==2.11.0  ⟦N torch_2.11.0 package=torch⟧
#
#
#
#
transformers==5.3.0  ⟦N transformers_5.3.0 package=transformers⟧
#
#
#
#
keras==3.14.0  ⟦N keras_3.14.0 package=keras⟧
#
#
#
#
mlflow==3.11.0  ⟦N mlflow_3.11.0 package=mlflow⟧
#
#
#
#
gradio==6.16.0  ⟦N gradio_6.16.0 package=gradio⟧
#
#
#
#
ray[serve]==2.56.0  ⟦N ray_2.56.0 package=ray⟧
#
#
#
#
vllm==0.24.0  ⟦N vllm_0.24.0 package=vllm⟧
#
#
#
#
langchain-core==1.3.3  ⟦N langchain-core_1.3.3 package=langchain-core⟧
#
#
#
#
llama-cpp-python==0.2.72  ⟦N llama-cpp-python_0.2.72 package=llama-cpp-python⟧
"""

DEPS["deps/unpinned/requirements.txt"] = """\
# Research environment: ranges, not pins.
torch>=2.0  ⟦P torch_unpinned package=torch kind=pin⟧
#
#
#
#
transformers  ⟦P transformers_unpinned package=transformers kind=pin⟧
#
#
#
#
vllm~=0.6  ⟦P vllm_compatible_release package=vllm kind=pin⟧
#
#
#
#
requests==2.33.0  ⟦N requests_2.33.0 package=requests⟧
#
#
#
#
numpy==2.3.5  ⟦N numpy_2.3.5 package=numpy⟧
#
#
#
#
pillow==12.3.0  ⟦N pillow_12.3.0 package=pillow⟧
"""

DEPS["deps/poetry/pyproject.toml"] = f"""\
[tool.poetry]
name = "support-bot"
version = "0.3.0"
description = "Support ticket assistant"
authors = ["ACME ML <ml@acme.example>"]

[tool.poetry.dependencies]
python = "^3.11"
langchain = "0.0.300"  ⟦P langchain_0.0.300_pyproject package=langchain {_adv("langchain==0.0.300")}⟧
pyyaml = "6.0.2"
accelerate = "1.2.0"
numpy = "2.3.5"

safetensors = "0.4.5"  ⟦N safetensors_0.4.5_pyproject package=safetensors⟧

[build-system]
requires = ["poetry-core"]
build-backend = "poetry.core.masonry.api"
"""


def _poetry_pkg(name: str, version: str, desc: str, mark: str) -> str:
    h1 = fake("digest", f"poetry-{name}-1")
    h2 = fake("digest", f"poetry-{name}-2")
    return f"""[[package]]
name = "{name}"  {mark}
version = "{version}"
description = "{desc}"
optional = false
python-versions = ">=3.9"
files = [
    {{file = "{name.replace("-", "_")}-{version}-py3-none-any.whl", hash = "sha256:{h1}"}},
    {{file = "{name.replace("-", "_")}-{version}.tar.gz", hash = "sha256:{h2}"}},
]
"""


DEPS["deps/poetry/poetry.lock"] = (
    "# This file is automatically @generated by Poetry 2.1.1 and should not be changed by hand.\n\n"
    + _poetry_pkg("accelerate", "1.2.0", "Accelerate", "")
    + "\n"
    + _poetry_pkg(
        "gradio",
        "4.19.0",
        "Python library for easily interacting with trained machine learning models",
        f"⟦P gradio_4.19.0_poetry_lock package=gradio {_adv('gradio==4.19.0')}⟧",
    )
    + "\n"
    + _poetry_pkg(
        "langchain",
        "0.0.300",
        "Building applications with LLMs through composability",
        f"⟦P langchain_0.0.300_poetry_lock package=langchain {_adv('langchain==0.0.300')}⟧",
    )
    + "\n"
    + _poetry_pkg(
        "safetensors",
        "0.4.5",
        "Safe tensor serialization",
        "⟦N safetensors_0.4.5_poetry_lock package=safetensors⟧",
    )
    + "\n"
    + _poetry_pkg(
        "torch",
        "2.5.1",
        "Tensors and Dynamic neural networks in Python with strong GPU acceleration",
        f"⟦P torch_2.5.1_poetry_lock package=torch {_adv('torch==2.5.1')}⟧",
    )
    + "\n"
    + _poetry_pkg(
        "transformers",
        "5.3.0",
        "State-of-the-art Machine Learning for JAX, PyTorch and TensorFlow",
        "⟦N transformers_5.3.0_poetry_lock package=transformers⟧",
    )
    + "\n"
    + '[metadata]\nlock-version = "2.1"\npython-versions = "^3.11"\ncontent-hash = "'
    + fake("digest", "poetry-content")
    + '"\n'
)


def _uv_pkg(name: str, version: str, mark: str) -> str:
    h = fake("digest", f"uv-{name}")
    fname = name.replace("-", "_")
    return f"""[[package]]
name = "{name}"  {mark}
version = "{version}"
source = {{ registry = "https://pypi.org/simple" }}
wheels = [
    {{ url = "https://files.pythonhosted.org/packages/{fname}-{version}-py3-none-any.whl", hash = "sha256:{h}" }},
]
"""


DEPS["deps/uv/uv.lock"] = (
    'version = 1\nrevision = 2\nrequires-python = ">=3.11"\n\n'
    + _uv_pkg("keras", "3.8.0", f"⟦P keras_3.8.0_uv_lock package=keras {_adv('keras==3.8.0')}⟧")
    + "\n"
    + _uv_pkg("mlflow", "3.11.0", "⟦N mlflow_3.11.0_uv_lock package=mlflow⟧")
    + "\n"
    + _uv_pkg("numpy", "2.3.5", "")
    + "\n"
    + _uv_pkg("vllm", "0.6.0", f"⟦P vllm_0.6.0_uv_lock package=vllm {_adv('vllm==0.6.0')}⟧")
    + "\n"
)


def _pipfile_lock() -> str:
    entries = [
        (
            "langchain-experimental",
            "0.0.14",
            f"⟦P langchain-experimental_0.0.14_pipfile_lock span=6 package=langchain-experimental {_adv('langchain-experimental==0.0.14')}⟧",
        ),
        (
            "llama-cpp-python",
            "0.2.60",
            f"⟦P llama-cpp-python_0.2.60_pipfile_lock span=6 package=llama-cpp-python {_adv('llama-cpp-python==0.2.60')}⟧",
        ),
        ("ray", "2.56.0", "⟦N ray_2.56.0_pipfile_lock span=6 package=ray⟧"),
        (
            "transformers",
            "4.36.0",
            f"⟦P transformers_4.36.0_pipfile_lock span=6 package=transformers {_adv('transformers==4.36.0')}⟧",
        ),
    ]
    lines = [
        "{",
        '    "_meta": {',
        '        "hash": {',
        f'            "sha256": "{fake("digest", "pipfile-meta")}"',
        "        },",
        '        "pipfile-spec": 6,',
        '        "requires": {',
        '            "python_version": "3.11"',
        "        },",
        '        "sources": [',
        "            {",
        '                "name": "pypi",',
        '                "url": "https://pypi.org/simple",',
        '                "verify_ssl": true',
        "            }",
        "        ]",
        "    },",
        '    "default": {',
    ]
    for i, (name, version, mark) in enumerate(entries):
        lines += [
            f'        "{name}": {{  {mark}',
            '            "hashes": [',
            f'                "sha256:{fake("digest", "pipfile-" + name + "-1")}",',
            f'                "sha256:{fake("digest", "pipfile-" + name + "-2")}"',
            "            ],",
            '            "index": "pypi",',
            f'            "version": "=={version}"',
            "        }" + ("," if i < len(entries) - 1 else ""),
        ]
    lines += ["    },", '    "develop": {}', "}", ""]
    return "\n".join(lines)


DEPS["deps/pipenv/Pipfile.lock"] = _pipfile_lock()

# ---------------------------------------------------------------------------
# manifests: Kubernetes, KServe, KubeRay, Dockerfiles, docker-compose
# ---------------------------------------------------------------------------

MANIFESTS: dict[str, str] = {}

MANIFESTS["manifest/k8s/vllm-deployment.yaml"] = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: vllm-chat
  namespace: llm
  labels:
    app: vllm-chat
spec:
  replicas: 1
  selector:
    matchLabels:
      app: vllm-chat
  template:
    metadata:
      labels:
        app: vllm-chat
    spec:
      containers:
        - name: vllm
          workingDir: /workspace
          imagePullPolicy: Always
          image: vllm/vllm-openai:latest  ⟦P image_latest_tag⟧
          ports:
            - name: http
              containerPort: 8000
              protocol: TCP
          args:  ⟦P vllm_trust_remote_code_arg span=5⟧
            - --model
            - acme-research/chat-7b
            - --port
            - "8000"
            - --trust-remote-code
          env:
            - name: VLLM_LOGGING_LEVEL
              value: INFO
            - name: HF_TOKEN
              value: <<hf:k8s-vllm>>  ⟦P hf_token_literal_env kind=secret⟧
          volumeMounts:
            - name: hf-cache
              mountPath: /root/.cache/huggingface
          securityContext:
            privileged: true  ⟦P privileged_container⟧
      nodeSelector:
        nvidia.com/gpu.present: "true"
      volumes:
        - name: hf-cache
          hostPath:  ⟦P hostPath_model_cache⟧
            path: /data/hf-cache
            type: DirectoryOrCreate
"""

MANIFESTS["manifest/k8s/tgi-deployment-no-limits.yaml"] = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: tgi
  namespace: llm
spec:
  replicas: 1
  selector:
    matchLabels:
      app: tgi
  template:
    metadata:
      labels:
        app: tgi
    spec:
      containers:
        - name: tgi  ⟦P no_resource_limits⟧
          image: ghcr.io/huggingface/text-generation-inference@sha256:<<digest:tgi-k8s>>
          args: ["--model-id", "acme-research/chat-7b", "--revision", "<<sha40:tgi-k8s>>"]
          ports:
            - containerPort: 80
          securityContext:
            allowPrivilegeEscalation: false
            runAsNonRoot: true
            runAsUser: 1000
"""

MANIFESTS["manifest/k8s/vllm-deployment-hardened.yaml"] = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: vllm-chat
  namespace: llm
spec:
  replicas: 1
  selector:
    matchLabels:
      app: vllm-chat
  template:
    metadata:
      labels:
        app: vllm-chat
    spec:
      automountServiceAccountToken: false
      containers:
        - name: vllm
          workingDir: /workspace
          imagePullPolicy: IfNotPresent
          image: vllm/vllm-openai@sha256:<<digest:vllm-hardened>>  ⟦N image_digest_pinned⟧
          args:
            - --model
            - acme-research/chat-7b
            - --revision
            - <<sha40:vllm-hardened>>  ⟦N vllm_args_pinned_revision⟧
          env:
            - name: VLLM_LOGGING_LEVEL
              value: INFO
            - name: HF_TOKEN
              valueFrom:
                secretKeyRef:  ⟦N hf_token_secretKeyRef kind=secret⟧
                  name: hf-token
                  key: token
          resources:
            requests:
              cpu: "4"
              memory: 16Gi
            limits:  ⟦N resource_limits_set⟧
              cpu: "8"
              memory: 32Gi
              nvidia.com/gpu: "1"
          securityContext:
            privileged: false  ⟦N privileged_false⟧
            allowPrivilegeEscalation: false
            runAsNonRoot: true
            runAsUser: 1000
            readOnlyRootFilesystem: true
          volumeMounts:
            - name: hf-cache
              mountPath: /models/cache
      volumes:
        - name: hf-cache
          persistentVolumeClaim:  ⟦N pvc_model_cache⟧
            claimName: hf-cache
"""

MANIFESTS["manifest/k8s/services-public.yaml"] = """\
apiVersion: v1
kind: Service
metadata:
  name: vllm-api
  namespace: llm
spec:
  selector:
    app: vllm-chat
  ports:
    - name: openai
      port: 8000  ⟦P loadbalancer_vllm_8000⟧
  type: LoadBalancer
---
apiVersion: v1
kind: Service
metadata:
  name: ray-dashboard
  namespace: ray
spec:
  selector:
    ray.io/node-type: head
  ports:
    - name: dashboard
      port: 8265  ⟦P loadbalancer_ray_dashboard_8265⟧
  type: LoadBalancer
---
apiVersion: v1
kind: Service
metadata:
  name: jupyter
  namespace: research
spec:
  selector:
    app: jupyter
  ports:
    - name: http
      port: 8888  ⟦P loadbalancer_jupyter_8888⟧
  type: LoadBalancer
"""

MANIFESTS["manifest/k8s/services-internal.yaml"] = """\
apiVersion: v1
kind: Service
metadata:
  name: vllm-api
  namespace: llm
spec:
  selector:
    app: vllm-chat
  ports:
    - name: openai
      port: 8000  ⟦N clusterip_vllm_8000⟧
  type: ClusterIP
---
apiVersion: v1
kind: Service
metadata:
  name: web-frontend
  namespace: web
spec:
  selector:
    app: nginx-auth-proxy
  ports:
    - name: https
      port: 443  ⟦N loadbalancer_https_frontend⟧
  type: LoadBalancer
"""

MANIFESTS["manifest/k8s/kserve-isvc.yaml"] = """\
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: chat-7b
  namespace: kserve-models
spec:
  predictor:
    model:
      modelFormat:
        name: huggingface
      args:  ⟦P kserve_trust_remote_code_arg span=3⟧
        - --model_name=chat-7b
        - --model_id=acme-research/chat-7b
        - --trust_remote_code
      env:
        - name: HF_HUB_ENABLE_HF_TRANSFER
          value: "1"
        - name: HF_TOKEN
          value: <<hf:kserve>>  ⟦P hf_token_literal_env_kserve kind=secret⟧
      resources:
        limits:
          cpu: "6"
          memory: 24Gi
          nvidia.com/gpu: "1"
"""

MANIFESTS["manifest/k8s/kserve-isvc-safe.yaml"] = """\
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: chat-7b
  namespace: kserve-models
spec:
  predictor:
    model:
      modelFormat:
        name: huggingface
      storageUri: pvc://models/chat-7b  ⟦N kserve_storage_pvc⟧
      args:
        - --model_name=chat-7b
      env:
        - name: HF_TOKEN
          valueFrom:
            secretKeyRef:  ⟦N hf_token_secretKeyRef_kserve kind=secret⟧
              name: hf-token
              key: token
      resources:
        limits:
          cpu: "6"
          memory: 24Gi
          nvidia.com/gpu: "1"
"""

MANIFESTS["manifest/k8s/raycluster.yaml"] = """\
apiVersion: ray.io/v1
kind: RayCluster
metadata:
  name: train-cluster
  namespace: ray
spec:
  headGroupSpec:
    rayStartParams:
      dashboard-host: "0.0.0.0"  ⟦P ray_dashboard_host_all_interfaces⟧
      num-cpus: "0"
    template:
      spec:
        containers:
          - name: ray-head
            ports:
              - containerPort: 6379
                name: gcs
              - containerPort: 8265
                name: dashboard
            image: rayproject/ray:latest  ⟦P image_latest_tag_ray⟧
            resources:
              limits:
                cpu: "4"
                memory: 16Gi
"""

MANIFESTS["manifest/k8s/raycluster-safe.yaml"] = """\
apiVersion: ray.io/v1
kind: RayCluster
metadata:
  name: train-cluster
  namespace: ray
spec:
  headGroupSpec:
    rayStartParams:
      dashboard-host: "127.0.0.1"  ⟦N ray_dashboard_host_localhost⟧
      num-cpus: "0"
    template:
      spec:
        containers:
          - name: ray-head
            ports:
              - containerPort: 6379
                name: gcs
            image: rayproject/ray@sha256:<<digest:ray-safe>>  ⟦N image_digest_pinned_ray⟧
            resources:
              limits:
                cpu: "4"
                memory: 16Gi
"""

MANIFESTS["manifest/docker/runs-as-root/Dockerfile"] = """\
FROM python:3.11-slim@sha256:<<digest:docker-root>>
WORKDIR /app
COPY . /app  ⟦P dockerfile_no_user⟧
RUN pip install --no-cache-dir -r requirements.txt
CMD ["python", "serve.py"]
"""

MANIFESTS["manifest/docker/build-bad/Dockerfile"] = """\
FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04

RUN apt-get update && apt-get install -y --no-install-recommends curl python3-pip \\
    && rm -rf /var/lib/apt/lists/*

# local model runner
RUN curl -fsSL https://ollama.com/install.sh | sh  ⟦P curl_pipe_sh⟧

WORKDIR /app
COPY requirements.txt .
RUN pip3 install --no-cache-dir -r requirements.txt

ENV HF_TOKEN=<<hf:dockerfile>>  ⟦P dockerfile_env_hf_token kind=secret⟧

COPY . .
RUN python3 download_model.py

RUN useradd --create-home app
USER app
CMD ["python3", "serve.py"]
"""

MANIFESTS["manifest/docker/build-good/Dockerfile"] = """\
# syntax=docker/dockerfile:1
FROM python:3.11-slim@sha256:<<digest:docker-good>>

ARG UV_SHA256=<<digest:uv-tarball>>
RUN curl -fsSLo /tmp/uv.tar.gz https://github.com/astral-sh/uv/releases/download/0.9.5/uv-x86_64-unknown-linux-gnu.tar.gz \\
    && echo "${UV_SHA256}  /tmp/uv.tar.gz" | sha256sum -c -  ⟦N curl_download_checksum⟧

WORKDIR /app
RUN mkdir -p /app/data

# evaluation data: unpacked, never executed
RUN curl -fsSL https://example.org/datasets/eval-set.tar.gz | tar -xz -C /app/data  ⟦N curl_pipe_tar⟧

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

# the token is a build secret: not in any layer
RUN --mount=type=secret,id=hf_token HF_TOKEN=$(cat /run/secrets/hf_token) python download_model.py  ⟦N hf_token_build_secret kind=secret⟧

COPY . .
RUN python -m compileall -q /app

# cache location, not a credential
ENV HF_HOME=/models/cache  ⟦N env_hf_home_not_secret kind=secret⟧

RUN useradd --uid 1000 --create-home app
RUN mkdir -p /models/cache
RUN chown -R 1000:1000 /app /models
USER 1000:1000  ⟦N dockerfile_user_nonroot⟧
CMD ["python", "serve.py"]
"""

MANIFESTS["manifest/compose/tgi/docker-compose.yml"] = """\
services:
  tgi:
    container_name: tgi
    restart: unless-stopped
    image: ghcr.io/huggingface/text-generation-inference:latest  ⟦P image_latest_tag_compose⟧
    shm_size: 1g
    ports:
      - "8080:80"
    volumes:
      - ./data:/data
    command: >-  ⟦P tgi_trust_remote_code_compose span=2⟧
      --model-id acme-research/chat-7b
      --trust-remote-code
    environment:
      - MAX_INPUT_TOKENS=4096
      - MAX_TOTAL_TOKENS=8192
      - NUM_SHARD=1
      - HF_TOKEN=<<hf:compose>>  ⟦P hf_token_literal_compose kind=secret⟧
"""

MANIFESTS["manifest/compose/jupyter/docker-compose.yml"] = """\
services:
  notebook:
    container_name: notebook
    image: quay.io/jupyter/pytorch-notebook:2025-03-10
    ports:
      - "8888:8888"
    volumes:
      - ./work:/home/jovyan/work
    command: start-notebook.py --IdentityProvider.token='' --ServerApp.password=''  ⟦P jupyter_token_empty_compose⟧
"""

MANIFESTS["manifest/compose/mlflow/docker-compose.yml"] = """\
services:
  mlflow:
    container_name: mlflow
    image: ghcr.io/mlflow/mlflow:v3.11.0
    ports:
      - "5000:5000"
    volumes:
      - ./mlruns:/mlruns
    command: mlflow server --host 0.0.0.0 --port 5000 --backend-store-uri sqlite:////mlruns/mlflow.db  ⟦P mlflow_server_public_no_auth⟧
"""

MANIFESTS["manifest/compose/safe/docker-compose.yml"] = """\
services:
  tgi:
    container_name: tgi
    restart: unless-stopped
    image: ghcr.io/huggingface/text-generation-inference@sha256:<<digest:tgi-compose>>  ⟦N image_digest_pinned_compose⟧
    shm_size: 1g
    ports:
      - "127.0.0.1:8080:80"
    command: --model-id acme-research/chat-7b --revision <<sha40:tgi-compose>>
    environment:
      - NUM_SHARD=1
      - HF_TOKEN=${HF_TOKEN}  ⟦N hf_token_interpolated_compose kind=secret⟧
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost/health"]

  notebook:
    container_name: notebook
    image: quay.io/jupyter/pytorch-notebook:2025-03-10
    ports:
      - "127.0.0.1:8888:8888"
    command: start-notebook.py --IdentityProvider.token=${JUPYTER_TOKEN}  ⟦N jupyter_token_from_env_compose⟧
    environment:
      - JUPYTER_TOKEN

  mlflow:
    container_name: mlflow
    image: ghcr.io/mlflow/mlflow:v3.11.0
    ports:
      - "127.0.0.1:5000:5000"
    command: mlflow server --host 127.0.0.1 --port 5000  ⟦N mlflow_server_localhost⟧
"""

# ---------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------

DEFAULT_KIND = {
    "code": "code",
    "notebook": "code",
    "secret": "secret",
    "deps": "vuln",
    "manifest": "config",
}


def _expand_advisories(text: str, advisories: dict[str, list[str]]) -> str:
    return re.sub(r"@@([\w.=-]+)@@", lambda m: ",".join(advisories[m.group(1)]) or "none", text)


def _finish(case: dict, rel: str) -> dict:
    category = rel.split("/", 1)[0]
    out = {
        "file": rel,
        "category": category,
        "label": case.pop("label"),
        "what": case.pop("what"),
        "kind": case.pop("kind", DEFAULT_KIND[category]),
    }
    out.update(case)
    return out


def write_text(root: Path, rel: str, template: str, advisories: dict[str, list[str]]) -> list[dict]:
    text, cases = strip_marks(fill(_expand_advisories(template, advisories)))
    check_gaps(rel, cases)
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return [_finish(c, rel) for c in cases]


def _lines(text: str) -> list[str]:
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def write_notebook(root: Path, rel: str, cells_spec: list[tuple]) -> list[dict]:
    png = _png()
    cells = []
    pending: list[tuple[dict, str]] = []  # (case, text of the line it is on)
    count = 0
    for idx, (ctype, source, outputs) in enumerate(cells_spec):
        src, src_cases = strip_marks(fill(source))
        for c in src_cases:
            c.update(cell=idx + 1, where="source", cell_line=c.pop("line"))
            pending.append((c, src.split("\n")[c["cell_line"] - 1]))
        cell: dict = {"cell_type": ctype, "metadata": {}, "source": _lines(src)}
        if ctype == "code":
            count += 1
            cell["execution_count"] = count
            cell["id"] = hashlib.sha1(f"{rel}:{idx}".encode()).hexdigest()[:8]
            outs = []
            for out in outputs:
                text, out_cases = strip_marks(fill(out[-1]).replace("@@PNG@@", png))
                for c in out_cases:
                    c.update(cell=idx + 1, where="output", cell_line=c.pop("line"))
                    pending.append((c, text.split("\n")[c["cell_line"] - 1]))
                if out[0] == "stream":
                    outs.append({"name": "stdout", "output_type": "stream", "text": _lines(text)})
                else:
                    outs.append(
                        {
                            "data": {out[1]: text if out[1] == "image/png" else _lines(text)},
                            "execution_count": count,
                            "metadata": {},
                            "output_type": "execute_result",
                        }
                    )
            cell["outputs"] = outs
        else:
            cell["id"] = hashlib.sha1(f"{rel}:{idx}".encode()).hexdigest()[:8]
        cells.append(cell)
    nb = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python", "version": "3.11.9"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    raw = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    raw_lines = raw.split("\n")
    cases = []
    for case, line_text in pending:
        needle = json.dumps(line_text.rstrip("\n"), ensure_ascii=False)[1:-1]
        hits = [i + 1 for i, rl in enumerate(raw_lines) if needle and needle in rl]
        if len(hits) != 1:
            raise SystemExit(
                f"{rel}: cannot place case {case['what']} in the notebook JSON ({len(hits)} matches)"
            )
        case["line"] = hits[0]
        cases.append(_finish(case, rel))
    check_gaps(rel, cases)
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(raw, encoding="utf-8")
    return cases


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit("usage: make_corpus.py OUT_DIR")
    root = Path(sys.argv[1])
    root.mkdir(parents=True, exist_ok=True)
    advisories = json.loads((HERE / "advisories.json").read_text())
    cases: list[dict] = []
    for group in (CODE, SECRETS, DEPS, MANIFESTS):
        for rel, template in group.items():
            cases += write_text(root, rel, template, advisories)
    for rel, spec in NOTEBOOKS.items():
        cases += write_notebook(root, rel, spec)
    if GAP_ERRORS:
        raise SystemExit("\n".join(GAP_ERRORS))
    for i, case in enumerate(cases):
        case["id"] = f"{i + 1:03d}"
    manifest = {
        "generator": "bench/code/make_corpus.py",
        "advisory_db": "PyPA advisory-database snapshot 57da901a (2026-07-23), via bench/code/advisories.json",
        "cases": cases,
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    by: dict[str, list[int]] = {}
    for c in cases:
        by.setdefault(c["category"], [0, 0])[c["label"] == "negative"] += 1
    total = sum(p + n for p, n in by.values())
    print(
        f"{root}: {total} cases in {len({c['file'] for c in cases})} files; "
        + ", ".join(f"{k}: {p}+/{n}-" for k, (p, n) in sorted(by.items()))
    )


if __name__ == "__main__":
    main()
