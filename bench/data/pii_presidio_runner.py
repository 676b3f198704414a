"""Run Presidio's analyzer on JSON Lines records (runs inside bench/.venvs/presidio).

Best configuration that installs offline: no English spaCy model is published on PyPI by
its makers (third-party re-uploads are not used), so the NLP engine is a blank spaCy
English pipeline (tokenizer) with the lookup lemmatizer from spacy-lookups-data when it
is installed, which gives Presidio's context words something to match; every predefined
pattern recogniser is on (credit card, email, IBAN, IP, phone, URL, US SSN, dates and
the rest). Presidio's own default threshold (0) is used.

Reads records {"id", "text"} from a file; writes {"id", "spans": [[s, e, type, score]]}
lines and a final {"seconds", "cpu_seconds", "records"} line to stdout.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time


def engine():  # type: ignore[no-untyped-def]
    import spacy
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    nlp = spacy.blank("en")
    lemmas = "none"
    try:
        nlp.add_pipe("lemmatizer", config={"mode": "lookup"}).initialize()
        lemmas = "lookup"
    except Exception:  # noqa: BLE001 - spacy-lookups-data not installed
        if "lemmatizer" in nlp.pipe_names:
            nlp.remove_pipe("lemmatizer")
    path = tempfile.mkdtemp(prefix="presidio-blank-")
    nlp.to_disk(path)
    nlp_engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": path}])
    nlp_engine.load()
    print(f"presidio: blank spaCy en, lemmatizer={lemmas}", file=sys.stderr)
    return AnalyzerEngine(nlp_engine=nlp_engine, supported_languages=["en"])


def main() -> None:
    import logging

    logging.getLogger("tldextract").setLevel(logging.CRITICAL)  # offline: bundled snapshot
    analyzer = engine()
    records = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
    analyzer.analyze("warm up 212-555-1234", language="en")
    out = sys.stdout
    t0 = time.perf_counter()
    c0 = time.process_time()
    results = []
    for r in records:
        res = analyzer.analyze(r["text"], language="en")
        results.append((r["id"], [[x.start, x.end, x.entity_type, round(x.score, 3)]
                                  for x in res]))
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - c0
    for rid, spans in results:
        out.write(json.dumps({"id": rid, "spans": spans}) + "\n")
    out.write(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "records": len(records)})
              + "\n")


if __name__ == "__main__":
    main()
