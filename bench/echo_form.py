"""What a form-shaped echo bot answers: the idea form's Bot API calls, with no form behind them.

The bare echo bots answer each update with one sendMessage. The full bot answers a pressed
button with two calls (``answerCallbackQuery``, then ``editMessageText`` turning the message
into the next question with its buttons) and a typed answer with a message with buttons. With
``--form`` the echo bots (``bench/echo_aiogram.py``, ``bench/echo_ptb.py``) make those same
calls with keyboards of the same sizes, driven by the throughput benchmark's own form steps:
the ceiling of the framework and the Bot API traffic alone, without the database or the flows.
Left out: the card each submission also sends to the support team (one call in fifteen).
"""

from __future__ import annotations

from typing import Final

CATEGORIES: Final = ("technical", "management", "operations", "technology", "safety", "other")
BENEFITS: Final = ("cost", "productivity", "quality", "safety", "environment", "other")
PREFIX: Final = "e"

Keyboard = list[list[tuple[str, str]]]  # rows of (label, callback data)


def _buttons(*picks: str) -> Keyboard:
    return [[(pick.rsplit(":", 1)[-1].title(), f"{PREFIX}:{pick}")] for pick in picks]


DONE: Final = _buttons("body:done", "body:cancel")
CATEGORY: Final = _buttons(*(f"category:pick:{c}" for c in CATEGORIES))
BENEFIT: Final = _buttons(*(f"benefit:pick:{b}" for b in BENEFITS))
AMOUNT: Final = _buttons("amount:skip")
CONFIDENTIAL: Final = _buttons("confidential:pick:yes", "confidential:pick:no")
TITLE: Final = _buttons("title:share", "title:cancel")
# A confidential idea's title, typed by the benchmarks' workers (the bot asks for it).
TITLE_PREFIX: Final = "Tieu de"
REVIEW: Final = _buttons("review:submit", "review:edit")


def answer_text(text: str) -> tuple[str, Keyboard]:
    """The message that answers a typed text: the form's next question and its buttons."""
    if text.startswith("/"):
        return "Hãy viết sáng kiến của bạn.", []
    if text.endswith("trieu"):  # the amount
        return "Sáng kiến này có cần bảo mật không?", CONFIDENTIAL
    if text.startswith(TITLE_PREFIX):  # a confidential idea's title
        return "Xem lại và gửi:", REVIEW
    return f"Đã nhận: {text}", DONE


def answer_press(data: str) -> tuple[str, Keyboard]:
    """What the pressed message turns into: the next question and its buttons."""
    step = data.split(":")[1] if data.count(":") >= 2 else ""
    if step == "body":
        return "Chọn lĩnh vực:", CATEGORY
    if step == "category":
        return "Chọn lợi ích:", BENEFIT
    if step == "benefit":
        return "Lợi ích ước tính bao nhiêu đồng? Gõ số tiền hoặc bỏ qua.", AMOUNT
    if step == "amount":
        return "Sáng kiến này có cần bảo mật không?", CONFIDENTIAL
    if step == "confidential" and data.endswith(":yes"):
        return "Đặt một tiêu đề ngắn (chỉ tiêu đề và lợi ích lên cấp trên):", TITLE
    if step == "confidential":
        return "Xem lại và gửi:", REVIEW
    return "Đã gửi sáng kiến SK-2026-000000.", []
