"""Chat-template analysis: escapes are caught, real-world-style templates stay silent.

The benign templates below are written for these tests in the style of the templates
that ship with popular open models (ChatML, Llama 3/3.1, Mistral, Gemma, Qwen 2.5 with
tools, DeepSeek, Phi-3, Hermes with tool calls, SmolLM with {% generation %}). They use
the constructs real templates use, so a rule that fires on any of them is too noisy.
"""

# The fixture templates keep the long lines real templates have.
# ruff: noqa: E501

from __future__ import annotations

import json

import pytest

from dozor.findings import Finding, Location, Severity
from dozor.scan.base import Blob, ScanContext
from dozor.scan.models.jinja_template import (
    CODE_EXECUTION,
    LOADER,
    SUSPICIOUS,
    UNPARSEABLE,
    analyze_template,
)
from dozor.scan.models.tokenizer_config import scan_chat_template_text, scan_tokenizer_config

CHATML = (
    "{% for message in messages %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

LLAMA3 = """{% set loop_messages = messages %}
{% for message in loop_messages %}
  {% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' %}
  {% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}
  {{ content }}
{% endfor %}
{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"""

LLAMA31_TOOLS = """{{- bos_token }}
{%- if custom_tools is defined %}{%- set tools = custom_tools %}{%- endif %}
{%- if not tools_in_user_message is defined %}{%- set tools_in_user_message = true %}{%- endif %}
{%- if not date_string is defined %}
    {%- if strftime_now is defined %}
        {%- set date_string = strftime_now("%d %b %Y") %}
    {%- else %}
        {%- set date_string = "26 Jul 2024" %}
    {%- endif %}
{%- endif %}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}
{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
{%- if builtin_tools is defined or tools is not none %}
    {{- "Environment: ipython\\n" }}
{%- endif %}
{%- if builtin_tools is defined %}
    {{- "Tools: " + builtin_tools | reject('equalto', 'code_interpreter') | join(", ") + "\\n\\n"}}
{%- endif %}
{{- "Cutting Knowledge Date: December 2023\\n" }}
{{- "Today Date: " + date_string + "\\n\\n" }}
{{- system_message }}
{{- "<|eot_id|>" }}
{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- if not message.tool_calls|length == 1 %}
            {{- raise_exception("This model only supports single tool-calls at once!") }}
        {%- endif %}
        {%- set tool_call = message.tool_calls[0].function %}
        {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}
        {{- '{"name": "' + tool_call.name + '", ' }}
        {{- '"parameters": ' }}
        {{- tool_call.arguments | tojson }}
        {{- "}" }}
        {{- "<|eot_id|>" }}
    {%- elif message.role == "tool" or message.role == "ipython" %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\\n\\n" }}
        {%- if message.content is mapping or message.content is iterable %}
            {{- message.content | tojson }}
        {%- else %}
            {{- message.content }}
        {%- endif %}
        {{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
{%- endif %}"""

MISTRAL = """{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content'] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set loop_messages = messages %}
{%- endif %}
{{- bos_token }}
{%- for message in loop_messages %}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
        {{- raise_exception('After the optional system message, conversation roles must alternate user/assistant/user/assistant...') }}
    {%- endif %}
    {%- if message['role'] == 'user' %}
        {%- if loop.first and system_message is defined %}
            {{- ' [INST] ' + system_message + '\\n\\n' + message['content'] + ' [/INST]' }}
        {%- else %}
            {{- ' [INST] ' + message['content'] + ' [/INST]' }}
        {%- endif %}
    {%- elif message['role'] == 'assistant' %}
        {{- ' ' + message['content'] + eos_token}}
    {%- else %}
        {{- raise_exception('Only user and assistant roles are supported, with the exception of an initial optional system message!') }}
    {%- endif %}
{%- endfor %}"""

GEMMA = """{{ bos_token }}
{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}
{% for message in messages %}
  {% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
    {{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}
  {% endif %}
  {% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}
  {{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}
{% endfor %}
{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}"""

QWEN25_TOOLS = """{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are a helpful assistant.' }}
    {%- endif %}
    {{- "\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools>\\n\\nFor each function call, return a json object within <tool_call></tool_call> tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": <args-json-object>}\\n</tool_call><|im_end|>\\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
    {%- else %}
        {{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\\n<tool_call>\\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' }}
        {{- message.content }}
        {{- '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}"""

DEEPSEEK = """{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}
{% set ns = namespace(is_first=false, is_tool=false, is_output_first=true, system_prompt='', is_first_sp=true) %}
{%- for message in messages %}
    {%- if message['role'] == 'system' %}
        {%- if ns.is_first_sp %}
            {% set ns.system_prompt = ns.system_prompt + message['content'] %}
            {% set ns.is_first_sp = false %}
        {%- else %}
            {% set ns.system_prompt = ns.system_prompt + '\\n\\n' + message['content'] %}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{{ bos_token }}{{ ns.system_prompt }}
{%- for message in messages %}
    {%- if message['role'] == 'user' %}
        {%- set ns.is_tool = false -%}{{'<|User|>' + message['content']}}
    {%- endif %}
    {%- if message['role'] == 'assistant' and 'tool_calls' in message %}
        {%- set ns.is_tool = false -%}
        {%- for tool in message['tool_calls'] %}
            {%- if not ns.is_first %}
                {{'<|Assistant|><|tool_calls_begin|><|tool_call_begin|>' + tool['type'] + '<|tool_sep|>' + tool['function']['name'] + '\\n' + '```json' + '\\n' + tool['function']['arguments'] + '\\n' + '```' + '<|tool_call_end|>'}}
                {%- set ns.is_first = true -%}
            {%- else %}
                {{'\\n' + '<|tool_call_begin|>' + tool['type'] + '<|tool_sep|>' + tool['function']['name'] + '\\n' + '```json' + '\\n' + tool['function']['arguments'] + '\\n' + '```' + '<|tool_call_end|>'}}
            {%- endif %}
        {%- endfor %}
        {{'<|tool_calls_end|><|end_of_sentence|>'}}
    {%- endif %}
    {%- if message['role'] == 'assistant' and 'tool_calls' not in message %}
        {%- set content = message['content'] %}
        {%- if '</think>' in content %}
            {% set content = content.split('</think>')[-1] %}
        {%- endif %}
        {{'<|Assistant|>' + content + '<|end_of_sentence|>'}}
    {%- endif %}
{%- endfor -%}
{% if add_generation_prompt and not ns.is_tool %}{{'<|Assistant|><think>\\n'}}{% endif %}"""

PHI3 = """{% for message in messages %}
{% if message['role'] == 'system' %}{{'<|system|>\\n' + message['content'] + '<|end|>\\n'}}
{% elif message['role'] == 'user' %}{{'<|user|>\\n' + message['content'] + '<|end|>\\n'}}
{% elif message['role'] == 'assistant' %}{{'<|assistant|>\\n' + message['content'] + '<|end|>\\n'}}
{% endif %}{% endfor %}
{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% else %}{{ eos_token }}{% endif %}"""

HERMES_TOOLS = """{%- macro json_to_python_type(json_spec) %}
{%- set basic_type_map = {"string": "str", "number": "float", "integer": "int", "boolean": "bool"} %}
{%- if basic_type_map[json_spec.type] is defined %}
    {{- basic_type_map[json_spec.type] }}
{%- elif json_spec.type == "array" %}
    {{- "list[" +  json_to_python_type(json_spec|items) + "]"}}
{%- elif json_spec.type == "object" %}
    {%- if json_spec.additionalProperties is defined %}
        {{- "dict[str, " + json_to_python_type(json_spec.additionalProperties) + ']'}}
    {%- else %}
        {{- "dict" }}
    {%- endif %}
{%- elif json_spec.type is iterable %}
    {{- "Union[" }}
    {%- for t in json_spec.type %}
      {{- json_to_python_type({"type": t}) }}
      {%- if not loop.last %}{{- "," }}{%- endif %}
    {%- endfor %}
    {{- "]" }}
{%- else %}
    {{- "Any" }}
{%- endif %}
{%- endmacro %}
{{- bos_token }}
{%- if tools is iterable and tools | length > 0 %}
    {{- '<|im_start|>system\\nYou are a function calling AI model. <tools> ' }}
    {%- for tool in tools %}
        {%- if tool.function is defined %}{%- set tool = tool.function %}{%- endif %}
        {{- '{"type": "function", "function": ' }}
        {{- '"name": "' + tool.name + '", ' }}
        {{- '"description": "' + tool.name + '(' }}
        {%- for param_name, param_fields in tool.parameters.properties|items %}
            {{- param_name + ": " + json_to_python_type(param_fields) }}
            {%- if not loop.last %}{{- ", " }}{%- endif %}
        {%- endfor %}
        {{- ")" }}
        {%- if tool.return is defined %}{{- " -> " + json_to_python_type(tool.return) }}{%- endif %}
        {{- " - " + tool.description + "\\n\\n" }}
        {%- for param_name, param_fields in tool.parameters.properties|items %}
            {%- if loop.first %}{{- "    Args:\\n" }}{%- endif %}
            {{- "        " + param_name + "(" + json_to_python_type(param_fields) + "): " + param_fields.description|trim }}
        {%- endfor %}
        {{- '"' }}
        {{- ', "parameters": ' }}
        {%- if tool.parameters.properties | length == 0 %}{{- "{}" }}{%- else %}{{- tool.parameters|tojson }}{%- endif %}
        {{- "}" }}
        {%- if not loop.last %}{{- "\\n" }}{%- endif %}
    {%- endfor %}
    {{- " </tools><|im_end|>\\n" }}
{%- endif %}
{%- set required = tools | selectattr('function.required', 'defined') | list %}
{%- for message in messages | rejectattr('role', 'equalto', 'tool') %}
    {%- if message.role == "assistant" and message.tool_calls is defined %}
        {{- '<|im_start|>' + message.role }}
        {%- for tool_call in message.tool_calls %}
            {{- '\\n<tool_call>\\n' }}
            {%- if tool_call.function is defined %}{%- set tool_call = tool_call.function %}{%- endif %}
            {{- '{"name": "' }}{{- tool_call.name }}{{- '"' }}
            {%- if tool_call.arguments is defined %}{{- ', "arguments": ' }}
                {%- if tool_call.arguments is string %}{{- tool_call.arguments }}{%- else %}{{- tool_call.arguments|tojson }}{%- endif %}
            {%- endif %}
            {{- '}\\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\\n' }}
    {%- else %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content.strip() + '<|im_end|>\\n' }}
    {%- endif %}
{%- endfor %}
{%- for m in messages | sort(attribute='role') | map(attribute='content') %}{%- endfor %}
{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"""

SMOL_GENERATION = """{% for message in messages %}
{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful AI assistant<|im_end|>\\n' }}{% endif %}
{% if message['role'] == 'assistant' %}{{ '<|im_start|>assistant\\n' }}{% generation %}{{ message['content'] | trim }}{% endgeneration %}{{ '<|im_end|>\\n' }}
{% else %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endif %}
{% if loop.last and message['role'] == 'user' %}{% break %}{% endif %}
{% endfor %}
{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"""

QWEN3_THINK = """{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- if ns.multi_step_tool and message.role == "user" and message.content is string and not(message.content.startswith('<tool_response>') and message.content.endswith('</tool_response>')) %}
        {%- set ns.multi_step_tool = false %}
        {%- set ns.last_query_index = index %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- if message.content is string %}{%- set content = message.content %}{%- else %}{%- set content = '' %}{%- endif %}
    {%- if message.role == "assistant" %}
        {%- set reasoning_content = '' %}
        {%- if message.reasoning_content is string %}
            {%- set reasoning_content = message.reasoning_content %}
        {%- elif '</think>' in content %}
            {%- set reasoning_content = content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') %}
            {%- set content = content.split('</think>')[-1].lstrip('\\n') %}
        {%- endif %}
        {%- if loop.index0 > ns.last_query_index %}
            {{- '<|im_start|>' + message.role + '\\n<think>\\n' + reasoning_content.strip('\\n') + '\\n</think>\\n\\n' + content.lstrip('\\n') }}
        {%- else %}
            {{- '<|im_start|>' + message.role + '\\n' + content }}
        {%- endif %}
        {{- '<|im_end|>\\n' }}
    {%- else %}
        {{- '<|im_start|>' + message.role + '\\n' + content + '<|im_end|>' + '\\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}
{%- endif %}"""

BENIGN = {
    "chatml": CHATML,
    "llama3": LLAMA3,
    "llama31_tools": LLAMA31_TOOLS,
    "mistral": MISTRAL,
    "gemma": GEMMA,
    "qwen25_tools": QWEN25_TOOLS,
    "deepseek": DEEPSEEK,
    "phi3": PHI3,
    "hermes_tools": HERMES_TOOLS,
    "smol_generation": SMOL_GENERATION,
    "qwen3_think": QWEN3_THINK,
}


@pytest.mark.parametrize("name", sorted(BENIGN))
def test_benign_templates_are_silent(name: str) -> None:
    assert analyze_template(BENIGN[name]) == []


def kinds(src: str) -> dict[str, Severity]:
    out: dict[str, Severity] = {}
    for issue in analyze_template(src):
        out[issue.kind] = max(out.get(issue.kind, issue.severity), issue.severity)
    return out


CRITICAL_PAYLOADS = [
    # CVE-2024-34359 proof-of-concept style
    "{% for x in ().__class__.__base__.__subclasses__() %}"
    "{% if 'warning' in x.__name__ %}{{ x()._module.__builtins__['__import__']('os')"
    ".popen('touch /tmp/x') }}{% endif %}{% endfor %}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__['os'].system('id') }}",
    "{{ lipsum['__globals__']['os'] }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ self._TemplateReference__context.cycler }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ x|attr('__globals__') }}",
    "{{ x|attr('\\x5f\\x5fglobals\\x5f\\x5f') }}",
    "{{ x|attr('__glo' ~ 'bals__') }}",
    "{{ x|attr('__glo' + 'bals__') }}",
    "{{ x|attr(['__glo', 'bals__']|join) }}",
    "{{ x|attr(['__glo', 'bals__']|join('')) }}",
    "{{ x|attr('%s%s'|format('__glo', 'bals__')) }}",
    "{{ x|attr('__gloXbals__'|replace('X', '')) }}",
    "{{ x|attr('__SLABOLG__'|lower|reverse) }}",
    "{{ x|attr('_' * 2 ~ 'globals' ~ '_' * 2) }}",
    "{{ x['__glo' ~ 'bals__'] }}",
    "{% set a = '__glo' %}{% set b = a ~ 'bals__' %}{{ x[b] }}",
    "{% set n %}__globals__{% endset %}{{ x|attr(n) }}",
    "{% for n in ['__class__'] %}{{ x|attr(n) }}{% endfor %}",
    "{{ messages|map(attribute='__class__')|list }}",
    "{{ messages|map('attr', '__class__')|list }}",
    "{{ messages|selectattr('__class__.__mro__')|list }}",
    "{{ '{0.__class__.__mro__}'.format(messages) }}",
    "{{ x.__init__.func_globals }}",
    "{{ x.gi_frame.f_globals }}",
    "{{ x.mro() }}",
    "{{ a.b.os.popen('id') }}",
    "{% macro m(k='__globals__') %}{{ x|attr(k) }}{% endmacro %}",
]


@pytest.mark.parametrize("src", CRITICAL_PAYLOADS)
def test_escape_payloads_are_critical(src: str) -> None:
    found = kinds(src)
    assert found.get(CODE_EXECUTION) == Severity.CRITICAL, analyze_template(src)


SUSPICIOUS_PAYLOADS = [
    "{{ config.items() }}",
    "{{ request.application }}",
    "{{ url_for.x }}",
    "{{ get_flashed_messages.y }}",
    "{{ a.os }}",
    "{{ a['subprocess'] }}",
    "{{ '__glo' ~ 'bals__' }}",  # built but not (visibly) used
    "{{ '__subclasses__' }}",
    "{{ eval('1') }}",
    "{{ __builtins__ }}",
    "{{ x.__len__ }}",
]


@pytest.mark.parametrize("src", SUSPICIOUS_PAYLOADS)
def test_suspicious_constructs_are_high(src: str) -> None:
    found = kinds(src)
    assert found.get(SUSPICIOUS) == Severity.HIGH, analyze_template(src)
    assert CODE_EXECUTION not in found


def test_loader_and_private_attributes_are_medium() -> None:
    assert kinds("{% include 'other.j2' %}") == {LOADER: Severity.MEDIUM}
    assert kinds("{% import 'm.j2' as m %}") == {LOADER: Severity.MEDIUM}
    assert kinds("{{ message._private }}") == {LOADER: Severity.MEDIUM}
    # item access with an underscore key is plain dict data
    assert kinds("{{ message['_id'] }}") == {}


def test_unparseable_template_is_medium_and_grepped() -> None:
    issues = analyze_template("{{ x.__globals__ }")
    assert issues[0].kind == UNPARSEABLE and issues[0].severity == Severity.MEDIUM
    assert any(i.kind == SUSPICIOUS and "__globals__" in i.evidence for i in issues)
    plain = analyze_template("{% if x %}unclosed")
    assert [i.kind for i in plain] == [UNPARSEABLE]


def test_shadowed_gadget_roots_and_benign_names() -> None:
    # a template may name its own variable ``config``; then it is not Flask's config
    assert kinds("{% set config = {'a': 1} %}{{ config.a }}") == {}
    assert kinds("{% for request in reqs %}{{ request.text }}{% endfor %}") == {}
    # the word "system" as data or as a role is normal
    assert kinds("{{ roles['system'] }}{% if m.role == 'system' %}x{% endif %}") == {}
    # calling namespace() and strftime_now() is what templates do
    assert kinds("{% set ns = namespace(a=1) %}{{ strftime_now('%Y') }}{{ ns.a }}") == {}
    # slicing and reversing non-dunder strings is fine
    assert kinds("{{ 'abc'[::-1] }}{{ messages[1:] }}") == {}


def test_evidence_and_line() -> None:
    issues = analyze_template("line one\n{{ cycler.__init__ }}")
    crit = [i for i in issues if i.kind == CODE_EXECUTION]
    assert crit and crit[0].line == 2 and "cycler.__init__" in crit[0].evidence


def test_fold_is_bounded() -> None:
    # huge repetition and replace blow-ups are refused, not computed
    src = "{{ x|attr('_' * 100000000) }}{{ x|attr(''|replace('', 'a' * 4000)) }}"
    analyze_template(src)  # must return promptly
    deep = "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}"
    assert analyze_template(deep)[0].kind == UNPARSEABLE


def test_oversized_template_is_not_parsed() -> None:
    src = "{{ a }}" * 400_000 + "__globals__"
    issues = analyze_template(src)
    assert issues[0].kind == UNPARSEABLE
    assert any("__globals__" in i.evidence for i in issues)


@pytest.mark.parametrize(
    "src",
    ["", "{{", "{%", "}}", "{# unterminated", "\x00\xff", "{{ 1 + }}", "{% raw %}", "{{ a[ }}"],
)
def test_garbage_never_raises(src: str) -> None:
    analyze_template(src)


# -- tokenizer_config.json / chat_template.json / chat_template.jinja ----------------------


def _scan_config(payload: object | bytes) -> list[Finding]:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    blob = Blob(raw, Location("tokenizer_config.json"), name="tokenizer_config.json")
    return list(scan_tokenizer_config(blob, ScanContext()))


def test_tokenizer_config_benign_templates_are_silent() -> None:
    config = {
        "add_bos_token": True,
        "added_tokens_decoder": {"0": {"content": "<unk>", "special": True}},
        "chat_template": QWEN25_TOOLS,
        "model_max_length": 32768,
    }
    assert _scan_config(config) == []
    named = {"chat_template": [{"name": n, "template": t} for n, t in BENIGN.items()]}
    assert _scan_config(named) == []
    assert _scan_config({"no_template": True}) == []
    assert _scan_config(["not", "an", "object"]) == []


def test_tokenizer_config_evil_template_is_critical() -> None:
    config = {
        "chat_template": [
            {"name": "default", "template": CHATML},
            {"name": "tool_use", "template": CRITICAL_PAYLOADS[1]},
        ]
    }
    found = _scan_config(config)
    assert [(f.rule_id, f.severity, f.location.members) for f in found] == [
        ("DZ-TPL-001", Severity.CRITICAL, ("chat_template[tool_use]",))
    ]
    single = _scan_config({"chat_template": "{{ x|attr('__cla' ~ 'ss__') }}"})
    assert single[0].rule_id == "DZ-TPL-001"
    assert single[0].location.members == ("chat_template",)


def test_tokenizer_config_other_rules() -> None:
    assert [f.rule_id for f in _scan_config({"chat_template": "{% if %}"})] == ["DZ-TPL-002"]
    assert [f.rule_id for f in _scan_config({"chat_template": "{{ request.x }}"})] == ["DZ-TPL-003"]
    assert [f.rule_id for f in _scan_config({"chat_template": "{% include 'a' %}"})] == [
        "DZ-TPL-004"
    ]
    broken = _scan_config(b'{"chat_template": ')
    assert [(f.rule_id, f.severity) for f in broken] == [("DZ-TPL-002", Severity.MEDIUM)]
    assert _scan_config(b"\xff\xfe\x00")[0].rule_id == "DZ-TPL-002"


def test_bare_jinja_template_file() -> None:
    def run(text: str) -> list[str]:
        blob = Blob(text.encode(), Location("chat_template.jinja"), name="chat_template.jinja")
        return [f.rule_id for f in scan_chat_template_text(blob, ScanContext())]

    assert run(LLAMA31_TOOLS) == []
    assert run(CRITICAL_PAYLOADS[0]) == ["DZ-TPL-001"]
