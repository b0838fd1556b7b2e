"""Settings of one stand-in server."""

from __future__ import annotations

from dataclasses import dataclass, field

from standins.telegram.limits import LimitsConfig

DEFAULT_BOT_USERNAME = "sangkien_bot"
DEFAULT_BOT_FIRST_NAME = "Sáng kiến bot"


@dataclass
class StandinConfig:
    bot_username: str = DEFAULT_BOT_USERNAME
    bot_first_name: str = DEFAULT_BOT_FIRST_NAME
    # The bot's user id. None: taken from the first valid token a bot calls with; calls with
    # a token of another bot then get 401, as a revoked token would.
    bot_id: int | None = None
    # Check every result against the official type list; a mismatch is a stand-in bug and
    # answers 500 instead of sending the libraries something they might choke on.
    validate_results: bool = True
    # Reject a bare "&" in HTML text. Telegram itself keeps it as a literal "&".
    strict_ampersand: bool = False
    # The longest getUpdates long poll honoured, in seconds.
    max_long_poll: float = 50.0
    # Unanswered callback queries expire after this many seconds (None: never).
    callback_query_ttl: float | None = None
    first_update_id: int = 1
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    # Webhook delivery (docs/STANDIN.md, "Webhook delivery").
    # Backends behind a load balancer: with any, the URL given to setWebhook is the public one
    # and each request goes to one of these (round-robin); without, to the setWebhook URL.
    webhook_targets: list[str] = field(default_factory=list)
    # Seconds to wait for the webhook's answer before the attempt counts as failed (Telegram: 60).
    webhook_timeout: float = 60.0
    # Pause before the first retry of a failed update; it doubles with every failure up to
    # webhook_retry_max_delay. A Retry-After header on the failed answer is honoured instead.
    webhook_retry_delay: float = 1.0
    webhook_retry_max_delay: float = 60.0
    # How long the load balancer skips a target that refused a connection.
    webhook_target_cooldown: float = 5.0
