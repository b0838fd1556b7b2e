"""aiogram imported with its models built on first use (bot/telegram/aiogram_models.py).

Each check runs in a fresh interpreter: in this one aiogram may already be imported the
usual way by another test module, and the deferral only applies to the first import.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Prints, for every pydantic model among aiogram's types and methods, whether it is
# built and a digest of its JSON schema for validation and for serialisation (the
# core schemas differ in form only: a deferred build refers to a nested model where an
# eager one copies it in). A few methods hold what JSON schema cannot express, such as
# an exception: for them only the build is compared.
SCHEMAS = textwrap.dedent(
    """
    import hashlib, json, sys
    if sys.argv[1] == "deferred":
        from bot.telegram import aiogram_adapter  # imports aiogram through aiogram_models
        from bot.telegram import aiogram_models
        assert aiogram_models.deferred
        import aiogram.types as types
        assert not types.Update.__pydantic_complete__, "Update built at import"
    else:
        import aiogram.types as types
        assert types.Update.__pydantic_complete__
    import aiogram.methods as methods
    from pydantic import BaseModel
    from pydantic.errors import PydanticInvalidForJsonSchema

    def digests():  # a function: pydantic's deferred build looks a few frames up
        out = {}
        for module in (types, methods):
            for name in module.__all__:
                cls = getattr(module, name)
                if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
                    continue
                cls.__pydantic_validator__.validate_python  # builds the model, if it can
                try:
                    modes = ("validation", "serialization")
                    schemas = [cls.model_json_schema(mode=m) for m in modes]
                except PydanticInvalidForJsonSchema:
                    digest = None
                else:
                    text = json.dumps(schemas, sort_keys=True)
                    digest = hashlib.sha256(text.encode()).hexdigest()
                out[f"{module.__name__}.{name}"] = [digest, cls.__pydantic_complete__]
        return out
    print(json.dumps(digests()))
    """
)

# A first use with nothing built before: an update in, a method with a keyboard out.
FIRST_USE = textwrap.dedent(
    """
    import json
    from bot.telegram import aiogram_adapter
    from aiogram.methods import EditMessageText
    from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Update

    update = Update.model_validate({
        "update_id": 7,
        "callback_query": {
            "id": "q1", "chat_instance": "c", "data": "sk:1:category:pick:safety",
            "from": {"id": 5, "is_bot": False, "first_name": "Lan", "language_code": "vi"},
            "message": {
                "message_id": 3, "date": 1700000000,
                "chat": {"id": 5, "type": "private"},
                "from": {"id": 99, "is_bot": True, "first_name": "Bot"},
                "text": "Chọn lĩnh vực",
            },
        },
    })
    query = update.callback_query
    method = EditMessageText(
        chat_id=query.message.chat.id, message_id=query.message.message_id,
        text="Lợi ích?",
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[[
            InlineKeyboardButton(text="Năng suất", callback_data="sk:1:benefit:pick:productivity")
        ]]),
    )
    print(json.dumps({
        "user": query.from_user.first_name,
        "data": query.data,
        "chat": query.message.chat.id,
        "method": method.model_dump(mode="json", exclude_none=True, exclude_defaults=True),
    }))
    """
)


def start(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def result(process: subprocess.Popen[str]) -> object:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-3000:]
    return json.loads(out)


def test_every_aiogram_model_builds_the_same_when_deferred() -> None:
    both = start(SCHEMAS, "eager"), start(SCHEMAS, "deferred")  # side by side: 2 cores
    eager, deferred = (result(process) for process in both)
    assert isinstance(eager, dict) and isinstance(deferred, dict)
    assert len(eager) > 400  # aiogram's types and methods, not an empty import
    assert deferred.keys() == eager.keys()
    differing = sorted(name for name in eager if deferred[name][0] != eager[name][0])
    assert differing == []
    assert all(complete for _, complete in deferred.values())
    # Nearly all are compared by schema, not only by being built.
    assert sum(digest is not None for digest, _ in eager.values()) > 0.9 * len(eager)


def test_a_deferred_model_parses_an_update_and_serialises_a_method_on_first_use() -> None:
    out = result(start(FIRST_USE))
    assert out == {
        "user": "Lan",
        "data": "sk:1:category:pick:safety",
        "chat": 5,
        "method": {
            "chat_id": 5,
            "message_id": 3,
            "text": "Lợi ích?",
            "reply_markup": {
                "inline_keyboard": [
                    [
                        {
                            "text": "Năng suất",
                            "callback_data": "sk:1:benefit:pick:productivity",
                        }
                    ]
                ]
            },
        },
    }


# The bot builds what every form needs once it is up (AiogramTelegram.warm_up), so that the
# first button a worker presses after a start does not pay for it.
WARM_UP = textwrap.dedent(
    """
    import asyncio, json
    from bot.telegram import aiogram_adapter as adapter

    everyday = (*adapter.EVERYDAY_TYPES, *adapter.EVERYDAY_METHODS)
    def built():
        return sorted(kind.__name__ for kind in everyday if kind.__pydantic_complete__)
    before = built()
    telegram = adapter.AiogramTelegram("123:abc", "http://127.0.0.1:9", request_timeout=1)
    asyncio.run(telegram.warm_up())
    answers = adapter._Session._answers
    edited = answers[adapter.EditMessageText].model_validate(
        {"ok": True, "result": {"message_id": 4, "date": 1700000000,
                                "chat": {"id": 5, "type": "private"}, "text": "Lợi ích?"}}
    )
    print(json.dumps({
        "before": before,
        "after": built(),
        "answers": sorted(kind.__name__ for kind in answers),
        "edited": [edited.result.message_id, edited.result.text],
    }))
    """
)


def test_warm_up_builds_what_every_form_needs_before_the_first_update() -> None:
    out = result(start(WARM_UP))
    assert isinstance(out, dict)
    # Left for the first form at import (aiogram itself builds AnswerCallbackQuery).
    assert {"CallbackQuery", "EditMessageText", "SendMessage"}.isdisjoint(out["before"])
    everyday = "AnswerCallbackQuery CallbackQuery EditMessageText InlineKeyboardMarkup Message"
    assert out["after"] == [*everyday.split(), "SendMessage"]
    assert out["answers"] == ["AnswerCallbackQuery", "EditMessageText", "SendMessage"]
    assert out["edited"] == [4, "Lợi ích?"]  # the kept answer model reads a real answer
