"""Settings: ``config.yaml`` first, environment variables over it.

Every field is documented in config.yaml; the names of the environment variables
that override them are listed here once, in :data:`ENV_OVERRIDES`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, is_dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from bot.config_bots import WEBHOOK_SECRET
from bot.config_bots import BotSettings as BotSettings
from bot.config_bots import ConfigError as ConfigError
from handlers.council_policy import CouncilPolicy
from storage.instances import instance_name
from storage.invites import MAX_DAYS as MAX_INVITE_DAYS
from storage.retention import MIN_KEEP

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config.yaml"


@dataclass(frozen=True)
class TelegramSettings:
    token: str = ""
    api_base: str = "https://api.telegram.org"
    framework: str = "aiogram"
    polling_timeout: int = 25
    request_timeout: float = 35.0
    # Webhook mode (`python -m bot run --webhook`): the public HTTPS URL given to
    # setWebhook, the secret Telegram sends back in a header, where the bot listens.
    webhook_url: str = ""
    webhook_secret: str = ""
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8089
    webhook_path: str = "/telegram/webhook"
    webhook_max_connections: int = 40
    # More bots served by the same deployment (issue #22, docs/BOTS.md).
    bots: tuple[BotSettings, ...] = ()

    def __post_init__(self) -> None:
        for bot in self.bots:
            bot.check()
        names = [bot.name for bot in self.bots]
        if len(set(names)) < len(names):
            raise ConfigError("telegram.bots: two bots have the same name")
        if self.bots and len({self.token, *(b.token for b in self.bots)} - {""}) <= len(names):
            raise ConfigError("telegram.bots: the main token and each bot's must differ")
        # Messages name the setting, never the secret's value.
        if self.webhook_secret and not WEBHOOK_SECRET.fullmatch(self.webhook_secret):
            raise ConfigError(
                "telegram.webhook_secret must be 1-256 characters of A-Z a-z 0-9 _ - "
                "(what Telegram accepts)"
            )
        if self.webhook_url:
            parts = urlsplit(self.webhook_url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ConfigError(
                    "telegram.webhook_url must be an https:// URL (the public address "
                    "Telegram posts updates to)"
                )
        if not 1 <= self.webhook_max_connections <= 100:
            raise ConfigError(
                "telegram.webhook_max_connections must be 1-100, "
                f"not {self.webhook_max_connections}"
            )
        if not 0 <= self.webhook_port <= 65535:
            raise ConfigError(f"telegram.webhook_port must be 0-65535, not {self.webhook_port}")
        if not self.webhook_path.startswith("/"):
            raise ConfigError(
                f"telegram.webhook_path must start with '/', not {self.webhook_path!r}"
            )

    @property
    def unit_routes(self) -> dict[str, str]:
        """Unit code -> the route of the further bot that serves it (handlers.bots)."""
        return {code: bot.route for bot in self.bots for code in bot.units.split()}

    def webhook_problem(self) -> str | None:
        """Why webhook mode cannot run with these settings (None: it can)."""
        missing = [
            f"telegram.{name} ({variable})"
            for name, variable in (
                ("token", "TELEGRAM_BOT_TOKEN"),
                ("webhook_url", "TELEGRAM_WEBHOOK_URL"),
                ("webhook_secret", "TELEGRAM_WEBHOOK_SECRET"),
            )
            if not getattr(self, name).strip()
        ]
        missing += [
            f"telegram.bots {b.name}: webhook_secret" for b in self.bots if not b.webhook_secret
        ]
        if missing:
            return f"webhook mode needs {', '.join(missing)}"
        return None


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite+aiosqlite:///data/sangkien.db"


@dataclass(frozen=True)
class SendLimits:
    global_per_second: float = 30.0
    private_per_second: float = 1.0
    private_burst: int = 3
    group_per_minute: float = 20.0
    # Messages the bot may send at once above its steady global rate; replies and
    # cards only: announcements keep to the steady rate, so this stays free for them.
    reply_burst: int = 4
    # Telegram Stars paid broadcasting (issue #19): only announcements use the higher
    # rate, and only when the operator has enabled it on the bot.
    allow_paid_broadcast: bool = False
    paid_per_second: float = 1000.0

    def __post_init__(self) -> None:
        if not 1 <= self.reply_burst <= 30:
            raise ConfigError(f"send_limits.reply_burst must be 1-30, not {self.reply_burst}")


@dataclass(frozen=True)
class RuntimeSettings:
    max_in_flight: int = 128
    send_max_attempts: int = 8
    update_max_attempts: int = 3
    # One person's input: a burst of this many updates, then this many a second.
    input_burst: int = 20
    input_per_second: float = 1.0
    # A button press still being handled after this is answered at once (Telegram waits ~15 s).
    button_grace_seconds: float = 2.0
    # This process's name among several sharing one database (empty: the host name).
    instance: str = ""

    @property
    def instance_name(self) -> str:
        return instance_name(self.instance)


@dataclass(frozen=True)
class ReminderSettings:
    working_days: int = 3
    # A recognised initiative takes longer to put into use: the team is reminded after
    # this many working days, the team above told after as many again.
    apply_working_days: int = 20
    weekdays: str = "mon tue wed thu fri"
    check_minutes: float = 10.0
    # The year's days off beyond the public holidays, YYYY-MM-DD (a list in YAML).
    extra_days_off: str = ""

    def __post_init__(self) -> None:
        for name in ("working_days", "apply_working_days"):
            if not 1 <= getattr(self, name) <= MAX_WAIT_WORKING_DAYS:
                raise ConfigError(
                    f"reminders.{name} must be 1-{MAX_WAIT_WORKING_DAYS}, not {getattr(self, name)}"
                )

    @property
    def weekday_numbers(self) -> frozenset[int]:
        """Monday is 0, as in :meth:`datetime.weekday`."""
        names = self.weekdays.lower().replace(",", " ").split()
        unknown = [n for n in names if n[:3] not in WEEKDAYS]
        if unknown or not names:
            raise ConfigError(f"reminders.weekdays: unknown day(s) {unknown or names}")
        return frozenset(WEEKDAYS.index(n[:3]) for n in names)

    @property
    def extra_day_dates(self) -> frozenset[date]:
        days = set()
        for text in self.extra_days_off.replace(",", " ").split():
            try:
                days.add(date.fromisoformat(text))
            except ValueError as exc:
                raise ConfigError(
                    f"reminders.extra_days_off: {text!r} is not a date YYYY-MM-DD"
                ) from exc
        return frozenset(days)


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_WAIT_WORKING_DAYS = 250  # about a working year


@dataclass(frozen=True)
class CouncilSettings:
    """The initiative council's scoring (handlers/council_policy.py)."""

    criteria: str = "novelty applicability benefit safety"
    quorum: int = 3
    scale: int = 5

    @property
    def policy(self) -> CouncilPolicy:
        names = tuple(self.criteria.replace(",", " ").split())
        try:
            return CouncilPolicy(criteria=names, quorum=self.quorum, scale=self.scale)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc


