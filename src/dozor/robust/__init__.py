"""Adversarial and privacy attacks on classic models: how much is left under attack.

A model owner needs numbers before release: accuracy left at a perturbation budget
(evasion, OWASP ML01), how well an attacker tells members of the training set from
non-members (ML04), how close a copy gets from N queries (ML05), and whether a backdoor
was planted (ML10). The parts:

- `dozor.robust.models`: one `Classifier` interface over torch modules (white box),
  scikit-learn estimators and any predict/predict_proba callable (black box).
- `dozor.robust.constraints`: feature ranges, integer, one-hot and immutable columns;
  every adversarial row is projected back into them.
- `dozor.robust.evasion`: FGSM, PGD (L-inf, L2) and the Square black-box attack.
- `dozor.robust.privacy`: loss/confidence threshold and shadow-model membership inference.
- `dozor.robust.extraction`: a surrogate trained from N queries.
- `dozor.robust.backdoor`: activation clustering with an input-space consistency test.
- `dozor.robust.report`: findings (DZ-ROB-*) with policy thresholds, HTML with the curve.

This package imports nothing heavy at import time: numpy, torch and scikit-learn come
with the `robust` extra and load inside the modules above.
"""

from __future__ import annotations
