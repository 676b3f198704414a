"""Prompt-injection and jailbreak detection that runs offline on a CPU in milliseconds.

Layers, each of which can be switched off (the benchmark measures them one by one):

1. **Normalise**: `dozor.detect.unicode.normalize` (NFKC, invisible/bidi characters removed,
   tag characters decoded, homoglyphs folded in mixed-script words); then
   `dozor.detect.encodings.decode_spans` finds base64, hex, rot13, leetspeak and
   percent-encoded spans, and what they decode to is scanned again.
2. **Signatures** (`signatures.py`): known attack phrasings with provenance, EN and RU.
3. **Classifier** (`model.py`): hashed character n-grams and a logistic regression whose
   weights ship in the package (``data/classifier.npz``; see ``data/MODEL_CARD.md``).
4. **Windows**: long texts are scored in overlapping windows and as a whole; the maximum
   counts and `InjectionResult.window` says where it was.

The score is ``1 - (1 - classifier) * (1 - strongest signature)``; a text is flagged when
the score reaches the threshold. No torch, no scikit-learn, no download at run time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from functools import lru_cache

from dozor.detect.injection.model import LinearModel, load_model
from dozor.detect.injection.signatures import SIGNATURES, SignatureHit, find_signatures

__all__ = [
    "SIGNATURES",
    "InjectionDetector",
    "InjectionResult",
    "SignatureHit",
    "detect_injection",
]

MAX_CHARS = 200_000
"""Longer texts are judged on their first MAX_CHARS characters (the guard's size limit
comes first in practice); `InjectionResult.truncated` says so."""
MAX_DECODED_SPANS = 20
"""At most this many decoded spans are scanned again."""


@dataclass(frozen=True)
class InjectionResult:
    """What the detector concluded about one text."""

    score: float
    """0..1, the combined score."""
    flagged: bool
    """score >= threshold."""
    signatures: tuple[SignatureHit, ...]
    """Signature hits (offsets in the normalised text, or in a decoded span's text when
    `decoded` names its encoding)."""
    window: tuple[int, int]
    """Character range (of the normalised text) of the window that scored highest."""
    classifier: float = 0.0
    """The classifier's probability alone (0 when the layer is off)."""
    decoded: tuple[str, ...] = ()
    """Encodings of the decoded spans that contributed a hit, e.g. ("base64",)."""
    threshold: float = 0.5
    truncated: bool = False
    seconds: float = 0.0
    reasons: tuple[str, ...] = field(default=())
    """Human-readable reasons, e.g. "signature EN-OVERRIDE-1 (override)"."""


@dataclass(frozen=True)
class InjectionDetector:
    """A configured detector; `detect_injection` uses the default one."""

    normalize: bool = True
    decode: bool = True
    signatures: bool = True
    classifier: bool = True
    windows: bool = True
    threshold: float | None = None
    """None: the threshold stored with the shipped model."""

    def _model(self) -> LinearModel:
        return load_model()

    def _threshold(self) -> float:
        if self.threshold is not None:
            return self.threshold
        return self._model().threshold if self.classifier else 0.5

    def _score_text(self, text: str) -> tuple[float, float, list[SignatureHit], tuple[int, int]]:
        hits = find_signatures(text) if self.signatures else []
        sig = max((h.weight for h in hits), default=0.0)
        clf = 0.0
        win = (0, len(text))
        if self.classifier:
            model = self._model()
            if not self.windows:
                model = _whole_text(model)
            clf, win = model.score(text)
        if hits and (not self.classifier or sig >= clf):
            win = (hits[0].start, hits[0].end)
        combined = 1.0 - (1.0 - clf) * (1.0 - sig)
        return combined, clf, hits, win

    def __call__(self, text: str) -> InjectionResult:
        t0 = time.perf_counter()
        try:
            return self._detect(text, t0)
        except Exception as exc:  # a detector never raises on hostile input: it reports
            return InjectionResult(0.0, False, (), (0, 0), threshold=self._threshold(),
                                   seconds=time.perf_counter() - t0,
                                   reasons=(f"detector error: {type(exc).__name__}",))

    def _detect(self, text: str, t0: float) -> InjectionResult:
        if not isinstance(text, str):
            text = str(text)
        truncated = len(text) > MAX_CHARS
        text = text[:MAX_CHARS]
        if self.normalize:
            from dozor.detect.unicode import normalize

            text = normalize(text)
        score, clf, hits, win = self._score_text(text)
        decoded: list[str] = []
        if self.decode:
            for span in _decoded_spans(text)[:MAX_DECODED_SPANS]:
                s2, c2, h2, _ = self._score_text(span[1])
                if s2 > score:
                    score, clf, win = s2, max(clf, c2), (span[2], span[3])
                    decoded.append(span[0])
                if h2:
                    hits = hits + h2
                    if span[0] not in decoded:
                        decoded.append(span[0])
        thr = self._threshold()
        reasons = [f"signature {h.id} ({h.family}, {h.language})" for h in hits[:5]]
        if clf >= thr:
            reasons.append(f"classifier {clf:.2f}")
        if decoded:
            reasons.append("decoded " + ", ".join(decoded))
        return InjectionResult(
            score=round(score, 4), flagged=score >= thr, signatures=tuple(hits), window=win,
            classifier=round(clf, 4), decoded=tuple(decoded), threshold=thr,
            truncated=truncated, seconds=time.perf_counter() - t0, reasons=tuple(reasons))


_WHOLE: dict[int, tuple[LinearModel, LinearModel]] = {}


def _whole_text(model: LinearModel) -> LinearModel:
    """`model` scoring every text whole (no windows), made once per model: its scoring
    table is built on first use."""
    found = _WHOLE.get(id(model))
    if found is None or found[0] is not model:
        found = _WHOLE[id(model)] = (model, replace(model, window=1 << 30, stride=1 << 29))
    return found[1]


def _decoded_spans(text: str) -> list[tuple[str, str, int, int]]:
    """(encoding, decoded text, start, end) of encoded spans worth scanning again."""
    from dozor.detect.encodings import decode_spans

    out = []
    for s in decode_spans(text):
        if len(s.decoded.strip()) >= 8:
            out.append((s.encoding, s.decoded, s.start, s.end))
    return out


@lru_cache(maxsize=1)
def _default() -> InjectionDetector:
    return InjectionDetector()


def detect_injection(text: str) -> InjectionResult:
    """Judge one text with the default detector (all layers, the shipped threshold)."""
    return _default()(text)
