"""OWASP ML/LLM/Agentic Top 10 and MITRE ATLAS: ids to names and links, for every producer.

Findings carry ids such as ``ML06:2023`` or ``AML.T0011.001``; renderers and the
threat model turn them into names with `describe`, and tests check with `unknown`
that no producer uses an id the catalogues do not have. Data loads on first use.
"""

from dozor.taxonomy.catalogue import (
    Entry,
    UnknownTaxonomyId,
    atlas_version,
    describe,
    entries,
    lookup,
    require_known,
    unknown,
)

__all__ = [
    "Entry",
    "UnknownTaxonomyId",
    "atlas_version",
    "describe",
    "entries",
    "lookup",
    "require_known",
    "unknown",
]