@dataclass(frozen=True)
class NudgeSettings:
    """The weekly nudge to support teams behind their pro-rata quota (Vietnam time)."""

    enabled: bool = True
    weekday: str = "mon"
    hour: int = 9
    check_minutes: float = 30.0

    @property
    def weekday_number(self) -> int:
        name = self.weekday.strip().lower()[:3]
        if name not in WEEKDAYS:
            raise ConfigError(f"nudges.weekday: unknown day {self.weekday!r}")
        return WEEKDAYS.index(name)

    def __post_init__(self) -> None:
        self.weekday_number  # noqa: B018  (validates the name now)
        if not 0 <= self.hour <= 23:
            raise ConfigError(f"nudges.hour must be 0-23, not {self.hour}")


@dataclass(frozen=True)
class TeamSettings:
    """The support team managed in the chat (/team)."""

    # A team none of whose members has acted on an idea for this many days is treated
    # as empty: its ideas and reminders go to the nearest unit above with a team.
    inactive_days: int = 30
    # A colleague's invite made from /team expires after this many hours.
    invite_hours: int = 48

    def __post_init__(self) -> None:
        if not 1 <= self.inactive_days <= 365:
            raise ConfigError(f"team.inactive_days must be 1-365, not {self.inactive_days}")
        if not 1 <= self.invite_hours <= 24 * 30:
            raise ConfigError(f"team.invite_hours must be 1-720, not {self.invite_hours}")


