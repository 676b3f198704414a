"""Text detectors shared by the scanners, the guard and the red team.

Each module finds one family of things in a string and returns plain match records
with character offsets, so a scanner can turn them into findings and the guard can
redact them in place. Nothing here reads files or knows about reports.

- `dozor.detect.secrets`: API keys, tokens, private keys, hard-coded passwords.
- `dozor.detect.entropy`: Shannon entropy and placeholder checks used to tell a
  random credential from an example value.
"""
