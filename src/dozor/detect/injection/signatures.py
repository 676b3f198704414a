"""Signatures of known prompt-injection and jailbreak families, in English and Russian.

A signature is a bounded regular expression with provenance: an id, the attack family, its
language, and a note on where the phrasing is documented. Signatures catch the verbatim
phrasings that attackers paste from the well-known collections with near-certainty and
explain *why* a prompt was flagged; the trained classifier covers paraphrases.

Over-defence is the known failure of such lists ("how do I make git ignore a folder",
"what is developer mode on Android"), so each pattern needs an instruction *and* its object
("ignore ... previous instructions", not "ignore"), and a hit inside quotation marks
(someone *talking about* an attack) counts at a lower weight. Patterns have no nested
quantifiers and gaps are bounded (``.{0,40}``), so matching is linear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Signature:
    """One known attack phrasing."""

    id: str
    """Stable id, e.g. ``EN-OVERRIDE-1``."""
    family: str
    """Attack family: override, persona, developer_mode, system_prompt, exfiltration,
    refusal_suppression, indirect."""
    language: str
    """``en`` or ``ru``."""
    weight: float
    """Score the hit alone gives (0..1); strong phrasings 0.95, weaker ones lower."""
    source: str
    """Where this phrasing is documented."""
    pattern: re.Pattern[str]
    anchors: tuple[str, ...] = ()
    """Lower-case substrings of which one must occur for the pattern to be tried (a fast
    pre-filter: a plain substring search is far cheaper than a regular expression)."""
    also: tuple[tuple[str, ...], ...] = ()
    """More groups of lower-case substrings, each of which the pattern also needs one of
    (a second and third necessary word, for patterns whose first one is a common word
    like "post" or "follow")."""


@dataclass(frozen=True)
class SignatureHit:
    """A signature found in a text (offsets in the text that was scanned)."""

    id: str
    family: str
    language: str
    start: int
    end: int
    weight: float
    """Effective weight (lowered when the hit is quoted)."""


_F = re.IGNORECASE | re.UNICODE
_G = r"[^\n]{0,40}?"  # a short gap inside one line
_PREV_EN = r"(?:previous|prior|preceding|above|earlier|former|initial|original|all|any|your)"
_INSTR_EN = (r"(?:instructions?|rules|guidelines|directives|prompts?|commands|orders|"
             r"programming|constraints|restrictions|policies|safeguards|guardrails)")
_PREV_RU = (r"(?:предыдущ\w*|прежн\w*|прошл\w*|изначальн\w*|исходн\w*|вс[её]\w*|"
            r"сво\w*|системн\w*|ранее\s+\w+)")
_INSTR_RU = (r"(?:инструкци\w*|указани\w*|правил\w*|команд\w*|ограничени\w*|настро\w*|"
             r"установк\w*|директив\w*|промпт\w*)")

_OWASP = "OWASP LLM01:2025 examples"
_PI = "Perez & Ribeiro 2022, 'Ignore Previous Prompt'"
_DAN = "in-the-wild DAN family (Shen et al. 2023, 'Do Anything Now')"
_GREKESHAKE = "Greshake et al. 2023, indirect prompt injection"
_AUTH = "dozor authored (Russian phrasings of the same family)"


def _sig(id_: str, family: str, lang: str, weight: float, source: str, rx: str) -> Signature:
    return Signature(id_, family, lang, weight, source, re.compile(rx, _F),
                     ANCHORS[id_], ALSO.get(id_, ()))


ALSO: dict[str, tuple[tuple[str, ...], ...]] = {
    # each group is a necessary part of the pattern too (checked on the lower-cased text)
    "EN-OVERRIDE-2": (("instruction", "rule", "guideline", "directive", "prompt", "command",
                       "order", "programming", "constraint", "restriction", "polic",
                       "safeguard", "guardrail"),),
    "EN-OVERRIDE-4": (("previous", "prior", "above", "earlier"),
                      ("instructions", "rules", "prompt")),
    "EN-EXFIL-3": (("conversation", "chat", "system", "credential", "password", "api"),
                   ("http", "@")),
}


ANCHORS: dict[str, tuple[str, ...]] = {
    # each tuple holds words of which the pattern needs at least one
    "EN-OVERRIDE-1": ("ignor", "disregard", "forget", "overrid", "bypass", "skip", "drop",
                      "abandon"),
    "EN-OVERRIDE-2": ("follow", "obey", "listen"),
    "EN-OVERRIDE-3": ("instruction",),
    "EN-OVERRIDE-4": ("void", "cancel", "revoked", "obsolete", "null", "no longer valid",
                      "overridden"),
    "RU-OVERRIDE-1": ("игнор", "забуд", "забыт", "отмен", "пренебр", "не обращай",
                      "отбрось", "сбрось", "не следуй"),
    "RU-OVERRIDE-2": ("не действуют", "отменены", "недействительны", "аннулированы"),
    "RU-OVERRIDE-3": ("инструкци",),
    "EN-PERSONA-DAN": ("dan", "stan", "dude", "aim", "antigpt", "developer mode"),
    "EN-PERSONA-1": ("anything now",),
    "EN-PERSONA-2": ("restriction", "rules", "filter", "limits", "guideline", "ethic", "moral",
                     "polic", "censor", "openai", "anthropic"),
    "EN-PERSONA-3": ("jailbr", "evil", "amoral", "unfiltered"),
    "RU-PERSONA-1": ("ограничени", "фильтр", "цензур", "правил", "морал", "соблюда"),
    "RU-PERSONA-DAN": ("dan", "дан", "антигпт"),
    "EN-DEVMODE-1": (" mode",),
    "EN-DEVMODE-2": (" mode",),
    "RU-DEVMODE-1": ("режим",),
    "EN-SYSPROMPT-1": ("system prompt", "system message", "initial", "hidden instr",
                       "original instr", "instructions you"),
    "EN-SYSPROMPT-2": ("repeat",),
    "RU-SYSPROMPT-1": ("системн", "начальн", "скрыт", "текст"),
    "EN-EXFIL-1": ("![",),
    "EN-EXFIL-2": ("image", "!["),
    "EN-EXFIL-3": ("send", "post", "upload", "forward", "exfiltrat", "transmit"),
    "RU-EXFIL-1": ("добав", "встав", "отправ", "закодируй"),
    "EN-REFUSAL-1": ("refuse", "decline", "apologi", "can't", "cannot", "warnings",
                     "disclaimers"),
    "EN-REFUSAL-2": ("moral", "ethical"),
    "RU-REFUSAL-1": ("никогда не отказыв", "не пиши", "запрещено", "отказаться"),
    "EN-INDIRECT-1": ("note", "attention", "important", "message", "instruction"),
    "EN-INDIRECT-2": ("if you are a",),
    "RU-INDIRECT-1": ("внимание", "примечание", "инструкци", "сообщение"),
    "RU-INDIRECT-2": ("если ты",),
}


SIGNATURES: tuple[Signature, ...] = (
    # --- instruction override -------------------------------------------------------
    _sig("EN-OVERRIDE-1", "override", "en", 0.95, _PI,
         rf"\b(?:ignore|disregard|forget|override|bypass|skip|drop|abandon)\b{_G}"
         rf"\b{_PREV_EN}\b{_G}\b{_INSTR_EN}\b"),
    _sig("EN-OVERRIDE-2", "override", "en", 0.9, _PI,
         r"\b(?:do\s+not|don'?t|stop)\s+(?:follow|obey|listen\s+to)\w*\s+(?:your|the|any)\s+"
         rf"{_G}{_INSTR_EN}\b"),
    _sig("EN-OVERRIDE-3", "override", "en", 0.85, _PI,
         r"\b(?:new|updated|real|actual)\s+instructions?\s*:"),
    _sig("EN-OVERRIDE-4", "override", "en", 0.9, _OWASP,
         r"\b(?:previous|prior|above|earlier)\s+(?:instructions|rules|prompt)\s+"
         r"(?:are|is|were|have\s+been)\s+(?:void|cancel+ed|revoked|obsolete|null|"
         r"no\s+longer\s+valid|overridden)"),
    _sig("RU-OVERRIDE-1", "override", "ru", 0.95, _AUTH,
         r"(?:игнорир\w*|проигнорир\w*|забудь\w*|забыть|отмен\w*|пренебрег\w*|"
         r"не\s+обращай\s+внимани\w*\s+на|отбрось\w*|сбрось\w*|не\s+следуй)"
         rf"{_G}{_PREV_RU}{_G}{_INSTR_RU}"),
    _sig("RU-OVERRIDE-2", "override", "ru", 0.9, _AUTH,
         rf"{_PREV_RU}\s+{_INSTR_RU}\s+(?:больше\s+не\s+действуют|отменены|недействительны|"
         r"аннулированы)"),
    _sig("RU-OVERRIDE-3", "override", "ru", 0.85, _AUTH, r"нов\w+\s+инструкци\w*\s*:"),
    # --- role and persona ---------------------------------------------------------------
    _sig("EN-PERSONA-DAN", "persona", "en", 0.95, _DAN,
         r"(?-i:\b(?:DAN|STAN|DUDE|AIM|AntiGPT|BetterDAN|[Dd]eveloper\s+[Mm]ode)\b)[^\n]{0,80}?"
         r"\b(?:do\s+anything\s+now|no\s+(?:restrictions|rules|limits|filters)|"
         r"without\s+(?:any\s+)?(?:restrictions|censorship|filters|limits)|"
         r"(?:not|never)\s+(?:bound|restricted)\s+by|unfiltered|amoral|jailbr\w+)"),
    _sig("EN-PERSONA-1", "persona", "en", 0.9, _DAN, r"\bdo\s+anything\s+now\b"),
    _sig("EN-PERSONA-2", "persona", "en", 0.85, _DAN,
         r"\b(?:you\s+are\s+(?:now|no\s+longer)|from\s+now\s+on,?\s+you\s+(?:are|will)|"
         r"act\s+as|pretend\s+(?:to\s+be|you\s+are)|roleplay\s+as)\b[^\n]{0,80}?"
         r"\b(?:no|without|free\s+(?:of|from)|not\s+bound\s+by|ignores?|unrestricted|"
         r"uncensored|unfiltered)\b[^\n]{0,30}?\b(?:restrictions|rules|filters|limits|"
         r"guidelines|ethics|morals|policies|censorship|openai|anthropic)\b"),
    _sig("EN-PERSONA-3", "persona", "en", 0.85, _DAN,
         r"\b(?:jailbroken|jailbreak\s+mode|evil\s+(?:mode|confidant|assistant)|"
         r"unfiltered\s+and\s+amoral|amoral\s+(?:ai|chatbot|assistant))\b"),
    _sig("RU-PERSONA-1", "persona", "ru", 0.9, _AUTH,
         r"(?:теперь\s+ты|ты\s+больше\s+не|представь,?\s+что\s+ты|притворись,?\s+что\s+ты|"
         r"с\s+этого\s+момента\s+ты|ты\s+[—-]\s+)[^\n]{0,80}?(?:без\s+(?:каких-либо\s+|"
         r"всяких\s+|любых\s+)?(?:ограничени|фильтр|цензур|правил|морал)|"
         r"не\s+(?:соблюда|ограничива)\w*|нет\s+(?:морали|правил|ограничений))"),
    _sig("RU-PERSONA-DAN", "persona", "ru", 0.9, _AUTH,
         r"(?-i:\b(?:DAN|ДАН|АнтиГПТ)\b)[^\n]{0,80}?(?:может\s+делать\s+что\s+угодно|"
         r"без\s+ограничени\w*|любые\s+вопросы|разрешено)"),
    # --- developer / debug mode -----------------------------------------------------------
    _sig("EN-DEVMODE-1", "developer_mode", "en", 0.9, _DAN,
         r"\b(?:developer|debug|god|admin|maintenance|sudo|unrestricted|jailbreak)\s+mode\b"
         r"[^\n]{0,60}?\b(?:enabled|activated|on|engaged)\b[^\n]{0,120}?"
         r"\b(?:ignor\w+|no|without|disabled?|off|bypass\w*|lifted|removed)\b"),
    _sig("EN-DEVMODE-2", "developer_mode", "en", 0.9, _DAN,
         r"\b(?:enable|activate|enter|switch\s+to)\s+(?:developer|debug|god|dan|jailbreak|"
         r"unrestricted)\s+mode\b"),
    _sig("RU-DEVMODE-1", "developer_mode", "ru", 0.9, _AUTH,
         r"(?:включи\w*|активир\w*|перех\w*\s+в|включ[её]н)\s*[^\n]{0,20}?режим\w*\s+"
         r"(?:разработчик\w*|отладк\w*|администратор\w*|без\s+цензур\w*|бога)"
         r"[^\n]{0,120}?(?:фильтр\w*|ограничени\w*|политик\w*|правил\w*|цензур\w*)"),
    # --- system prompt requests -------------------------------------------------------------
    _sig("EN-SYSPROMPT-1", "system_prompt", "en", 0.85, _OWASP,
         r"\b(?:reveal|show|print|output|repeat|display|tell\s+me|give\s+me|dump|leak|"
         r"write\s+out|recite)\b[^\n]{0,30}?\b(?:your|the)\s+(?:full\s+|entire\s+|hidden\s+|"
         r"original\s+|initial\s+|secret\s+)?(?:system\s+prompt|system\s+message|"
         r"initial\s+(?:instructions|prompt)|hidden\s+instructions|original\s+instructions|"
         r"instructions\s+you\s+were\s+given)"),
    _sig("EN-SYSPROMPT-2", "system_prompt", "en", 0.8, _OWASP,
         r"\brepeat\s+(?:all\s+|everything\s+|the\s+(?:text|words)\s+)?(?:above|before)\b"
         r"[^\n]{0,40}?\b(?:verbatim|word\s+for\s+word|starting\s+with|in\s+full|"
         r"code\s+block)"),
    _sig("RU-SYSPROMPT-1", "system_prompt", "ru", 0.85, _AUTH,
         r"(?:покажи|выведи|раскрой|повтори|процитируй|распечатай|напиши|перескажи)\w*"
         r"[^\n]{0,30}?(?:сво\w+\s+)?(?:системн\w+\s+(?:промпт|сообщени|инструкци)\w*|"
         r"начальн\w+\s+инструкци\w*|скрыт\w+\s+(?:конфигурац|инструкци|правил)\w*|"
         r"весь\s+текст,?\s+(?:который\s+был\s+)?выше)"),
    # --- markdown / URL exfiltration ---------------------------------------------------------
    _sig("EN-EXFIL-1", "exfiltration", "en", 0.9, _GREKESHAKE,
         r"!\[[^\]\n]{0,100}\]\(\s*https?://[^)\s]{1,200}[?&][\w.-]{1,40}="
         r"[^)\s]{0,40}(?:\{|\[|<|%7B|DATA|SECRET|HISTORY|PROMPT|PASSWORD|ИСТОРИЯ)"),
    _sig("EN-EXFIL-2", "exfiltration", "en", 0.85, _GREKESHAKE,
         r"\b(?:append|add|include|embed|insert|render)\b[^\n]{0,60}?\b(?:markdown\s+image|"
         r"image\s+(?:link|url|tag)|!\[)[^\n]{0,120}?\b(?:conversation|chat\s+history|"
         r"password|secret|api\s+key|system\s+prompt|user'?s?\s+data|previous\s+messages)"),
    _sig("EN-EXFIL-3", "exfiltration", "en", 0.85, _GREKESHAKE,
         r"\b(?:send|post|upload|forward|exfiltrate|transmit)\b[^\n]{0,60}?"
         r"\b(?:conversation|chat\s+history|system\s+prompt|credentials|passwords?|api\s+keys?)"
         r"\b[^\n]{0,40}?\b(?:to|at)\s+(?:https?://|[\w.+-]+@[\w-]+\.)"),
    _sig("RU-EXFIL-1", "exfiltration", "ru", 0.85, _AUTH,
         r"(?:добав\w*|встав\w*|отправ\w*|закодируй)[^\n]{0,80}?(?:картинк\w*|изображени\w*|"
         r"ссылк\w*|url|get-запрос\w*|адрес)[^\n]{0,120}?(?:переписк\w*|пароль?\w*|"
         r"системн\w+\s+промпт\w*|диалог\w*|истори\w*)"),
    # --- refusal suppression -------------------------------------------------------------------
    _sig("EN-REFUSAL-1", "refusal_suppression", "en", 0.8, _DAN,
         r"\b(?:never|do\s+not|don'?t|must\s+not|will\s+not)\s+(?:refuse|decline|apologi[sz]e|"
         r"say\s+(?:that\s+)?(?:you|it)\s+can'?not|include\s+(?:any\s+)?(?:warnings|"
         r"disclaimers))\b[^\n]{0,80}?\b(?:any|request|question|answer|respond|matter|"
         r"illegal|unethical|harmful)"),
    _sig("EN-REFUSAL-2", "refusal_suppression", "en", 0.8, _DAN,
         r"\bwithout\s+(?:any\s+)?(?:moral|ethical)\s+(?:or\s+ethical\s+)?"
         r"(?:guidelines|restrictions|considerations|constraints)\b"),
    _sig("RU-REFUSAL-1", "refusal_suppression", "ru", 0.8, _AUTH,
         r"(?:никогда\s+не\s+отказыв\w*|не\s+пиши,?\s+что\s+ты\s+не\s+можешь|"
         r"тебе\s+запрещено\s+отвечать\s+«?я\s+не\s+могу|"
         r"если\s+захочешь\s+отказаться)"),
    # --- indirect (instructions addressed to the model inside content) -----------------------
    _sig("EN-INDIRECT-1", "indirect", "en", 0.85, _GREKESHAKE,
         r"(?:\bnote|attention|important|message|instructions?)\s+(?:to|for)\s+(?:the\s+)?"
         r"(?:ai|llm|assistant|language\s+model|chatbot|gpt)\b[^\n]{0,120}?"
         r"\b(?:ignore|disregard|instead|do\s+not\s+(?:tell|summari[sz]e|mention)|"
         r"you\s+must|must\s+now)"),
    _sig("EN-INDIRECT-2", "indirect", "en", 0.8, _GREKESHAKE,
         r"\bif\s+you\s+are\s+an?\s+(?:ai|llm|language\s+model|assistant|chatbot)\b"
         r"[^\n]{0,60}?\b(?:ignore|disregard|you\s+must|instead|do\s+not)"),
    _sig("RU-INDIRECT-1", "indirect", "ru", 0.85, _AUTH,
         r"(?:внимание|примечание|инструкци\w+|сообщение)[,:]?\s+(?:для\s+)?"
         r"(?:ии|ии-ассистент\w*|языков\w+\s+модел\w*|бот\w*|ассистент\w*)[^\n]{0,120}?"
         r"(?:игнорир\w*|забудь|вместо\s+этого|ты\s+должен|не\s+сообщай)"),
    _sig("RU-INDIRECT-2", "indirect", "ru", 0.8, _AUTH,
         r"если\s+ты\s+(?:ии|бот|языковая\s+модель|ассистент)[^\n]{0,60}?"
         r"(?:игнорир\w*|забудь|ты\s+должен|вместо|не\s+)"),
)

MAX_SCAN = 200_000
"""Signatures read at most this many characters of one text (the guard windows longer)."""
QUOTED_FACTOR = 0.5
"""A hit inside quotation marks is someone *mentioning* the phrase; its weight is halved."""

_QUOTES = "\"'«»“”„‘’`"


def _quoted(text: str, start: int, end: int) -> bool:
    before = text[max(0, start - 3):start]
    after = text[end:end + 3]
    return any(q in before for q in _QUOTES) and any(q in after for q in _QUOTES)


REACH = 450
"""Every pattern's match is shorter than this and contains one of its anchors, so in a long
text a pattern only needs to be tried within REACH characters of an anchor."""
LOCAL_SEARCH_MIN = 2000
MAX_ANCHOR_SITES = 40


def _anchor_sites(low: str, anchors: tuple[str, ...]) -> list[int] | None:
    """Positions of the anchors in `low`; None when there are too many to be worth it."""
    sites: list[int] = []
    for a in anchors:
        pos = low.find(a)
        while pos >= 0:
            sites.append(pos)
            if len(sites) > MAX_ANCHOR_SITES:
                return None
            pos = low.find(a, pos + 1)
    return sorted(sites)


_ESCAPE = re.compile(r"\\.")
_UPPER = re.compile(r"[A-ZА-ЯЁ]")


def _lower_twin(pattern: re.Pattern[str]) -> re.Pattern[str] | None:
    """The pattern without IGNORECASE, for the lower-cased text; None when its source has
    an upper-case letter (``(?-i:DAN)``). Python's engine tries a case-insensitive
    pattern several times slower; on the lower-cased text the twin finds the same
    matches at the same offsets."""
    if not pattern.flags & re.IGNORECASE or _UPPER.search(_ESCAPE.sub("", pattern.pattern)):
        return None
    return re.compile(pattern.pattern, pattern.flags & ~re.IGNORECASE)


_TWINS: dict[str, re.Pattern[str] | None] = {}


def _search(sig: Signature, text: str, low: str) -> re.Match[str] | None:
    if len(low) == len(text):
        if sig.id not in _TWINS:
            _TWINS[sig.id] = _lower_twin(sig.pattern)
        twin = _TWINS[sig.id]
        if twin is not None:
            sig = replace(sig, pattern=twin)
            text = low
    if len(text) < LOCAL_SEARCH_MIN or not sig.anchors or len(low) != len(text):
        return sig.pattern.search(text)
    sites = _anchor_sites(low, sig.anchors)
    if sites is None:
        return sig.pattern.search(text)
    done = -1
    for p in sites:
        lo, hi = max(done, p - REACH, 0), min(len(text), p + REACH)
        if hi <= lo:
            continue
        m = sig.pattern.search(text, lo, hi)
        if m is not None:
            return m
        done = hi - REACH  # overlap so a match spanning two sites is still seen
    return None


_ASCII_ANCHORS: dict[str, tuple[str, ...]] = {}


def _ascii_anchors(sig: Signature) -> tuple[str, ...]:
    found = _ASCII_ANCHORS.get(sig.id)
    if found is None:
        found = _ASCII_ANCHORS[sig.id] = tuple(a for a in sig.anchors if a.isascii())
    return found


def find_signatures(text: str) -> list[SignatureHit]:
    """Every signature that matches `text` (the first match of each), strongest first."""
    text = text[:MAX_SCAN]
    low = text.lower()  # (when lower() changes the length, _search reads the whole text)
    # an ASCII text holds no Cyrillic anchor: about half of the substring searches saved
    ascii_only = low.isascii()
    hits: list[SignatureHit] = []
    for sig in SIGNATURES:
        anchors = _ascii_anchors(sig) if ascii_only else sig.anchors
        if sig.anchors and not any(map(low.__contains__, anchors)):
            continue
        if sig.also and not all(any(map(low.__contains__, group)) for group in sig.also):
            continue
        m = _search(sig, text, low)
        if m is None:
            continue
        w = sig.weight * (QUOTED_FACTOR if _quoted(text, m.start(), m.end()) else 1.0)
        hits.append(SignatureHit(sig.id, sig.family, sig.language, m.start(), m.end(), w))
    hits.sort(key=lambda h: -h.weight)
    return hits
