"""Settings, read once from the environment (and a `.env` file) at start."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.domain import Urgency
from bot.rules.chain import Level, LevelKind, parse_chain
from bot.rules.sales import SalesThresholds


def _split_ids(value: object) -> object:
    if isinstance(value, str):
        return frozenset(part.strip() for part in value.split(",") if part.strip())
    return value


SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,31}")

# What .env.example and the docs show in place of a real value: a bot started with one of
# them would fail later and less clearly (Slack's invalid_auth six seconds in, say).
_PLACEHOLDER = re.compile(
    r"(\.\.\.|…|<[^>]*>|\b(change[-_ ]?me|your[-_ ]|replace[-_ ]?me|placeholder|todo|xxx+)\b)",
    re.IGNORECASE,
)


def is_placeholder(value: str) -> bool:
    return bool(_PLACEHOLDER.search(value))


# Each integration's settings, which only work together (half a Supabase configuration is
# refused outright: `Settings._supabase_needs_both`).
PARTNERS: dict[str, tuple[str, ...]] = {
    "Chatwoot": ("CHATWOOT_URL", "CHATWOOT_API_TOKEN", "CHATWOOT_ACCOUNT_ID"),
    "Shopify": ("SHOPIFY_SHOP", "SHOPIFY_ADMIN_TOKEN"),
}


class Settings(BaseSettings, SalesThresholds):
    """Every setting. Sales Pulse's thresholds are the fields of `SalesThresholds`, each
    declared once there beside its trigger, with its variable's name, and read here."""

    # An empty line in .env (`OCC_MANAGERS_GROUP=`) means unset, not "the empty string".
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", populate_by_name=True, env_ignore_empty=True
    )

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"

    database_url: str | None = None
    supabase_url: str | None = None
    supabase_service_role_key: SecretStr | None = None

    chatwoot_url: str | None = None
    chatwoot_api_token: SecretStr | None = None
    chatwoot_account_id: str | None = None
    chatwoot_webhook_secret: SecretStr | None = None
    # The webhook's own ?token=: its URL is seen by every Chatwoot admin and proxies' logs,
    # so it must not be the key to POST /drafts too.
    chatwoot_webhook_token: SecretStr | None = None

    shopify_shop: str | None = None
    shopify_admin_token: SecretStr | None = None

    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_model: str = Field("gpt-4o-mini", alias="OCC_OPENAI_MODEL")

    kb_dir: str | None = Field(None, alias="OCC_KB_DIR")
    approvals_channel: str = Field("#occ-approvals", alias="OCC_APPROVALS_CHANNEL")
    escalations_channel: str = Field("#occ-escalations", alias="OCC_ESCALATIONS_CHANNEL")
    sales_channel: str = Field("#occ-sales", alias="OCC_SALES_CHANNEL")
    reliability_channel: str = Field("#occ-reliability", alias="OCC_RELIABILITY_CHANNEL")
    managers: Annotated[frozenset[str], NoDecode] = Field(frozenset(), alias="OCC_MANAGERS")
    operators: Annotated[frozenset[str], NoDecode] = Field(frozenset(), alias="OCC_OPERATORS")
    intake_token: SecretStr | None = Field(None, alias="OCC_INTAKE_TOKEN")

    high_value_usd: float = Field(100.0, alias="OCC_HIGH_VALUE_USD", ge=0)
    sla_minutes_urgent: float = Field(15.0, alias="OCC_SLA_MINUTES_URGENT", gt=0)
    sla_minutes_high: float = Field(60.0, alias="OCC_SLA_MINUTES_HIGH", gt=0)
    sla_minutes_normal: float = Field(240.0, alias="OCC_SLA_MINUTES_NORMAL", gt=0)
    job_tick_seconds: float = Field(30.0, alias="OCC_JOB_TICK_SECONDS", gt=0)
    # How long one worker holds a Slack post before another may try it (it must outlast
    # slack_sdk's retries of a rate-limited post); a replica that dies mid-post delays the
    # message by this much.
    slack_post_lease_seconds: float = Field(300.0, alias="OCC_SLACK_POST_LEASE_SECONDS", ge=1)
    # Slack's chat.postMessage limit per channel: "1 per second", "short bursts >1 allowed"
    # (https://api.slack.com/docs/rate-limits, "Posting messages"); posts are paced to it.
    slack_posts_per_second: float = Field(1.0, alias="OCC_SLACK_POSTS_PER_SECOND", gt=0)
    slack_post_burst: int = Field(3, alias="OCC_SLACK_POST_BURST", ge=1)
    cx_sla_minutes: float = Field(60.0, alias="OCC_CX_SLA_MINUTES", gt=0)
    cx_scan_minutes: float = Field(5.0, alias="OCC_CX_SCAN_MINUTES", gt=0)
    sales_pulse_minutes: float = Field(15.0, alias="OCC_SALES_PULSE_MINUTES", gt=0)
    fulfillment_lead: str | None = Field(
        None, alias="OCC_FULFILLMENT_LEAD", pattern=r"^[UW][A-Z0-9]{2,31}$"
    )
    fulfillment_manager: str | None = Field(
        None, alias="OCC_FULFILLMENT_MANAGER", pattern=r"^[UW][A-Z0-9]{2,31}$"
    )
    timezone: str = Field("UTC", alias="OCC_TIMEZONE")
    spool_dir: str = Field("./occ-spool", alias="OCC_SPOOL_DIR")
    data_stale_minutes: float = Field(30.0, alias="OCC_DATA_STALE_MINUTES", gt=0)
    # A customer often sends several short messages in a row: drafting waits this long after
    # the latest one, so they become one draft that answers all of them.
    draft_quiet_seconds: float = Field(5.0, alias="OCC_DRAFT_QUIET_SECONDS", ge=0, le=300)
    # A Chatwoot Help Center portal (its slug) whose published articles each replica copies
    # into OCC_KB_DIR, every OCC_KB_SYNC_MINUTES.
    kb_help_center_portal: str | None = Field(
        None, alias="OCC_KB_HELP_CENTER_PORTAL", pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$"
    )
    kb_sync_minutes: float = Field(15.0, alias="OCC_KB_SYNC_MINUTES", gt=0)
    # A user's Home tab is redrawn this long after their latest decision: one views.publish
    # for a run of clicks, well inside Slack's limit for the method.
    digest_channel: str = Field("#occ-approvals", alias="OCC_DIGEST_CHANNEL")
    digest_weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = Field(
        "mon", alias="OCC_DIGEST_WEEKDAY"
    )
    digest_hour: int = Field(9, alias="OCC_DIGEST_HOUR", ge=0, le=23)
    training_channel: str = Field("#occ-training", alias="OCC_TRAINING_CHANNEL")
    # `/occ review`: how many of each operator's replies last week a manager reviews (the
    # documents give no number); each is a card in the manager's DM.
    qa_sample_size: int = Field(5, alias="OCC_QA_SAMPLE_SIZE", ge=1, le=20)
    home_refresh_seconds: float = Field(2.0, alias="OCC_HOME_REFRESH_SECONDS", ge=0, le=60)
    managers_group: str | None = Field(
        None, alias="OCC_MANAGERS_GROUP", pattern=r"^S[A-Z0-9]{2,31}$"
    )
    escalation_chain: Annotated[tuple[Level, ...], NoDecode] = Field(
        (Level(LevelKind.MANAGERS),), alias="OCC_ESCALATION_CHAIN"
    )
    reminders_per_level: int = Field(2, alias="OCC_REMINDERS_PER_LEVEL", ge=1)

    port: int = 3000

    _split_managers = field_validator("managers", "operators", mode="before")(_split_ids)

    @field_validator("managers", "operators")
    @classmethod
    def _user_ids(cls, value: frozenset[str]) -> frozenset[str]:
        wrong = sorted(v for v in value if not SLACK_USER_ID.fullmatch(v))
        if wrong:
            raise ValueError(
                f"not Slack user IDs: {', '.join(wrong)} (use IDs like U012AB3CD: a person's "
                "profile -> ⋮ -> Copy member ID)"
            )
        return value

    @model_validator(mode="after")
    def _no_placeholders(self) -> Settings:
        """A value copied unchanged from .env.example must not pass for a real one."""
        found = []
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            if isinstance(value, str) and is_placeholder(value):
                found.append((field.alias or name).upper())
        if found:
            raise ValueError(
                f"{', '.join(found)}: still the example's placeholder; set the real value, or "
                "remove the line to leave it unset"
            )
        return self

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from error
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @field_validator("escalation_chain", mode="before")
    @classmethod
    def _parse_chain(cls, value: object) -> object:
        return parse_chain(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _supabase_needs_both(self) -> Settings:
        """Half a Supabase configuration must not quietly fall back to a local SQLite file."""
        if not self.database_url and bool(self.supabase_url) != bool(
            self.supabase_service_role_key
        ):
            missing = "SUPABASE_SERVICE_ROLE_KEY" if self.supabase_url else "SUPABASE_URL"
            raise ValueError(
                f"{missing} is unset: set SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY together "
                "(or DATABASE_URL)"
            )
        return self

    @model_validator(mode="after")
    def _help_center_needs_a_folder(self) -> Settings:
        """Synced articles are files in the knowledge-base folder: there must be one of the
        user's own (the sample base ships inside the package), and a Chatwoot to read."""
        if self.kb_help_center_portal and not self.kb_dir:
            raise ValueError(
                "OCC_KB_HELP_CENTER_PORTAL needs OCC_KB_DIR: the folder the Help Center's "
                "articles are copied into"
            )
        if self.kb_help_center_portal and not self.chatwoot_enabled:
            raise ValueError(
                "OCC_KB_HELP_CENTER_PORTAL needs CHATWOOT_URL, CHATWOOT_API_TOKEN and "
                "CHATWOOT_ACCOUNT_ID: the Chatwoot whose Help Center it is"
            )
        return self

    def half_set(self) -> list[str]:
        """Each integration with some of its settings but not all, as a sentence naming
        what is missing."""
        problems = []
        if self.slack_app_token and not self.slack_bot_token:
            problems.append("Slack: SLACK_APP_TOKEN (Socket Mode) needs SLACK_BOT_TOKEN too")
        elif not self.slack_app_token and bool(self.slack_bot_token) != bool(
            self.slack_signing_secret
        ):
            missing = "SLACK_SIGNING_SECRET" if self.slack_bot_token else "SLACK_BOT_TOKEN"
            problems.append(f"Slack: {missing} is unset (HTTP mode needs both)")
        for integration, names in PARTNERS.items():
            missing = [name for name in names if not getattr(self, name.lower())]
            if missing and len(missing) < len(names):
                problems.append(
                    f"{integration}: {', '.join(missing)} unset (set all of {', '.join(names)})"
                )
        return problems

    def channels(self) -> dict[str, str]:
        """Every channel the bot posts to or reads, and the setting that names it."""
        found = {
            self.approvals_channel: "OCC_APPROVALS_CHANNEL",
            self.escalations_channel: "OCC_ESCALATIONS_CHANNEL",
            self.reliability_channel: "OCC_RELIABILITY_CHANNEL",
            self.training_channel: "OCC_TRAINING_CHANNEL",
            self.digest_channel: "OCC_DIGEST_CHANNEL",
        }
        if self.shopify_enabled:  # Sales Pulse is off without a shop
            found.setdefault(self.sales_channel, "OCC_SALES_CHANNEL")
        for level in self.escalation_chain:
            if level.kind is LevelKind.CHANNEL:
                found.setdefault(level.target, "OCC_ESCALATION_CHAIN")
        return found

    @property
    def effective_database_url(self) -> str | None:
        """DATABASE_URL wins; Supabase REST only when it is unset; else local SQLite."""
        if self.database_url:
            return self.database_url
        if self.supabase_url and self.supabase_service_role_key:
            return None
        return "sqlite:///./occ.db"

    @property
    def chatwoot_enabled(self) -> bool:
        return bool(self.chatwoot_url and self.chatwoot_api_token and self.chatwoot_account_id)

    @property
    def slack_http_ready(self) -> bool:
        return bool(self.slack_bot_token and self.slack_signing_secret)

    @property
    def sla_minutes(self) -> dict[Urgency, float]:
        return {
            Urgency.URGENT: self.sla_minutes_urgent,
            Urgency.HIGH: self.sla_minutes_high,
            Urgency.NORMAL: self.sla_minutes_normal,
        }

    def may_act_on_drafts(self, user_id: str) -> bool:
        return not self.operators or user_id in self.operators or user_id in self.managers

    def sales_thresholds(self) -> SalesThresholds:
        """The thresholds alone, for the rules (which need no secrets)."""
        return SalesThresholds(
            **{name: getattr(self, name) for name in SalesThresholds.model_fields}
        )

    @property
    def shopify_enabled(self) -> bool:
        return bool(self.shopify_shop and self.shopify_admin_token)

    def is_manager(self, user_id: str) -> bool:
        return user_id in self.managers

    def startup_warnings(self) -> list[str]:
        """Settings that work but leave a gap someone should know about."""
        warnings = []
        if not self.managers:
            warnings.append(
                "OCC_MANAGERS is empty: nobody is mentioned on Urgent escalations, and nobody "
                "can claim or resolve them; set it to the managers' Slack user IDs"
            )
        if not self.operators:
            warnings.append("OCC_OPERATORS is empty: anyone in the workspace may decide drafts")
        if self.intake_token and not self.chatwoot_webhook_token:
            warnings.append(
                "CHATWOOT_WEBHOOK_TOKEN is unset: the Chatwoot webhook takes OCC_INTAKE_TOKEN, "
                "so its URL also opens POST /drafts; give the webhook a token of its own (and "
                "set CHATWOOT_WEBHOOK_SECRET to require Chatwoot's signature)"
            )
        return warnings

    def startup_notes(self) -> list[str]:
        """One line per optional integration that is off or on its embedded default."""
        notes = []
        if not self.database_url and not (self.supabase_url and self.supabase_service_role_key):
            notes.append("DATABASE_URL unset: logging to SQLite at ./occ.db")
        if not self.chatwoot_enabled:
            notes.append("Chatwoot not configured: approved replies are recorded, not sent")
        if not self.openai_api_key:
            notes.append("OPENAI_API_KEY unset: drafting offline from the knowledge base")
        if not self.shopify_enabled:
            notes.append("Shopify not configured: Sales Pulse off")
        if not self.intake_token:
            notes.append("OCC_INTAKE_TOKEN unset: POST /drafts and the Chatwoot webhook refuse all")
        return notes


def describe_error(error: ValidationError) -> str:
    """What is wrong with the settings, naming each variable; never the values (secrets)."""
    problems = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"]).upper()
        message = problem["msg"].removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where else message)
    return "; ".join(problems)
