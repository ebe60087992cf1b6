"""The parts one docintake process runs with, built once from the settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from intake.settings import Settings
from ocr.engine import EngineOptions, OcrEngine, get_engine
from ocr.sources import Limits
from rules.catalog import Catalog, load_catalog
from storage.db import Database
from storage.objects import LocalObjectStore, ObjectStore


@dataclass
class Runtime:
    settings: Settings
    database: Database
    objects: ObjectStore
    catalog: Catalog
    engine_options: EngineOptions = field(default_factory=EngineOptions)
    engine_override: OcrEngine | None = None  # a test or replay engine instead of the model

    @classmethod
    def from_settings(cls, settings: Settings, *, migrate: bool = True) -> Runtime:
        """Fail fast: a broken catalog or an unreachable database stops start-up here."""
        catalog = load_catalog(settings.catalog_dir)
        database = Database(settings.effective_database_url)
        if migrate:
            database.migrate()
        return cls(
            settings=settings,
            database=database,
            objects=LocalObjectStore(settings.effective_objects_dir),
            catalog=catalog,
            engine_options=EngineOptions(kind=settings.ocr_engine,
                                         threads=settings.ocr_threads),
        )

    @cached_property
    def limits(self) -> Limits:
        return Limits(max_bytes=self.settings.max_upload_bytes)

    @property
    def engine(self) -> OcrEngine:
        """Loaded on first use, then shared by the whole process."""
        if self.engine_override is not None:
            return self.engine_override
        return get_engine(self.engine_options)

    def close(self) -> None:
        self.database.dispose()
