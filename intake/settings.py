"""Settings from `DOCINTAKE_*` environment variables, validated once at start-up.

With nothing set, docintake runs on embedded defaults: SQLite and a local object directory
under `./data`, and tasks executed in-process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(Exception):
    """A setting is wrong; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DOCINTAKE_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("data")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file in the data dir")
    objects_dir: Path | None = Field(
        default=None, description="Local object store; default: <data_dir>/objects")
    task_mode: Literal["thread", "inline"] = Field(
        default="thread",
        description="In-process execution: 'thread' runs batches in a background thread, "
                    "'inline' runs them before the upload call returns.")
    catalog_dir: Path | None = Field(default=None, description="default: packaged catalog")
    ocr_engine: Literal["rapidocr"] = "rapidocr"
    ocr_threads: int = Field(default=2, ge=1, le=64)
    pdf_dpi: int = Field(default=200, ge=72, le=600)
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, ge=1024)
    max_files_per_batch: int = Field(default=200, ge=1)
    service_center_name: str = "政务服务中心"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("DOCINTAKE_DATABASE_URL must be a sqlite:// or postgresql:// URL")
        return value

    @model_validator(mode="after")
    def _production_needs_real_parts(self) -> Settings:
        if self.environment == "production" and (
            self.database_url is None or self.database_url.startswith("sqlite")
        ):
            raise ValueError("production requires DOCINTAKE_DATABASE_URL to be PostgreSQL")
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'docintake.db').resolve()}"

    @property
    def effective_objects_dir(self) -> Path:
        return self.objects_dir or self.data_dir / "objects"


def load_settings(**overrides: object) -> Settings:
    """Read and validate settings, turning pydantic's error into one readable message."""
    from pydantic import ValidationError

    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"DOCINTAKE_{'_'.join(str(p) for p in err['loc']).upper() or 'SETTINGS'}: "
            f"{err['msg']}"
            for err in exc.errors()
        )
        raise SettingsError(f"invalid settings: {problems}") from exc
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SettingsError(
            f"DOCINTAKE_DATA_DIR: cannot create {settings.data_dir}: {exc}") from exc
    return settings
