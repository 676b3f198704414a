"""Anonymise datasets: keyed pseudonyms that keep joins, format-preserving fakes,
reversible AES-SIV encryption, masking, generalisation and redaction.

`anonymize_file` streams a CSV, TSV, Parquet or JSON Lines file chunk by chunk,
replaces what `dozor.detect.pii` finds (or whole columns the policy names), re-scans
the result and only then moves it into place. `restore_file` undoes ``encrypt``.
"""

from dozor.data.anonymize.keys import AnonKey, AnonKeyError, create_key_file, load_key
from dozor.data.anonymize.operators import OPERATORS, Operators, OperatorSpec
from dozor.data.anonymize.pipeline import (
    Anonymizer,
    AnonymizeResult,
    ColumnChange,
    RestoreResult,
    anonymize_file,
    restore_file,
)
from dozor.data.anonymize.policy import AnonymizePolicy, PolicyError, load_policy

__all__ = [
    "OPERATORS",
    "AnonKey",
    "AnonKeyError",
    "AnonymizePolicy",
    "AnonymizeResult",
    "Anonymizer",
    "ColumnChange",
    "OperatorSpec",
    "Operators",
    "PolicyError",
    "RestoreResult",
    "anonymize_file",
    "create_key_file",
    "load_key",
    "load_policy",
    "restore_file",
]
