"""How a unit's initiative council evaluates an idea: its criteria, scale and quorum.

Configured in config.yaml (``council:``); the defaults follow the usual scoring of the
initiative regulations: novelty within the unit, applicability, benefit, safety, each
scored 1-5 by every member, and the chair records the outcome once ``quorum`` members
have scored (fewer if the council itself is smaller).
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_CRITERIA = ("novelty", "applicability", "benefit", "safety")
MAX_CRITERIA = 8  # a scoring button carries one digit per criterion
CRITERION_CHARS = 24


@dataclass(frozen=True, slots=True)
class CouncilPolicy:
    criteria: tuple[str, ...] = DEFAULT_CRITERIA
    quorum: int = 3
    scale: int = 5  # scores are 1..scale

    def __post_init__(self) -> None:
        if not 1 <= len(self.criteria) <= MAX_CRITERIA:
            raise ValueError(f"council.criteria: 1-{MAX_CRITERIA} criteria, not {self.criteria}")
        if len(set(self.criteria)) != len(self.criteria):
            raise ValueError("council.criteria: a criterion is named twice")
        for name in self.criteria:
            if not name or len(name) > CRITERION_CHARS or not name.replace("_", "").isalnum():
                raise ValueError(
                    f"council.criteria: {name!r} must be 1-{CRITERION_CHARS} letters, digits or _"
                )
        if self.quorum < 1:
            raise ValueError(f"council.quorum must be at least 1, not {self.quorum}")
        if not 2 <= self.scale <= 9:
            raise ValueError(f"council.scale must be 2-9, not {self.scale}")

    def quorum_for(self, members: int) -> int:
        """Scores needed before the chair may record the outcome: the configured quorum,
        or every member of a smaller council (never none)."""
        return max(1, min(self.quorum, members))
