"""The malformed-input corpus, counted across its files (issue 11 asks for at least 400).

Each file runs its own rows and says what a row must end as: a finding (exit 1), a usage
error (exit 2) or a 4xx response — never a traceback, a hang or a dropped connection.
"""

from __future__ import annotations

from tests import test_cli_corpus, test_malformed_corpus
from tests.sandbox import test_graph, test_wire_corpus

CORPORA = {
    "settings, inventory, documents and names through the loaders": test_malformed_corpus.CORPUS,
    "the command line (files, paths, options, sandbox state)": test_cli_corpus.CASES,
    "the sandbox's wire (framing, proxy, control, Entra, ARM, Key Vault)": test_wire_corpus.CASES,
    "the sandbox's Microsoft Graph": test_graph.CORPUS,
}


def test_the_corpus_holds_at_least_400_malformed_inputs():
    sizes = {name: len(rows) for name, rows in CORPORA.items()}
    assert all(sizes.values()), sizes
    assert sum(sizes.values()) >= 400, sizes
