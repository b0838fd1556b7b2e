"""Reading a Zalo reply as one of the numbered choices shown, or as a typed command.

Zalo has no buttons, so a message offers its choices as a numbered list and the
reply is matched against them: ``1``, ``1.``, ``(1)``, ``#1``, ``số 1``, ``một``
(or ``mot``), ``hai`` …, or the option's own words, with or without diacritics
("bo qua" for "Bỏ qua", "duyet" for "✅ Duyệt"). Anything else stays text.

Zalo has no command menu either: ``/idea`` typed as text is a command, and so are
a few Vietnamese words for the main ones ("gửi sáng kiến", "liên kết 123456").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from handlers.textnorm import fold

Choice = tuple[str, str]  # (label, callback data)

NUMBER_WORDS: dict[str, int] = {
    "mot": 1,
    "hai": 2,
    "ba": 3,
    "bon": 4,
    "tu": 4,
    "nam": 5,
    "lam": 5,
    "sau": 6,
    "bay": 7,
    "tam": 8,
    "chin": 9,
    "muoi": 10,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
# "số 1", "chọn 2", "phương án 3", "option 4", "no. 5" (folded).
_PREFIX = re.compile(r"^(?:so|chon|lua chon|phuong an|option|choice|no\.?|#)\s*")
_NUMBER = re.compile(r"^\(?(\d{1,3})\s*[.):]?$")
_NOT_WORD = re.compile(r"[^\w\s]+")
# A reply of more words than this is a message, not the words of an option.
MAX_WORDS_FOR_PARTIAL = 4
MIN_CHARS_FOR_PARTIAL = 3
# A bare number below this, off the list shown, is asked about rather than taken as a value.
MIN_BARE_VALUE = 1000

# Typed words for the main commands (folded, whole message).
WORD_COMMANDS: dict[str, str] = {
    "sang kien": "idea",
    "gui sang kien": "idea",
    "sang kien moi": "idea",
    "y tuong": "idea",
    "gui y tuong": "idea",
    "sang kien cua toi": "myideas",
    "xem sang kien": "myideas",
    "tro giup": "help",
    "giup": "help",
    "huong dan": "help",
    "help": "help",
    "huy": "cancel",
    "huy bo": "cancel",
    "tham gia": "join",
    "ngon ngu": "lang",
    "lien ket": "link",
    "bat dau": "start",
}
# Word commands that take what follows as their argument ("lien ket 123456").
WORD_COMMANDS_WITH_ARGS: dict[str, str] = {"lien ket": "link", "tham gia ma": "start"}
_SLASH_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@\S+)?(?:\s+(.*))?$", re.DOTALL)


def key(text: str) -> str:
    """What is compared: folded, without emoji and punctuation, single spaces."""
    return " ".join(_NOT_WORD.sub(" ", fold(text)).split())


def match_choice(text: str, choices: Sequence[Choice]) -> int | None:
    """The index of the choice ``text`` picks, or None when it is not a pick."""
    if not choices or not text or len(text) > 120:
        return None
    folded = fold(text).strip()
    wanted = key(text)
    if not folded:
        return None
    labels = [key(label) for label, _ in choices]
    if wanted and wanted in labels:
        return labels.index(wanted)
    bare = _PREFIX.sub("", folded).strip()
    number = _NUMBER.match(bare)
    if number is not None:
        value = int(number.group(1))
        return value - 1 if 1 <= value <= len(choices) else None
    word = bare.rstrip(".):!").strip()
    if word in NUMBER_WORDS:
        value = NUMBER_WORDS[word]
        return value - 1 if value <= len(choices) else None
    return _partial(wanted, labels)


def number_off_the_list(text: str, choices: Sequence[Choice]) -> int | None:
    """A bare number (``2``, ``số 2``) that is no choice shown and too small to be a value.

    Such a reply could be a pick the list does not have, or a value with its unit left
    out ("2" for "2 triệu"); either way taking it as the value would be wrong, so the bot
    asks. Below :data:`MIN_BARE_VALUE` a bare number is never read as a value: no list is
    that long, and no yearly benefit in đồng is that small. Larger ones stay text (an
    amount ``5000000``).
    """
    if not choices or match_choice(text, choices) is not None:
        return None
    number = _NUMBER.match(_PREFIX.sub("", fold(text).strip()).strip())
    if number is None:
        return None
    value = int(number.group(1))
    return value if value < MIN_BARE_VALUE else None


def _partial(wanted: str, labels: list[str]) -> int | None:
    """A few words that appear, whole and in order, in exactly one option."""
    words = wanted.split()
    if not words or len(words) > MAX_WORDS_FOR_PARTIAL or len(wanted) < MIN_CHARS_FOR_PARTIAL:
        return None
    padded = f" {wanted} "
    found = [i for i, label in enumerate(labels) if padded in f" {label} "]
    return found[0] if len(found) == 1 else None


def parse_command(text: str) -> tuple[str, str] | None:
    """("idea", "") for "/idea", ("link", "123456") for "/link 123456" or "liên kết 123456"."""
    stripped = text.strip()
    slash = _SLASH_COMMAND.match(stripped)
    if slash is not None:
        return slash.group(1).lower(), (slash.group(2) or "").strip()
    if stripped.startswith("/"):
        return None
    folded = key(stripped)
    if folded in WORD_COMMANDS:
        return WORD_COMMANDS[folded], ""
    for words, command in WORD_COMMANDS_WITH_ARGS.items():
        if folded.startswith(words + " "):
            # The argument as typed (a code keeps its letters), after the command's words.
            raw_words = stripped.split()
            return command, " ".join(raw_words[len(words.split()) :])
    return None
