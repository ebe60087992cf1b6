"""The parts one docintake process runs with, built once from the settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from zoneinfo import ZoneInfo

from intake.clock import Clock
from intake.settings import Settings, engine_options
from ocr.engine import EngineOptions, OcrEngine, get_engine
from ocr.sources import Limits
from rules.catalog import Catalog, load_catalog
from storage.audit import AuditWriter
from storage.db import Database
from storage.objects import LocalObjectStore, ObjectStore


def _local_store(settings: Settings) -> ObjectStore:
    return LocalObjectStore(settings.effective_objects_dir)


def _s3_store(settings: Settings) -> ObjectStore:
    from storage.s3 import S3ObjectStore

    return S3ObjectStore.connect(
        settings.s3_endpoint, access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key.get_secret_value(), bucket=settings.s3_bucket,
        secure=settings.s3_secure, region=settings.s3_region,
        create_bucket=settings.s3_create_bucket)


OBJECT_STORES: dict[str, Callable[[Settings], ObjectStore]] = {
    "local": _local_store,
    "s3": _s3_store,
}


def make_object_store(settings: Settings) -> ObjectStore:
    """The object store the settings name (`DOCINTAKE_OBJECT_STORE`)."""
    return OBJECT_STORES[settings.object_store](settings)


@dataclass
class Runtime:
    settings: Settings
    database: Database
    objects: ObjectStore
    catalog: Catalog
    engine_options: EngineOptions = field(default_factory=EngineOptions)
    engine_override: OcrEngine | None = None  # a test or replay engine instead of the model
    clock: Clock = field(default_factory=Clock)  # every "now" and "today" comes from here

    @classmethod
    def from_settings(cls, settings: Settings, *, migrate: bool = True) -> Runtime:
        """Fail fast: a broken catalog or an unreachable database stops start-up here."""
        catalog = load_catalog(settings.catalog_dir)
        database = Database(settings.effective_database_url)
        if migrate:
            database.migrate()
        runtime = cls(
            settings=settings,
            database=database,
            objects=make_object_store(settings),
            catalog=catalog,
            engine_options=engine_options(settings),
            clock=Clock(ZoneInfo(settings.timezone)),
        )
        if migrate:
            from intake.calendar import seed_calendar

            seed_calendar(runtime)
        return runtime

    @cached_property
    def limits(self) -> Limits:
        settings = self.settings
        return Limits(max_bytes=settings.max_upload_bytes,
                      page_cpu_seconds=settings.page_cpu_seconds,
                      page_memory_bytes=settings.page_memory_mb * 1024 * 1024)

    @property
    def engine(self) -> OcrEngine:
        """Loaded on first use, then shared by the whole process."""
        if self.engine_override is not None:
            return self.engine_override
        return get_engine(self.engine_options)

    @cached_property
    def audit_writer(self) -> AuditWriter:
        """Durable audit appends with group commit, shared by this process's requests."""
        return AuditWriter(self.database)

    def close(self) -> None:
        if "audit_writer" in self.__dict__:
            self.audit_writer.close()
        self.database.dispose()
