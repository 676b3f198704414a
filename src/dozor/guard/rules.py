"""The guard's rule ids (DZ-GRD-NNN), each with its severity, taxonomy and remedy.

One table, so findings, docs/rules.md and the tests agree; ids are never reused.
"""

from __future__ import annotations

from dataclasses import dataclass

from dozor.findings import Severity


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: Severity
    taxonomy: tuple[str, ...]
    remediation: str


_C, _H, _M, _L, _I = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO
_INJ = ("LLM01:2025", "AML.T0051")
_OBF = ("LLM01:2025", "AML.T0051", "AML.T0068")
_LEAK = ("LLM02:2025", "AML.T0057")
_DOS = ("LLM10:2025", "AML.T0029", "AML.T0034")
_SYS = ("LLM07:2025", "AML.T0056")
_OUT = ("LLM05:2025", "AML.T0077")

RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule("DZ-GRD-001", "Prompt injection or jailbreak", _H, (*_INJ, "AML.T0054"),
             "Do not pass the text to the model; if it came from a document or a web page, "
             "treat that source as hostile."),
        Rule("DZ-GRD-002", "Hidden text in Unicode tag characters or variation selectors",
             _H, _OBF, "Strip the hidden characters (the default policy does) and treat "
             "the source as hostile; the decoded text is in the evidence."),
        Rule("DZ-GRD-003", "Invisible characters (zero-width, soft hyphen, fillers)", _L, _OBF,
             "Strip them before the text reaches the model (the default policy does)."),
        Rule("DZ-GRD-004", "Bidirectional control characters reorder what is shown", _M, _OBF,
             "Strip them; what a reviewer sees is not what the model reads."),
        Rule("DZ-GRD-005", "Look-alike letters from another script inside words", _M, _OBF,
             "Read the folded form in the evidence; block if it spells an instruction."),
        Rule("DZ-GRD-006", "Encoded payload decodes to an attack", _H, _OBF,
             "Do not pass the text on; the decoded content is an injection or banned "
             "content hidden in base64, hex, rot13, leetspeak or URL encoding."),
        Rule("DZ-GRD-007", "Styled letters (fullwidth, mathematical) spell plain words", _L, _OBF,
             "Usually harmless decoration; block only if the plain form is an instruction."),
        Rule("DZ-GRD-010", "Personal data in the prompt", _M, _LEAK,
             "Anonymise it before it leaves (the default policy replaces values with "
             "placeholders and restores them in the answer)."),
        Rule("DZ-GRD-011", "Secret or credential in the prompt", _H, (*_LEAK, "AML.T0055"),
             "Revoke the credential if it was sent anywhere; the guard redacts it."),
        Rule("DZ-GRD-020", "Banned word, topic or pattern", _M, ("LLM01:2025", "AML.T0054"),
             "The policy forbids this content; change the request or the policy."),
        Rule("DZ-GRD-030", "Input larger than the size limit", _M, _DOS,
             "Shorten the input or raise `limits.max_chars` in the policy."),
        Rule("DZ-GRD-031", "Input larger than the token limit", _M, _DOS,
             "Shorten the input or raise `limits.max_tokens` in the policy."),
        Rule("DZ-GRD-040", "The system prompt's canary appears in the answer", _H, _SYS,
             "The model repeated its system prompt: block the answer and review the "
             "conversation for extraction attempts."),
        Rule("DZ-GRD-041", "The answer repeats the system prompt", _H, _SYS,
             "Block the answer; keep secrets out of system prompts."),
        Rule("DZ-GRD-042", "Personal data in the answer", _M, _LEAK,
             "Redact it (the default policy does); values the user gave in this "
             "conversation are not reported."),
        Rule("DZ-GRD-043", "Secret or credential in the answer", _H, (*_LEAK, "AML.T0055"),
             "Redact it and find where the model got it (training data, context, tools)."),
        Rule("DZ-GRD-050", "Markdown or HTML image to a host not on the allowlist", _H,
             ("LLM02:2025", "LLM05:2025", "AML.T0077", "AML.T0057"),
             "Rendering it sends data in the URL to that host; the guard removes the image. "
             "Add trusted hosts to `allow_hosts`."),
        Rule("DZ-GRD-051", "Link to a host not on the allowlist", _L, _OUT,
             "Review the link; add trusted hosts to `allow_hosts`."),
        Rule("DZ-GRD-052", "Code or shell commands in the answer", _M, _OUT,
             "The policy forbids code in answers; never run model output without review."),
        Rule("DZ-GRD-053", "Hidden Unicode in the answer", _M, ("LLM05:2025", "AML.T0068"),
             "Strip it before showing or storing the answer (the default policy does)."),
    )
}
