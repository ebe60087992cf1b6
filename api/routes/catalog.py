"""The item catalog, read-only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from api.auth import AnyRole
from intake.errors import IntakeError
from rules.catalog import Catalog, UnknownItemError

router = APIRouter(tags=["catalog"])


def _catalog(request: Request) -> Catalog:
    catalog: Catalog = request.app.state.runtime.catalog
    return catalog


@router.get("/catalog/items")
def list_items(request: Request, _: AnyRole) -> list[dict[str, Any]]:
    return [item.to_dict() for item in _catalog(request).items.values()]


@router.get("/catalog/items/{code}")
def get_item(code: str, request: Request, _: AnyRole) -> dict[str, Any]:
    try:
        return _catalog(request).item(code).to_dict()
    except UnknownItemError as exc:
        raise IntakeError("item.unknown", item_code=code) from exc


@router.get("/catalog/material-types")
def list_material_types(request: Request, _: AnyRole) -> list[dict[str, Any]]:
    return [{"code": t.code, "name": t.name, "certificate": t.certificate}
            for t in _catalog(request).material_types.values()]
