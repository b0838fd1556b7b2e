"""Callback data as typed values: the wire format stays what chats already hold."""

from __future__ import annotations

import pytest

from handlers import buttons
from handlers.buttons import (
    AnswerPress,
    ButtonDataError,
    CardPress,
    FlowPress,
    GlobalPress,
    GroupLanguagePress,
    Press,
    ProgressPress,
)
from handlers.limits import MAX_CALLBACK_DATA_BYTES

# Data exactly as the bot has always sent it, and the press each stands for.
WIRE: list[tuple[str, Press]] = [
    ("idea:a1b2c3:body:done", FlowPress("idea", "a1b2c3", "body", "done")),
    ("idea:a1b2c3:*:held:answer", FlowPress("idea", "a1b2c3", "*", "held", "answer")),
    ("join:a1b2c3:search:pick:17", FlowPress("join", "a1b2c3", "search", "pick", "17")),
    ("offer:a1b2c3:confirm:yes", FlowPress("offer", "a1b2c3", "confirm", "yes")),
    ("g:help:2", GlobalPress("help", "2")),
    ("g:lang:vi", GlobalPress("lang", "vi")),
    ("g:queue:0", GlobalPress("queue", "0")),
    ("g:help", GlobalPress("help")),
    ("tr:42:okq", CardPress(42, "okq")),
    ("tr:42:norq:duplicate", CardPress(42, "norq", "duplicate")),
    ("ans:42", AnswerPress(42)),
    ("pg:v:3:7", ProgressPress("v", 3, 7)),
    ("pg:v:3:7:2", ProgressPress("v", 3, 7, 2)),
    ("pg:x:3:7", ProgressPress("x", 3, 7)),
    ("glang:en", GroupLanguagePress("en")),
]


@pytest.mark.parametrize(("data", "press"), WIRE)
def test_round_trip(data: str, press: Press) -> None:
    assert press.pack() == data
    assert buttons.unpack(data) == press
    assert type(press).unpack(data) == press


def test_a_kind_refuses_another_kinds_data() -> None:
    assert CardPress.unpack("ans:42") is None
    assert AnswerPress.unpack("tr:42:ok") is None
    assert GlobalPress.unpack("glang:vi") is None


def test_packing_refuses_over_64_bytes() -> None:
    fits = GlobalPress("help", "x" * (MAX_CALLBACK_DATA_BYTES - len("g:help:")))
    assert len(fits.pack().encode()) == MAX_CALLBACK_DATA_BYTES
    with pytest.raises(ButtonDataError, match="64 bytes"):
        GlobalPress("help", "x" * (MAX_CALLBACK_DATA_BYTES - len("g:help:") + 1)).pack()
    # Bytes, not characters: "ế" is three bytes in UTF-8.
    with pytest.raises(ButtonDataError):
        FlowPress("idea", "a1b2c3", "body", "pick", "ế" * 20).pack()


def test_packing_refuses_the_separator_in_a_field() -> None:
    with pytest.raises(ButtonDataError, match="':'"):
        FlowPress("idea", "a1b2c3", "body", "pick", "a:b").pack()
    with pytest.raises(ButtonDataError):
        CardPress(1, "nor:other").pack()


@pytest.mark.parametrize(
    "data",
    [
        "",
        ":",
        "idea",
        "idea:a1b2c3",
        "g",
        "tr",
        "tr:42",
        "ans",
        "ans:",
        "pg:v:3",
        "pg:z:3:7",
        "glang",
        "glang:vi:x",
    ],
)
def test_malformed_data_is_none(data: str) -> None:
    assert buttons.unpack(data) is None


def test_fields_after_the_last_are_ignored() -> None:
    """As callback data was always read: a flow's button with more parts still works."""
    assert buttons.unpack("idea:a1b2c3:review:submit:1:2:3") == FlowPress(
        "idea", "a1b2c3", "review", "submit", "1"
    )
    assert buttons.unpack("tr:42:ok:x:y") == CardPress(42, "ok", "x")
    assert buttons.unpack("ans:42:x") == AnswerPress(42)
    assert buttons.unpack("pg:v:3:7:2:9") == ProgressPress("v", 3, 7, 2)
    assert buttons.unpack("g:help:2:3") == GlobalPress("help", "2")
    assert buttons.unpack("glang:vi:x") is None  # the language is read whole


@pytest.mark.parametrize("data", ["tr:42:ok:x:²", "ans:42:²", "pg:v:3:7:2:²"])
def test_ignored_fields_are_not_read(data: str) -> None:
    assert buttons.unpack(data) is not None


@pytest.mark.parametrize(
    "raw_id",
    ["²", "٣", "-1", "+1", " 1", "1.0", "0x1", "1" * 19, "99999999999999999999999", "abc", ""],
)
def test_forged_ids_are_none(raw_id: str) -> None:
    assert buttons.unpack(f"tr:{raw_id}:ok") is None
    assert buttons.unpack(f"ans:{raw_id}") is None
    assert buttons.unpack(f"pg:v:{raw_id}:7") is None
    assert buttons.unpack(f"pg:v:3:{raw_id}") is None
    assert buttons.unpack(f"pg:v:3:7:{raw_id}") is None


def test_the_longest_id_is_read() -> None:
    assert buttons.unpack("ans:" + "9" * 18) == AnswerPress(int("9" * 18))


def test_kind_by_first_field() -> None:
    assert buttons.kind_of("tr:1:ok") is CardPress
    assert buttons.kind_of("tr") is CardPress
    assert buttons.kind_of("idea:n:body") is FlowPress
    assert buttons.kind_of("anything") is FlowPress
