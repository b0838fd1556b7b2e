"""Limits of the messengers and of the bot's own forms, each named once.

The Telegram figures are the Bot API's documented limits; flows cite these names,
never the bare numbers.
"""

from typing import Final

MAX_TEXT_CHARS: Final = 4096  # sendMessage text, after entity parsing
MAX_CAPTION_CHARS: Final = 1024
MAX_CALLBACK_DATA_BYTES: Final = 64
MAX_DEEP_LINK_PAYLOAD: Final = 64

# The bot's own bounds, chosen so a whole idea card fits one Telegram message.
MAX_IDEA_BODY_CHARS: Final = 3000
MAX_IDEA_TITLE_CHARS: Final = 120
# A typed title says what the idea is about in a few words: at least this long, with a letter.
MIN_IDEA_TITLE_CHARS: Final = 5
MIN_IDEA_BODY_CHARS: Final = 10
MAX_IDEA_FILES: Final = 10
MAX_SEARCH_QUERY_CHARS: Final = 100
UNIT_SEARCH_RESULTS: Final = 8
MY_IDEAS_PAGE: Final = 8
# A message at least this long sent outside any flow is offered as an idea.
LONG_MESSAGE_CHARS: Final = 40
