"""ML code rules on Python source: every rule fires on its pattern and stays quiet on the
look-alike, aliases resolve, taint follows data across statements, bad input never raises."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dozor
from dozor import taxonomy
from dozor.findings import Location, Severity
from dozor.scan.base import Blob, ScanContext
from dozor.scan.code.python_rules import MAX_SOURCE_BYTES, analyze_source, scan_python
from dozor.scan.code.rules import RULES, Hit

SHA = "0123456789abcdef0123456789abcdef01234567"


def hits(source: str) -> list[Hit]:
    found, error = analyze_source(textwrap.dedent(source))
    assert not error, error
    return found


def ids(source: str) -> set[str]:
    return {h.rule.id for h in hits(source)}


# (rule, source that must fire it)
FIRING = [
    # deserialisation
    ("DZ-CODE-001", "import pickle\npickle.load(open('m.pkl', 'rb'))"),
    ("DZ-CODE-001", "import pickle\ndef f(b):\n    return pickle.loads(b)"),
    ("DZ-CODE-001", "import cPickle\ncPickle.load(f)"),
    ("DZ-CODE-001", "import dill\ndill.load(f)"),
    ("DZ-CODE-001", "import cloudpickle\ncloudpickle.loads(b)"),
    ("DZ-CODE-001", "from joblib import load as jl\nmodel = jl('model.joblib')"),
    ("DZ-CODE-001", "import pandas as pd\ndf = pd.read_pickle('x.pkl')"),
    ("DZ-CODE-001", "import shelve\ndb = shelve.open('cache')"),
    ("DZ-CODE-001", "import numpy as np\nnp.load('a.npy', allow_pickle=True)"),
    ("DZ-CODE-001", "import marshal\ncode = marshal.loads(blob)"),
    ("DZ-CODE-001", "import yaml\nyaml.load(text)"),
    ("DZ-CODE-001", "import yaml\nyaml.load(text, Loader=yaml.Loader)"),
    ("DZ-CODE-001", "import yaml\nyaml.load(text, yaml.UnsafeLoader)"),
    ("DZ-CODE-001", "import yaml\nyaml.unsafe_load(text)"),
    ("DZ-CODE-001", "from tensorflow import keras\n"
                    "keras.models.load_model('m.keras', safe_mode=False)"),
    ("DZ-CODE-001", "import tensorflow as tf\ntf.keras.models.load_model(p, safe_mode=False)"),
    ("DZ-CODE-001", "FAISS.load_local('idx', emb, allow_dangerous_deserialization=True)"),
    ("DZ-CODE-001", "def test(d):\n    yaml = pytest.importorskip('yaml')\n"
                    "    yaml.load(d, Loader=yaml.Loader)"),
    ("DZ-CODE-002", "import torch\ntorch.load('m.pt', weights_only=False)"),
    ("DZ-CODE-003", "import torch as t\nt.load('m.pt')"),
    ("DZ-CODE-003", "from torch import load\nload('m.pt', map_location='cpu')"),
    ("DZ-CODE-004", "import yaml\nyaml.full_load(text)"),
    ("DZ-CODE-004", "import yaml\nyaml.load(text, Loader=yaml.FullLoader)"),
    ("DZ-CODE-005", "import torch\ntorch.jit.load('m.pt')"),
    # remote code and pinning
    ("DZ-CODE-010", "from transformers import AutoModel\n"
                    "AutoModel.from_pretrained('org/m', trust_remote_code=True)"),
    ("DZ-CODE-010", "from vllm import LLM\nLLM(model='org/m', trust_remote_code=True, "
                    "revision='main')"),
    ("DZ-CODE-010", "import datasets\ndatasets.load_dataset('org/d', trust_remote_code=True)"),
    ("DZ-CODE-010", "import torch\ntorch.hub.load('pytorch/vision', 'resnet18')"),
    ("DZ-CODE-010", "import subprocess\nsubprocess.run(['vllm', 'serve', m, "
                    "'--trust-remote-code'])"),
    ("DZ-CODE-010", "import os\nos.system(f'vllm serve {m} --trust-remote-code')"),
    ("DZ-CODE-010", "cmd = 'python -m sglang.launch_server --model org/m --trust-remote-code'"),
    ("DZ-CODE-010", "pipe(model_kwargs={'trust_remote_code': True})"),
    ("DZ-CODE-011", f"AutoModel.from_pretrained('org/m', trust_remote_code=True, "
                    f"revision='{SHA}')"),
    ("DZ-CODE-011", f"import torch\ntorch.hub.load('org/repo:{SHA}', 'net')"),
    ("DZ-CODE-012", "from transformers import AutoModel\nAutoModel.from_pretrained('org/m')"),
    ("DZ-CODE-012", "MODEL = 'org/m'\ndef f():\n    return AutoTokenizer.from_pretrained(MODEL)"),
    ("DZ-CODE-012", "AutoModel.from_pretrained('org/m', revision='v1.0')"),
    ("DZ-CODE-012", "from huggingface_hub import hf_hub_download\n"
                    "hf_hub_download('org/m', 'model.safetensors')"),
    ("DZ-CODE-012", "from huggingface_hub import snapshot_download\n"
                    "snapshot_download(repo_id='org/m')"),
    ("DZ-CODE-012", "from transformers import pipeline\n"
                    "pipeline('text-generation', model='org/m')"),
    # taint
    ("DZ-CODE-020", """
        from openai import OpenAI
        client = OpenAI()
        def run(q):
            resp = client.chat.completions.create(model="m", messages=[q])
            code = resp.choices[0].message.content
            exec(code)
        """),
    ("DZ-CODE-020", """
        import subprocess
        def agent(chain, q):
            answer = chain.invoke({"q": q})
            cmd = "bash -c " + answer.strip()
            subprocess.run(cmd, shell=True)
        """),
    ("DZ-CODE-020", """
        import os
        def tool(llm, q):
            plan, _ = llm.predict(q), 1
            os.system(f"echo {plan}")
        """),
    ("DZ-CODE-020", """
        import anthropic
        c = anthropic.Anthropic()
        def f():
            msg = c.messages.create(model="m", max_tokens=9, messages=[])
            text = msg.content[0].text
            expr = "{}".format(text)
            return eval(str(expr))
        """),
    ("DZ-CODE-020", """
        import openai
        def f(p):
            r = openai.ChatCompletion.create(model="m", messages=p)
            parts = []
            for choice in r["choices"]:
                parts.append(choice["message"]["content"])
            exec("\\n".join(parts))
        """),
    ("DZ-CODE-021", """
        def f(llm, cursor, q):
            sql = llm.invoke(q).content
            cursor.execute(sql)
        """),
    ("DZ-CODE-021", """
        import pandas as pd
        def f(agent, conn):
            name = agent.run("which table?")
            return pd.read_sql(f"SELECT * FROM {name}", conn)
        """),
    ("DZ-CODE-022", """
        from flask import request
        import subprocess
        def view():
            host = request.args.get("host")
            return subprocess.check_output("ping -c1 %s" % host, shell=True)
        """),
    ("DZ-CODE-022", "exec(input())"),
    ("DZ-CODE-022", """
        import requests
        exec(requests.get("https://example.com/x.py").text)
        """),
    ("DZ-CODE-022", """
        def view(request):
            return eval(request.GET["expr"])
        """),
    ("DZ-CODE-020", """
        from openai import OpenAI
        client = OpenAI()
        def ask(prompt):
            resp = client.chat.completions.create(model="m", messages=[prompt])
            return resp.choices[0].message.content
        def solve(question):
            answer = ask(f"Write one Python expression for: {question}")
            return eval(answer)
        """),
    ("DZ-CODE-022", """
        from fastapi import FastAPI
        api = FastAPI()
        @api.post("/feature")
        async def feature(body: dict):
            return {"value": eval(body["formula"])}
        """),
    ("DZ-CODE-023", """
        from flask import Flask
        app = Flask(__name__)
        @app.route("/user/<name>")
        def show(name):
            cur = get_db().cursor()
            cur.execute(f"SELECT * FROM users WHERE name = '{name}'")
        """),
    ("DZ-CODE-023", """
        from flask import request
        def view(db):
            name = request.form["name"]
            cur = db.cursor()
            cur.execute("SELECT * FROM users WHERE name = '" + name + "'")
        """),
    ("DZ-CODE-023", """
        from flask import request
        def view(cursor):
            data = request.get_json()
            cursor.executemany(f"INSERT INTO t VALUES ({data['v']})", [])
        """),
    # agents
    ("DZ-CODE-030", "from langchain_experimental.tools import PythonREPLTool\n"
                    "tools = [PythonREPLTool()]"),
    ("DZ-CODE-030", "from langchain_experimental.tools.python.tool import PythonAstREPLTool\n"
                    "t = PythonAstREPLTool(locals={})"),
    ("DZ-CODE-030", "from langchain_community.tools import ShellTool\nShellTool()"),
    ("DZ-CODE-030", "create_pandas_dataframe_agent(llm, df, allow_dangerous_code=True)"),
    ("DZ-CODE-030", "RequestsToolkit(requests_wrapper=w, allow_dangerous_requests=True)"),
    ("DZ-CODE-030", "import autogen\nautogen.UserProxyAgent('u', code_execution_config="
                    "{'work_dir': 'x', 'use_docker': False})"),
    ("DZ-CODE-030", "from smolagents import CodeAgent\nCodeAgent(tools=[], model=m, "
                    "additional_authorized_imports=['*'])"),
    ("DZ-CODE-030", "from crewai_tools import CodeInterpreterTool\n"
                    "CodeInterpreterTool(unsafe_mode=True)"),
    ("DZ-CODE-030", "from langchain.agents import load_tools\nload_tools(['terminal', 'serpapi'])"),
    ("DZ-CODE-031", "from langchain.chains import LLMMathChain\nLLMMathChain.from_llm(llm)"),
    ("DZ-CODE-031", "from crewai_tools import CodeInterpreterTool\nCodeInterpreterTool()"),
    # exposure
    ("DZ-CODE-040", "from flask import Flask\napp = Flask(__name__)\n"
                    "app.run(host='0.0.0.0', debug=True)"),
    ("DZ-CODE-040", "HOST = '0.0.0.0'\napp.run_server(host=HOST, debug=True)"),
    ("DZ-CODE-041", "import gradio as gr\ngr.Interface(fn=f, inputs='text', outputs='text')"
                    ".launch(share=True)"),
    ("DZ-CODE-041", "demo.launch(server_name='0.0.0.0', server_port=7860)"),
    ("DZ-CODE-042", "import ray\nray.init(dashboard_host='0.0.0.0')"),
    ("DZ-CODE-042", "import subprocess\nsubprocess.run('ray start --head "
                    "--dashboard-host=0.0.0.0', shell=True)"),
    ("DZ-CODE-043", "c = get_config()\nc.NotebookApp.token = ''"),
    ("DZ-CODE-043", "c.ServerApp.token = ''"),
    ("DZ-CODE-043", "args = ['jupyter', 'lab', \"--ServerApp.token=''\", '--ip=0.0.0.0']"),
    ("DZ-CODE-044", "import os\nos.system('mlflow server --host 0.0.0.0 --port 5000')"),
    ("DZ-CODE-045", "import uvicorn\nuvicorn.run(app, host='0.0.0.0', port=8000)"),
    # hygiene
    ("DZ-CODE-050", "import requests\nrequests.get(url, verify=False)"),
    ("DZ-CODE-050", "session.get(url, verify=False, timeout=5)"),
    ("DZ-CODE-051", "import tempfile\npath = tempfile.mktemp()"),
    ("DZ-CODE-052", "import tarfile\nwith tarfile.open(p) as archive:\n"
                    "    archive.extractall('models')"),
    ("DZ-CODE-052", "import tarfile\ntarfile.open(p).extractall(d)"),
    ("DZ-CODE-052", "tar.extractall(path=d, filter='fully_trusted')"),
    ("DZ-CODE-052", "import shutil\nshutil.unpack_archive('weights.tar.gz', 'w')"),
]

# (rule, source that must NOT fire it)
QUIET = [
    ("DZ-CODE-001", "import pickle\ndata = pickle.dumps(obj)"),
    ("DZ-CODE-001", "import pickle\ncopy = pickle.loads(pickle.dumps(obj))"),
    ("DZ-CODE-001", "import pickle\ndef f(o):\n    b = pickle.dumps(o)\n"
                    "    return pickle.loads(b)"),
    ("DZ-CODE-001", "import numpy as np\nnp.load('a.npy')"),
    ("DZ-CODE-001", "import numpy as np\nnp.load('a.npy', allow_pickle=False)"),
    ("DZ-CODE-001", "import yaml\nyaml.safe_load(text)"),
    ("DZ-CODE-001", "import yaml\nyaml.load(text, Loader=yaml.SafeLoader)"),
    ("DZ-CODE-001", "import yaml\nyaml.load(text, yaml.CSafeLoader)"),
    ("DZ-CODE-001", "import json\njson.load(f)"),
    ("DZ-CODE-001", "import keras\nkeras.models.load_model('m.keras')"),
    ("DZ-CODE-001", "def load(p): pass\nload('x')"),
    ("DZ-CODE-001", "from .pickle import load\nload(f)"),
    ("DZ-CODE-001", "from ruamel.yaml import YAML\nyaml = YAML(typ='safe')\ncfg = yaml.load(f)"),
    ("DZ-CODE-001", "def f(path):\n    yaml = YAML()\n    return yaml.load(path)"),
    ("DZ-CODE-001", "def f(pickle):\n    return pickle.load(x)"),
    ("DZ-CODE-002", "import torch\ntorch.load('m.pt', weights_only=True)"),
    ("DZ-CODE-003", "import torch\ntorch.load('m.pt', weights_only=True)"),
    ("DZ-CODE-003", "import torch\ntorch.load('m.pt', **kwargs)"),
    ("DZ-CODE-003", "import torch\ntorch.save(model, 'm.pt')"),
    ("DZ-CODE-004", "import yaml\nyaml.safe_load(text)"),
    ("DZ-CODE-005", "import torch\ntorch.jit.script(fn)"),
    ("DZ-CODE-010", "AutoModel.from_pretrained('org/m', trust_remote_code=False)"),
    ("DZ-CODE-010", "import argparse\np = argparse.ArgumentParser()\n"
                    "p.add_argument('--trust-remote-code', action='store_true')"),
    ("DZ-CODE-010", "HELP = 'Pass --trust-remote-code to allow custom models.'"),
    ("DZ-CODE-010", "import torch\ntorch.hub.load('./local', 'net', source='local')"),
    ("DZ-CODE-010", "def f():\n    '''Run: vllm serve m --trust-remote-code'''"),
    ("DZ-CODE-011", "AutoModel.from_pretrained('org/m', trust_remote_code=True, revision='main')"),
    ("DZ-CODE-012", f"AutoModel.from_pretrained('org/m', revision='{SHA}')"),
    ("DZ-CODE-012", "AutoModel.from_pretrained('./outputs/final')"),
    ("DZ-CODE-012", "AutoModel.from_pretrained('outputs/checkpoint-500')"),
    ("DZ-CODE-012", "AutoModel.from_pretrained(args.model_name_or_path)"),
    ("DZ-CODE-012", "AutoModel.from_pretrained('org/m', revision=args.revision)"),
    ("DZ-CODE-012", "AutoModel.from_pretrained('org/m', **hub_kwargs)"),
    ("DZ-CODE-012", "from datasets import load_dataset\nload_dataset('csv', data_files='a.csv')"),
    ("DZ-CODE-020", "eval_loss = trainer.evaluate()['eval_loss']\nmodel.eval()"),
    ("DZ-CODE-020", """
        def f(client, q):
            resp = client.chat.completions.create(model="m", messages=[q])
            n = int(resp.choices[0].message.content)
            exec("x = 1")
            return n
        """),
    ("DZ-CODE-020", """
        import subprocess
        def f(chain, q):
            path = chain.invoke(q)
            subprocess.run(["cat", path])
        """),
    ("DZ-CODE-020", """
        import ast
        def f(llm, q):
            value = ast.literal_eval(llm.invoke(q))
            print(value)
        """),
    ("DZ-CODE-020", """
        def f(llm, q):
            text = llm.invoke(q)
            text = "constant"
            eval(text)
        """),
    ("DZ-CODE-020", """
        def f(client, q):
            resp = client.chat.completions.create(model="m", messages=[q])
        def g(resp):
            eval(resp)
        """),
    ("DZ-CODE-020", "import re\ndef f(llm):\n    re.compile(llm.invoke('x'))"),
    ("DZ-CODE-020", "import pandas as pd\ndef f(df, llm):\n    df.eval(llm.invoke('x'))"),
    ("DZ-CODE-021", """
        def f(llm, cursor, q):
            name = llm.invoke(q)
            cursor.execute("SELECT * FROM t WHERE name = ?", (name,))
        """),
    ("DZ-CODE-022", "def eval(x): return x\neval(input())"),
    ("DZ-CODE-022", """
        @router.get("/items/{item_id}")
        def item(item_id: int, db: Session = Depends(get_db)):
            return eval(f"{item_id} * 2"), db.execute(f"SELECT {item_id}")
        """),
    ("DZ-CODE-022", """
        def helper(x):
            return x
        def f(formula):
            eval(helper(formula))
        """),
    ("DZ-CODE-020", """
        def ask(client):
            return "static answer"
        def f(client):
            exec(ask(client))
        """),
    ("DZ-CODE-023", """
        from flask import request
        def view(cur):
            cur.execute("SELECT * FROM t WHERE id = %s", (request.args["id"],))
        """),
    ("DZ-CODE-030", "create_pandas_dataframe_agent(llm, df, allow_dangerous_code=False)"),
    ("DZ-CODE-030", "from smolagents import CodeAgent\nCodeAgent(tools=[], model=m, "
                    "additional_authorized_imports=['numpy'])"),
    ("DZ-CODE-030", "import autogen\nautogen.UserProxyAgent('u', code_execution_config="
                    "{'use_docker': True})"),
    ("DZ-CODE-030", "class PythonREPLTool: pass\nPythonREPLTool()"),
    ("DZ-CODE-030", "from langchain.agents import load_tools\nload_tools(['serpapi', 'llm-math'])"),
    ("DZ-CODE-031", "from langchain.chains import LLMChain\nLLMChain(llm=llm, prompt=p)"),
    ("DZ-CODE-040", "app.run(debug=True)"),
    ("DZ-CODE-040", "app.run(host='0.0.0.0')"),
    ("DZ-CODE-041", "demo.launch(share=True, auth=('u', 'p'))"),
    ("DZ-CODE-041", "demo.launch()"),
    ("DZ-CODE-041", "demo.launch(server_name='127.0.0.1')"),
    ("DZ-CODE-042", "import ray\nray.init(dashboard_host='127.0.0.1')"),
    ("DZ-CODE-043", "c.NotebookApp.token = 'abc'"),
    ("DZ-CODE-043", "token = ''"),
    ("DZ-CODE-044", "print('mlflow server is at http://0.0.0.0:5000')"),
    ("DZ-CODE-044", "import os\nos.system('mlflow server --host 127.0.0.1')"),
    ("DZ-CODE-045", "import uvicorn\nuvicorn.run(app, host='127.0.0.1')"),
    ("DZ-CODE-050", "import requests\nrequests.get(url, verify=True)"),
    ("DZ-CODE-050", "check(model, verify=False)"),
    ("DZ-CODE-051", "import tempfile\nfd, path = tempfile.mkstemp()"),
    ("DZ-CODE-052", "import tarfile\nwith tarfile.open(p) as archive:\n"
                    "    archive.extractall('models', filter='data')"),
    ("DZ-CODE-052", "import zipfile\nzipfile.ZipFile(p).extractall(d)"),
    ("DZ-CODE-052", "text = series.str.extract(pattern)"),
    ("DZ-CODE-052", "import shutil\nshutil.unpack_archive('weights.zip', 'w')"),
]


@pytest.mark.parametrize(("rule", "source"), FIRING)
def test_rule_fires(rule: str, source: str) -> None:
    assert rule in ids(source)


@pytest.mark.parametrize(("rule", "source"), QUIET)
def test_rule_stays_quiet(rule: str, source: str) -> None:
    assert rule not in ids(source)


def test_every_rule_has_a_firing_and_a_quiet_case() -> None:
    checked = {r for r, _ in FIRING} & {r for r, _ in QUIET}
    assert set(RULES) - {"DZ-CODE-090"} <= checked


def test_rule_metadata_is_complete_and_taxonomy_known() -> None:
    for rule in RULES.values():
        assert rule.id.startswith("DZ-CODE-0") and rule.title and rule.remediation
        assert taxonomy.unknown(rule.taxonomy) == []


def test_benign_ml_script_has_nothing_at_medium_or_above() -> None:
    source = f"""
        import json, pickle, torch, yaml
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from safetensors.torch import load_file

        MODEL = "org/model"
        cfg = yaml.safe_load(open("cfg.yaml"))
        tok = AutoTokenizer.from_pretrained(MODEL, revision="{SHA}")
        model = AutoModelForCausalLM.from_pretrained(MODEL, revision="{SHA}")
        state = torch.load("ckpt.pt", weights_only=True, map_location="cpu")
        model.load_state_dict(load_file("model.safetensors"))
        model.eval()
        eval_loss = 0.0
        for batch in loader:
            eval_loss += model(**batch).loss.item()
        blob = pickle.dumps(state)
        print(json.dumps({{"eval_loss": eval_loss}}))
    """
    assert [h for h in hits(source) if h.rule.severity >= Severity.MEDIUM] == []


def test_aliases_resolve_to_the_real_callee() -> None:
    found = hits("""
        import torch as t
        from joblib import load as jl
        from numpy import load as npl
        t.load("a")
        jl("b")
        npl("c", allow_pickle=True)
    """)
    assert [(h.line, h.rule.id) for h in found] == [
        (5, "DZ-CODE-003"), (6, "DZ-CODE-001"), (7, "DZ-CODE-001")]
    assert dict(found[1].details)["call"] == "joblib.load"


def test_torch_message_names_the_cve() -> None:
    (hit,) = hits("import torch\ntorch.load('m.pt')")
    assert "CVE-2025-32434" in hit.evidence
    assert "2.6" in RULES["DZ-CODE-002"].remediation


def test_taint_evidence_names_source_and_sink_lines() -> None:
    found = hits("""
        import os
        def handle(client, q):
            r = client.chat.completions.create(model="m", messages=[q])
            text = r.choices[0].message.content
            a, b = text.split(" ", 1)
            os.system(a)
    """)
    (hit,) = [h for h in found if h.rule.id == "DZ-CODE-020"]
    assert (hit.source_line, hit.line) == (4, 7)
    assert "client.chat.completions.create()" in hit.evidence and "os.system" in hit.evidence


def test_taint_through_branches_and_loops() -> None:
    found = ids("""
        def f(llm, flag):
            cmd = "true"
            if flag:
                cmd = llm.invoke("x")
            else:
                pass
            exec(cmd)
    """)
    assert "DZ-CODE-020" in found
    loop = ids("""
        def f(llm):
            code = ""
            for i in range(3):
                exec(code)
                code = llm.invoke("next")
    """)
    assert "DZ-CODE-020" in loop


def test_unparseable_source_is_info_only() -> None:
    for source in ("print 'python 2'\n", "{% if x %}\nimport os\n{% endif %}\n", "x = (\n"):
        found, error = analyze_source(source)
        assert found == [] and error


def _scan(data: bytes) -> list:
    ctx = ScanContext()
    return list(scan_python(Blob(data, Location("x.py"), name="x.py"), ctx))


def test_handler_reports_syntax_errors_as_info_and_lines_as_locations() -> None:
    (info,) = _scan(b"print 'hi'\n")
    assert (info.rule_id, info.severity) == ("DZ-CODE-090", Severity.INFO)
    (hit,) = _scan(b"import pickle\n\npickle.load(f)\n")
    assert (hit.rule_id, hit.location.line, hit.severity) == ("DZ-CODE-001", 3, Severity.HIGH)
    assert hit.scanner == "python-code" and "ML06:2023" in hit.taxonomy


def test_handler_limits() -> None:
    (big,) = _scan(b"#" * (MAX_SOURCE_BYTES + 1))
    assert big.rule_id == "DZ-CODE-090"
    deep = b"x = " + b"(" * 5000 + b")" * 5000 + b"\n"
    assert {f.rule_id for f in _scan(deep)} <= {"DZ-CODE-090"}
    chain = b"import os\nos.system(" + b"a + " * 30000 + b"a)\n"
    assert {f.rule_id for f in _scan(chain)} <= {"DZ-CODE-090"}
    assert {f.rule_id for f in _scan(b"x = 1\x00\n")} <= {"DZ-CODE-090"}
    latin = "# -*- coding: latin-1 -*-\nimport pickle\ns = 'caf\xe9'\npickle.load(f)\n"
    assert [f.rule_id for f in _scan(latin.encode("latin-1"))] == ["DZ-CODE-001"]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400))
def test_random_text_never_raises(text: str) -> None:
    analyze_source(text)
    _scan(text.encode("utf-8", "surrogatepass"))


_PIECES = st.sampled_from([
    "import torch as t\n", "t.load(x)\n", "def f(llm):\n", "    a = llm.invoke(q)\n",
    "    exec(a)\n", "eval(", ")\n", "x = [", "]\n", "'--trust-remote-code'", "if a:\n",
    "    pass\n", "for i in a:\n", "    b = a + i\n", "import os\n", "os.system(b)\n",
    "request.args", "f'{a}'", "yaml.load(s)\n", "c.NotebookApp.token = ''\n",
])


@settings(max_examples=150, deadline=None)
@given(st.lists(_PIECES, max_size=25))
def test_random_code_fragments_never_raise(pieces: list[str]) -> None:
    found, _ = analyze_source("".join(pieces))
    assert all(isinstance(h, Hit) for h in found)


def test_end_to_end_scan_routes_python_and_notebooks(tmp_path: Path) -> None:
    import json

    (tmp_path / "train.py").write_text("import torch\nstate = torch.load('m.pt')\n")
    notebook = {
        "nbformat": 4, "nbformat_minor": 5, "metadata": {},
        "cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": 1,
                   "source": ["import pickle\n", "model = pickle.load(open('m.pkl', 'rb'))\n"]}],
    }
    (tmp_path / "explore.ipynb").write_text(json.dumps(notebook))
    report = dozor.scan(tmp_path, workers=1)  # type: ignore[operator]  # callable package
    where = {(f.rule_id, str(f.location)) for f in report.findings}
    assert ("DZ-CODE-003", f"{tmp_path / 'train.py'}:2") in where
    assert ("DZ-CODE-001", f"{tmp_path / 'explore.ipynb'}!cell 1:2") in where
    formats = {Path(s.path).name: s.formats for s in report.files}
    assert "python-code" in formats["train.py"] and formats["explore.ipynb"] == ("notebook",)
