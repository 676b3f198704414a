"""Poisoning and label checks: duplicates with conflicting labels, likely label errors
(confident learning), outliers, class-balance shifts and backdoor-trigger hints.

Everything here works on numpy arrays; `checks.check_file` reads a table or an
``.npz`` and turns the results into findings DZ-DAT-001..009.
"""

from dozor.data.labels.checks import (
    DataError,
    LabelledData,
    check_file,
    check_labels,
    load_labelled,
)
from dozor.data.labels.confident import (
    LabelIssues,
    confident_joint,
    find_label_issues,
    out_of_fold_probabilities,
)

__all__ = [
    "DataError",
    "LabelIssues",
    "LabelledData",
    "check_file",
    "check_labels",
    "confident_joint",
    "find_label_issues",
    "load_labelled",
    "out_of_fold_probabilities",
]
