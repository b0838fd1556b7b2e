"""The idea form's draft: the steps' names, a typed view of its stored data, and its review.

The draft lives in the conversation's JSON data; :class:`Draft` reads and writes the
same keys the form always stored, so a form saved by an earlier version resumes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from handlers.amounts import format_amount
from handlers.events import AttachmentKind
from handlers.i18n import Translator
from handlers.limits import MAX_IDEA_TITLE_CHARS
from handlers.safe_html import Html, escape
from handlers.textnorm import derive_title, fold, truncate
from storage.models import Benefit, Category

BODY, CATEGORY, BENEFIT, AMOUNT, CONFIDENTIAL, REVIEW, EDIT, TITLE = (
    "body",
    "category",
    "benefit",
    "amount",
    "confidential",
    "review",
    "edit",
    "title",
)
ANY_STEP = "*"  # the step of buttons that work wherever the form is
CATS = [c.value for c in Category]
BENS = [b.value for b in Benefit]
PARTS_SEPARATOR = "\n\n"  # the parts of the text, as the idea's body joins them
REVIEW_BODY_CHARS = 1500
# A typed title this close to the text (folded), or with a phone-like run of digits, is
# still the worker's choice; the review only warns that it travels above the unit.
TITLE_LIKE_TEXT_CHARS = 40
TITLE_LIKE_TEXT_SHARE = 0.8
# A Vietnamese phone number: 0 or +84, then 8 to 10 digits, spaced or dotted as people write.
PHONE_LIKE = re.compile(r"(?<![\d.,])(?:\+?84|0)(?:[\s.\-]?\d){8,10}(?!\d)")


@dataclass(slots=True)
class Draft:
    """The parts of text and the files sent so far, and the choices made (the answer flow
    keeps its parts and files under the same keys).

    ``title`` is present only when the worker typed one (``Idea.title_given``); a
    category, benefit or amount key only once that step was answered.
    """

    data: dict[str, Any]

    @property
    def body(self) -> list[str]:
        parts: list[str] = self.data["body"]
        return parts

    @body.setter
    def body(self, parts: list[str]) -> None:
        self.data["body"] = parts

    @property
    def files(self) -> list[dict[str, Any]]:
        files: list[dict[str, Any]] = self.data["files"]
        return files

    @files.setter
    def files(self, files: list[dict[str, Any]]) -> None:
        self.data["files"] = files

    @property
    def text(self) -> str:
        return PARTS_SEPARATOR.join(self.body)

    def room_used(self) -> int:
        """Characters the text takes, with the blank line the next part would add."""
        return len(self.text) + (len(PARTS_SEPARATOR) if self.body else 0)

    @property
    def has_content(self) -> bool:
        return bool(self.data.get("body") or self.data.get("files"))

    @property
    def has_typed(self) -> bool:
        """Anything the worker wrote or sent (a body being redone too)."""
        return bool(self.body or self.files or self.previous_body or self.title)

    @property
    def has_voice(self) -> bool:
        return any(f["kind"] == AttachmentKind.VOICE.value for f in self.files)

    def counts(self) -> dict[str, int]:
        return {"parts": len(self.body), "files": len(self.files), "chars": len(self.text)}

    @property
    def previous_body(self) -> list[str] | None:
        """The text being replaced while the worker writes it anew from the review."""
        previous: list[str] | None = self.data.get("previous_body")
        return previous

    @previous_body.setter
    def previous_body(self, parts: list[str]) -> None:
        self.data["previous_body"] = parts

    @property
    def category(self) -> str | None:
        return self.data.get("category")

    @category.setter
    def category(self, value: str) -> None:
        self.data["category"] = value

    @property
    def benefit(self) -> str | None:
        return self.data.get("benefit")

    @benefit.setter
    def benefit(self, value: str) -> None:
        self.data["benefit"] = value

    @property
    def amount(self) -> int | None:
        return self.data.get("amount")

    @amount.setter
    def amount(self, value: int | None) -> None:  # None: skipped, still stored
        self.data["amount"] = value

    @property
    def confidential(self) -> bool:
        return bool(self.data.get("confidential"))

    @confidential.setter
    def confidential(self, value: bool) -> None:
        self.data["confidential"] = value

    @property
    def title(self) -> str | None:
        """The title the worker typed, if any."""
        return self.data.get("title") or None

    def set_title(self, title: str) -> None:
        self.data["title"] = title
        self.data.pop("title_was", None)

    @property
    def title_was(self) -> str | None:
        """The derived title a rewritten text replaced, named on the review."""
        return self.data.get("title_was")

    @title_was.setter
    def title_was(self, title: str) -> None:
        self.data["title_was"] = title

    @property
    def editing(self) -> bool:
        """Changing a step from the review: every step then goes back to it."""
        return bool(self.data.get("editing"))

    def start_editing(self) -> None:
        self.data["editing"] = True

    @property
    def needs_title(self) -> bool:
        """A confidential idea must carry a title the worker typed, never one from the text."""
        return self.confidential and not self.title

    def shown_title(self) -> str:
        """The typed title, else one derived from the text."""
        if self.title:
            return str(self.title)
        return derive_title(self.text, MAX_IDEA_TITLE_CHARS) if self.body else "—"

    @property
    def similar_known(self) -> bool:
        """Whether the ideas like this draft were looked up (for its last review)."""
        return isinstance(self.data.get("similar"), dict)

    @property
    def similar_shown(self) -> list[dict[str, Any]]:
        """The ideas like this draft its review lists: ``id``, ``ref``, ``title``, ``status``."""
        found = self.data.get("similar")
        shown = found.get("worker") if isinstance(found, dict) else None
        return [s for s in shown if isinstance(s, dict)] if isinstance(shown, list) else []

    @property
    def similar_team(self) -> list[tuple[int, float]]:
        """(idea id, score) found like this draft for the team, kept with the idea at Submit
        (the card checks each idea again as it names it)."""
        found = self.data.get("similar")
        pairs = found.get("team") if isinstance(found, dict) else None
        kept: list[tuple[int, float]] = []
        for pair in pairs if isinstance(pairs, list) else []:
            if isinstance(pair, list) and len(pair) == 2:
                other_id, score = pair
                if isinstance(other_id, int) and isinstance(score, int | float):
                    kept.append((other_id, float(score)))
        return kept

    @property
    def similar_unit(self) -> int | None:
        """The unit whose ideas (and its parent's) the last lookup compared."""
        found = self.data.get("similar")
        unit = found.get("unit") if isinstance(found, dict) else None
        return unit if isinstance(unit, int) else None

    def set_similar(
        self, shown: list[dict[str, Any]], team: list[tuple[int, float]], unit_id: int | None
    ) -> None:
        self.data["similar"] = {
            "worker": shown,
            "team": [[i, s] for i, s in team],
            "unit": unit_id,
        }

    @property
    def opened_at(self) -> str | None:
        return self.data.get("opened_at")

    @property
    def asked(self) -> list[str]:
        """The team's questions the worker was already asked about (``idea@updated``)."""
        asked: list[str] = self.data.setdefault("asked", [])
        return asked

    def asked_before(self) -> set[str]:
        return set(self.data.get("asked", []))

    def hold(self, part: dict[str, Any], question_id: int) -> None:
        """Keep a message aside while the worker says whether it answers the question."""
        self.data.setdefault("held", []).append(part)
        self.data["held_for"] = question_id

    def take_held(self) -> tuple[list[dict[str, Any]], int | None]:
        return self.data.pop("held", []), self.data.pop("held_for", None)


def review_text(t: Translator, draft: Draft, lang: str) -> str:
    title = draft.shown_title()
    benefit = t(f"benefit.{draft.benefit}")
    if draft.amount:
        amount = format_amount(draft.amount, lang)
        benefit = t("idea.benefit_with_amount", benefit=benefit, amount=amount)
    body = draft.text
    shown_title: str = title
    if not draft.title:  # derived from the text: say so, and what it replaced
        shown_title = Html(escape(title) + " " + t("idea.title_derived"))
        if draft.title_was and draft.title_was != title:
            shown_title += Html("\n" + t("idea.title_derived_changed", before=draft.title_was))
    review = t(
        "idea.review",
        title=shown_title,
        category=t(f"category.{draft.category}"),
        benefit=Html(benefit),
        confidential=t("idea.is_confidential" if draft.confidential else "idea.is_shareable"),
        files=len(draft.files),
        body=truncate(body, REVIEW_BODY_CHARS),
    )
    if not draft.confidential:
        return review
    travels = t("idea.review_travels")
    if title_carries_text(title, body):
        travels += "\n" + t("idea.review_title_warning")
    return review + "\n\n" + travels


def title_carries_text(title: str, body: str) -> bool:
    """Whether a title looks like the idea's text itself, or holds a phone-like number."""
    if PHONE_LIKE.search(title):
        return True
    folded_title, folded_body = fold(title), fold(body)
    if not folded_title or not folded_body:
        return False
    if folded_body in folded_title:
        return True
    long_enough = len(folded_title) >= min(
        TITLE_LIKE_TEXT_CHARS, TITLE_LIKE_TEXT_SHARE * len(folded_body)
    )
    return long_enough and folded_title in folded_body
