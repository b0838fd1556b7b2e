"""The real catalogues: complete in both languages, and every key the code uses exists."""

from __future__ import annotations

import re
from pathlib import Path

from handlers.i18n import Catalogue
from storage.models import Benefit, Category, IdeaStatus

ROOT = Path(__file__).resolve().parents[2]
# t("key", …), ctx.t("key"), tr("key") and catalogue.text(lang, "key") in the flows.
KEY_USE = re.compile(
    r"""\b(?:t|tr|ctx\.t)\(\s*"([a-z_]+\.[a-z_.0-9]+)"|\.text\([^,]+,\s*"([a-z_]+\.[a-z_.0-9]+)\""""
)


def test_catalogues_have_no_problems() -> None:
    catalogue = Catalogue.load()
    assert catalogue.languages[0] == "vi"
    assert catalogue.check() == []


def test_every_key_used_in_code_exists() -> None:
    catalogue = Catalogue.load()
    used: set[str] = set()
    for path in (ROOT / "handlers").rglob("*.py"):
        if path.name == "i18n.py":  # its docstrings show made-up example keys
            continue
        for match in KEY_USE.finditer(path.read_text(encoding="utf-8")):
            used.add(match.group(1) or match.group(2))
    assert len(used) > 50, "the pattern should find the flows' keys"
    assert sorted(k for k in used if k not in catalogue) == []


def test_every_enum_value_has_a_label() -> None:
    catalogue = Catalogue.load()
    for prefix, values in (("category", Category), ("benefit", Benefit), ("status", IdeaStatus)):
        for value in values:
            assert f"{prefix}.{value.value}" in catalogue


def test_english_buttons_start_with_plain_verbs() -> None:
    en = Catalogue.load().for_lang("en")
    for key, verb in (
        ("idea.submit", "Submit"),
        ("idea.edit", "Edit"),
        ("idea.cancel", "Cancel"),
        ("idea.skip", "Skip"),
        ("idea.done", "Done"),
        ("triage.approve", "Approve"),
        ("triage.ask", "Request details"),
        ("triage.forward", "Forward"),
        ("triage.decline", "Decline"),
    ):
        assert en(key).startswith(verb)
