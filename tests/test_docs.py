"""The documents that state rules say what the code does.

- ``docs/sync.md``'s field policy table is generated from ``sync.merge.POLICIES``;
- ``docs/protocol.md`` and ``docs/brief.md`` are the contract and the brief, kept in step
  with the shared copies the project is steered by (when those are present);
- a comment that cites a rule of the contract, or a document, names one that exists.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sync.merge import policy_table_markdown

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SOURCES = [p for pattern in ("sync/*.py", "geo/*.py", "server/**/*.py", "tests/**/*.py",
                             "pwa/src/**/*.js", "bench/*.py", "scripts/*.py")
           for p in ROOT.glob(pattern)
           if "node_modules" not in p.parts and p.name != "test_docs.py"]


def test_merge_policy_table_is_generated_from_the_code():
    assert policy_table_markdown() in (ROOT / "docs" / "sync.md").read_text()


@pytest.mark.parametrize("ours, theirs", [("protocol.md", "PROTOCOL.md"),
                                          ("brief.md", "BRIEF.md")])
def test_contract_copies_are_in_step(ours, theirs):
    shared = SHARED / theirs
    if not shared.exists():
        pytest.skip(f"no {shared} beside this checkout")
    assert (ROOT / "docs" / ours).read_text() == shared.read_text(), (
        f"docs/{ours} differs from {shared}: copy it over")
def _numbered_rules() -> set[str]:
    text = (ROOT / "docs" / "protocol.md").read_text()
    return set(re.findall(r"^(\d+)\. \*\*", text, flags=re.M))


def test_rule_references_resolve():
    rules = _numbered_rules()
    assert {"1", "5", "11"} <= rules
    bad = []
    for path in SOURCES:
        text = path.read_text(errors="replace")
        if re.search(r"PROTOCOL rule|\bBRIEF\.md|\bPROTOCOL\.md", text):
            bad.append(f"{path.relative_to(ROOT)}: cites a file outside the repository")
        for m in re.finditer(r"docs/protocol\.md,? rules? (\d+)(?:[–-](\d+))?", text):
            for n in filter(None, m.groups()):
                if n not in rules:
                    bad.append(f"{path.relative_to(ROOT)}: no rule {n} in docs/protocol.md")
        for m in re.finditer(r"\bdocs/([\w./-]+\.md)", text):
            if not (ROOT / "docs" / m.group(1)).exists():
                bad.append(f"{path.relative_to(ROOT)}: docs/{m.group(1)} does not exist")
    assert not bad, "\n".join(bad)
