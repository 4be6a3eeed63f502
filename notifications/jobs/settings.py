"""What the job service needs from the configuration (passed in, never read globally)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from models.organisation import current_settings


@dataclass(frozen=True)
class JobSettings:
    """What the job service needs from the configuration (passed in, never read globally)."""

    timezone: str | None = None
    settle_minutes: int = 10
    public_base_url: str = "http://127.0.0.1:5000"
    secret_key: str = "development-secret-key-not-for-production"
    default_region: str = "US"

    @classmethod
    def from_config(cls, config: Any) -> JobSettings:
        return cls(
            timezone=getattr(config, "TIMEZONE", None),
            settle_minutes=int(getattr(config, "ETA_SETTLE_MINUTES", 10)),
            public_base_url=getattr(config, "PUBLIC_BASE_URL", None) or cls.public_base_url,
            secret_key=getattr(config, "SECRET_KEY", None) or cls.secret_key,
            default_region=getattr(config, "DEFAULT_REGION", None) or "US",
        )

    def zone(self, session: Session) -> ZoneInfo:
        """The organisation's zone: the settings row wins over the environment."""
        org = current_settings(session)
        name = (org.timezone if org and org.timezone else None) or self.timezone or "UTC"
        return ZoneInfo(name)
