"""Code and shell commands in answers, for applications whose policy forbids them.

Off in the default policy (most assistants answer with code). When on, fenced code
blocks in `languages` (shell by default; ``["*"]`` means any fenced block) and lines
that look like dangerous shell commands (``curl ... | sh``, ``rm -rf /``, ``powershell
-enc``) are hits. Redaction removes the block.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from dozor.guard.scanners.base import BLOCK, OUTPUT, REDACT, REPORT, Hit, ScanInput, Scanner

_FENCE = re.compile(r"(?m)^[ ]{0,3}(`{3,}|~{3,})[ \t]*([\w+#.-]{0,30})[^\n]*\n")
_DANGEROUS = re.compile(
    r"(?i)(?<![\w./-])(?:sudo\s+)?(?:"
    r"(?:curl|wget)\b[^\n|]{0,500}\|\s*(?:sudo\s+)?(?:ba|z|da)?sh\b"
    r"|rm\s+-[a-z]*r[a-z]*f?[a-z]*\s+(?:/|~|\*|\$HOME)"
    r"|powershell(?:\.exe)?\s+[^\n]{0,200}-e(?:nc(?:odedcommand)?)?\s"
    r"|chmod\s+(?:\+x|[0-7]{3,4})\s+\S+\s*(?:&&|;)\s*\./"
    r"|mkfs(?:\.\w+)?\s+/dev/"
    r"|dd\s+if=\S+\s+of=/dev/"
    r"|nc\s+(?:-\w+\s+)*\S+\s+\d+\s+-e\s"
    r"|bash\s+-i\s+>&\s*/dev/tcp/"
    r")"
)
SHELLS = ["bash", "sh", "shell", "zsh", "console", "shell-session", "powershell", "ps1",
          "pwsh", "cmd", "bat", "batch", "fish"]


class Code(Scanner):
    name = "code"
    directions = frozenset({OUTPUT})
    rules = ("DZ-GRD-052",)
    actions = (BLOCK, REDACT, REPORT)
    defaults: ClassVar[dict[str, Any]] = {"languages": SHELLS, "commands": True}

    def scan(self, item: ScanInput) -> list[Hit]:
        text = item.text
        langs = {x.lower() for x in self.options["languages"]}
        hits: list[Hit] = []
        pos = 0
        while len(hits) < 100:
            m = _FENCE.search(text, pos)
            if m is None:
                break
            fence, lang = m.group(1), m.group(2).lower()
            close = re.compile(rf"(?m)^[ ]{{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
            c = close.search(text, m.end())
            end = c.end() if c is not None else len(text)
            if "*" in langs or lang in langs:
                hits.append(Hit("DZ-GRD-052", 1.0, f"fenced {lang or 'untyped'} code block",
                                m.start(), end, entity="CODE",
                                replacement="[code removed by policy]",
                                details=(("language", lang),)))
            pos = end
        if self.options["commands"]:
            for m in _DANGEROUS.finditer(text):
                if any(h.start is not None and h.end is not None and h.start <= m.start() < h.end
                       for h in hits):
                    continue
                line_end = text.find("\n", m.end())
                line_end = len(text) if line_end < 0 else line_end
                hits.append(Hit("DZ-GRD-052", 0.9, "dangerous shell command", m.start(),
                                line_end, entity="CODE", replacement="[command removed by policy]"))
                if len(hits) >= 100:
                    break
        return hits
