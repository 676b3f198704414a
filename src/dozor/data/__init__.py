"""Datasets: readers, personal-data profiles, anonymisation, label and poisoning checks,
fingerprints. Heavy dependencies (pyarrow, numpy, scikit-learn, cryptography) sit behind
the ``data`` extra and are imported inside the modules that need them."""
