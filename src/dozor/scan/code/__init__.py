"""ML-aware rules for Python source and Jupyter notebooks.

Why: the riskiest line in an ML repository is often not in a model file but in the
code that loads one (``torch.load``, ``pickle.load``, ``trust_remote_code=True``),
hands an agent a shell, feeds LLM output to ``eval`` or exposes a notebook server.
Source is parsed with the standard library's ``ast`` and judged; nothing is imported
or executed. `python_rules.scan_python` handles ``.py`` files and
`notebook.scan_notebook` handles ``.ipynb`` files (code cells plus secrets in cells and
outputs).
"""