@dataclass(frozen=True)
class WebSettings:
    """The dashboard (docs/DASHBOARD.md): a web page served by the bot process itself,
    opened as a Telegram Mini App or, from a one-time /dashboard link, in a browser."""

    enabled: bool = True
    listen: str = "127.0.0.1"
    port: int = 8090
    # The address people open (Telegram opens Mini Apps over https only), usually a
    # reverse proxy in front of the listener. Empty: http://listen:port, for a local try.
    public_url: str = ""
    # A Mini App's initData is accepted for this long after Telegram signed it.
    init_data_max_age_minutes: int = 60
    # A /dashboard sign-in link works once, within this many minutes.
    sign_in_minutes: int = 10
    # A browser signed in by such a link stays signed in this long.
    session_hours: int = 8

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"web.port must be 0-65535, not {self.port}")
        if not 1 <= self.init_data_max_age_minutes <= 24 * 60:
            raise ConfigError(
                "web.init_data_max_age_minutes must be 1-1440, "
                f"not {self.init_data_max_age_minutes}"
            )
        if not 1 <= self.sign_in_minutes <= 60:
            raise ConfigError(f"web.sign_in_minutes must be 1-60, not {self.sign_in_minutes}")
        if not 1 <= self.session_hours <= 24 * 7:
            raise ConfigError(f"web.session_hours must be 1-168, not {self.session_hours}")
        if self.public_url and not self.public_url.startswith(("https://", "http://")):
            raise ConfigError("web.public_url must start with https:// (or http:// for a test)")

    @property
    def base_url(self) -> str:
        """Where the page is reached: the public address, else the listener's."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.listen}:{self.port}"


@dataclass(frozen=True)
class LoggingSettings:
    level: str = "INFO"


@dataclass(frozen=True)
class TryItSettings:
    database: str = "data/tryit.db"


@dataclass(frozen=True)
class DigestSettings:
    """The weekly progress digest for subscribed officials (Vietnam time)."""

    weekday: str = "mon"
    hour: int = 8
    check_minutes: float = 5.0

    @property
    def weekday_number(self) -> int:
        """Monday is 0, as in :meth:`datetime.weekday`."""
        name = self.weekday.strip().lower()[:3]
        if name not in WEEKDAYS:
            raise ConfigError(f"digest.weekday: unknown day {self.weekday!r}")
        return WEEKDAYS.index(name)

    def __post_init__(self) -> None:
        self.weekday_number  # noqa: B018  (validates the name now, not at the first digest)
        if not 0 <= self.hour <= 23:
            raise ConfigError(f"digest.hour must be 0-23, not {self.hour}")


@dataclass(frozen=True)
class ReportsSettings:
    """Charts and spreadsheets for officials."""

    directory: str = "data/reports"
    export_max_rows: int = 100_000
    check_seconds: float = 1.0


@dataclass(frozen=True)
class InvitesSettings:
    """Invite links issued with ``python -m bot invite``."""

    # Days until a support, official or admin invite expires unless --days or
    # --never-expires says otherwise (member invites never expire by default).
    role_days: int = 7

    def __post_init__(self) -> None:
        if not 1 <= self.role_days <= MAX_INVITE_DAYS:
            raise ConfigError(
                f"invites.role_days must be 1-{MAX_INVITE_DAYS} days, not {self.role_days}"
            )


@dataclass(frozen=True)
class ZaloSettings:
    """The Zalo channel (docs/ZALO.md): on when enabled and a token is set."""

    enabled: bool = True
    token: str = ""
    api_base: str = "https://bot-api.zaloplatforms.com"
    polling_timeout: int = 30
    request_timeout: float = 40.0
    # Webhook mode when webhook_url is set (the public HTTPS URL given to setWebhook).
    webhook_url: str = ""
    webhook_secret: str = ""
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8088
    webhook_path: str = "/zalo/webhook"
    # Zalo publishes no rate limits: every Zalo call also waits on these.
    send_global_per_second: float = 10.0
    send_per_chat_per_second: float = 1.0
    send_per_chat_burst: int = 3
    # Photos from Zalo re-uploaded to Telegram: at most this size.
    max_photo_mb: float = 10.0

    @property
    def active(self) -> bool:
        return self.enabled and bool(self.token.strip())

    def __post_init__(self) -> None:
        if self.webhook_url and not 8 <= len(self.webhook_secret) <= 256:
            raise ConfigError("zalo.webhook_secret must be 8-256 characters in webhook mode")
        if self.send_global_per_second <= 0 or self.send_per_chat_per_second <= 0:
            raise ConfigError("zalo.send_* rates must be above 0")


@dataclass(frozen=True)
class RetentionSettings:
    """How long handled update ids and inbox rows are kept (storage/retention.py)."""

    days: int = 7
    check_minutes: float = 60.0

    def __post_init__(self) -> None:
        if self.days < MIN_KEEP.days:
            raise ConfigError(
                f"retention.days must be at least {MIN_KEEP.days}, not {self.days}: "
                "a redelivered update must still find its id (Telegram redelivers for 24 hours)"
            )
        if self.check_minutes <= 0:
            raise ConfigError(f"retention.check_minutes must be above 0, not {self.check_minutes}")


@dataclass(frozen=True)
class Settings:
    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    send_limits: SendLimits = field(default_factory=SendLimits)
    runtime: RuntimeSettings = field(default_factory=RuntimeSettings)
    reminders: ReminderSettings = field(default_factory=ReminderSettings)
    council: CouncilSettings = field(default_factory=CouncilSettings)
    nudges: NudgeSettings = field(default_factory=NudgeSettings)
    team: TeamSettings = field(default_factory=TeamSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    tryit: TryItSettings = field(default_factory=TryItSettings)
    digest: DigestSettings = field(default_factory=DigestSettings)
    reports: ReportsSettings = field(default_factory=ReportsSettings)
    zalo: ZaloSettings = field(default_factory=ZaloSettings)
    invites: InvitesSettings = field(default_factory=InvitesSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    web: WebSettings = field(default_factory=WebSettings)


ENV_OVERRIDES: dict[str, tuple[str, str]] = {
    "TELEGRAM_BOT_TOKEN": ("telegram", "token"),
    "TELEGRAM_API_BASE": ("telegram", "api_base"),
    "TELEGRAM_FRAMEWORK": ("telegram", "framework"),
    "TELEGRAM_POLLING_TIMEOUT": ("telegram", "polling_timeout"),
    "TELEGRAM_REQUEST_TIMEOUT": ("telegram", "request_timeout"),
    "TELEGRAM_WEBHOOK_URL": ("telegram", "webhook_url"),
    "TELEGRAM_WEBHOOK_SECRET": ("telegram", "webhook_secret"),
    "TELEGRAM_WEBHOOK_LISTEN": ("telegram", "webhook_listen"),
    "TELEGRAM_WEBHOOK_PORT": ("telegram", "webhook_port"),
    "TELEGRAM_WEBHOOK_PATH": ("telegram", "webhook_path"),
    "TELEGRAM_WEBHOOK_MAX_CONNECTIONS": ("telegram", "webhook_max_connections"),
    "DATABASE_URL": ("database", "url"),
    "SEND_GLOBAL_PER_SECOND": ("send_limits", "global_per_second"),
    "SEND_PRIVATE_PER_SECOND": ("send_limits", "private_per_second"),
    "SEND_PRIVATE_BURST": ("send_limits", "private_burst"),
    "SEND_GROUP_PER_MINUTE": ("send_limits", "group_per_minute"),
    "SEND_REPLY_BURST": ("send_limits", "reply_burst"),
    "SEND_ALLOW_PAID_BROADCAST": ("send_limits", "allow_paid_broadcast"),
    "SEND_PAID_PER_SECOND": ("send_limits", "paid_per_second"),
    "NUDGES_ENABLED": ("nudges", "enabled"),
    "NUDGES_WEEKDAY": ("nudges", "weekday"),
    "NUDGES_HOUR": ("nudges", "hour"),
    "NUDGES_CHECK_MINUTES": ("nudges", "check_minutes"),
    "TEAM_INACTIVE_DAYS": ("team", "inactive_days"),
    "TEAM_INVITE_HOURS": ("team", "invite_hours"),
    "RUNTIME_MAX_IN_FLIGHT": ("runtime", "max_in_flight"),
    "RUNTIME_SEND_MAX_ATTEMPTS": ("runtime", "send_max_attempts"),
    "RUNTIME_UPDATE_MAX_ATTEMPTS": ("runtime", "update_max_attempts"),
    "RUNTIME_INPUT_BURST": ("runtime", "input_burst"),
    "RUNTIME_INPUT_PER_SECOND": ("runtime", "input_per_second"),
    "RUNTIME_BUTTON_GRACE_SECONDS": ("runtime", "button_grace_seconds"),
    "BOT_INSTANCE": ("runtime", "instance"),
    "COUNCIL_CRITERIA": ("council", "criteria"),
    "COUNCIL_QUORUM": ("council", "quorum"),
    "COUNCIL_SCALE": ("council", "scale"),
    "REMINDER_WORKING_DAYS": ("reminders", "working_days"),
    "REMINDER_APPLY_WORKING_DAYS": ("reminders", "apply_working_days"),
    "REMINDER_WEEKDAYS": ("reminders", "weekdays"),
    "REMINDER_CHECK_MINUTES": ("reminders", "check_minutes"),
    "REMINDER_EXTRA_DAYS_OFF": ("reminders", "extra_days_off"),
    "LOG_LEVEL": ("logging", "level"),
    "TRYIT_DATABASE": ("tryit", "database"),
    "DIGEST_WEEKDAY": ("digest", "weekday"),
    "DIGEST_HOUR": ("digest", "hour"),
    "DIGEST_CHECK_MINUTES": ("digest", "check_minutes"),
    "REPORTS_DIRECTORY": ("reports", "directory"),
    "REPORTS_EXPORT_MAX_ROWS": ("reports", "export_max_rows"),
    "REPORTS_CHECK_SECONDS": ("reports", "check_seconds"),
    "ZALO_ENABLED": ("zalo", "enabled"),
    "ZALO_BOT_TOKEN": ("zalo", "token"),
    "ZALO_API_BASE": ("zalo", "api_base"),
    "ZALO_POLLING_TIMEOUT": ("zalo", "polling_timeout"),
    "ZALO_REQUEST_TIMEOUT": ("zalo", "request_timeout"),
    "ZALO_WEBHOOK_URL": ("zalo", "webhook_url"),
    "ZALO_WEBHOOK_SECRET": ("zalo", "webhook_secret"),
    "ZALO_WEBHOOK_LISTEN": ("zalo", "webhook_listen"),
    "ZALO_WEBHOOK_PORT": ("zalo", "webhook_port"),
    "ZALO_WEBHOOK_PATH": ("zalo", "webhook_path"),
    "ZALO_SEND_GLOBAL_PER_SECOND": ("zalo", "send_global_per_second"),
    "ZALO_SEND_PER_CHAT_PER_SECOND": ("zalo", "send_per_chat_per_second"),
    "ZALO_SEND_PER_CHAT_BURST": ("zalo", "send_per_chat_burst"),
    "ZALO_MAX_PHOTO_MB": ("zalo", "max_photo_mb"),
    "INVITES_ROLE_DAYS": ("invites", "role_days"),
    "RETENTION_DAYS": ("retention", "days"),
    "RETENTION_CHECK_MINUTES": ("retention", "check_minutes"),
    "WEB_ENABLED": ("web", "enabled"),
    "WEB_LISTEN": ("web", "listen"),
    "WEB_PORT": ("web", "port"),
    "WEB_PUBLIC_URL": ("web", "public_url"),
    "WEB_INIT_DATA_MAX_AGE_MINUTES": ("web", "init_data_max_age_minutes"),
    "WEB_SIGN_IN_MINUTES": ("web", "sign_in_minutes"),
    "WEB_SESSION_HOURS": ("web", "session_hours"),
}

FRAMEWORKS = ("aiogram", "ptb")


def load_settings(path: Path | None = None, env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ) if env is None else env
    if path is None:
        named = env.get("SANGKIEN_CONFIG")
        path = Path(named) if named else DEFAULT_CONFIG
    raw: dict[str, Any] = {}
    if path.exists():
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level")
        raw = loaded
    elif env.get("SANGKIEN_CONFIG"):
        raise ConfigError(f"config file {path} does not exist")
    for variable, (section, key) in ENV_OVERRIDES.items():
        if variable in env:
            raw.setdefault(section, {})
            if not isinstance(raw[section], dict):
                raise ConfigError(f"{path}: section {section!r} must be a mapping")
            raw[section][key] = env[variable]
    settings: Settings = _build(Settings, raw, "")
    settings.reminders.weekday_numbers  # noqa: B018  (validates the names now, not later)
    settings.reminders.extra_day_dates  # noqa: B018  (likewise)
    settings.council.policy  # noqa: B018  (likewise)
    if settings.telegram.framework not in FRAMEWORKS:
        raise ConfigError(
            f"telegram.framework must be one of {', '.join(FRAMEWORKS)}, "
            f"not {settings.telegram.framework!r}"
        )
    return settings


def _build(cls: Any, raw: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    unknown = set(raw) - set(known)
    if unknown:
        raise ConfigError(f"unknown setting(s) {', '.join(sorted(where + k for k in unknown))}")
    values: dict[str, Any] = {}
    defaults = cls()
    for name, spec in known.items():
        if name not in raw:
            continue
        default = getattr(defaults, name)
        value = raw[name]
        if name == "bots" and cls is TelegramSettings:
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise ConfigError(f"{where}{name} must be a list of mappings")
            values[name] = tuple(_build(BotSettings, v, f"{where}{name}.") for v in value)
        elif is_dataclass(default):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}{name} must be a mapping")
            values[name] = _build(type(default), value, f"{where}{name}.")
        else:
            values[name] = _coerce(value, type(default), f"{where}{name}")
        del spec
    return replace(defaults, **values)


def _coerce(value: Any, kind: type, name: str) -> Any:
    if value is None:
        value = ""
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            return str(value).strip().lower() in ("1", "true", "yes", "on")
        if kind is int:
            return int(value)
        if kind is float:
            return float(value)
        if isinstance(value, list):  # a list where words are read (e.g. days off)
            return " ".join(str(item) for item in value)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name} must be a {kind.__name__}, not {value!r}") from exc
