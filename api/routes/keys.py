"""API keys and service centers, for admins: a center's admin manages its center's keys,
a global admin every key and the centers. Every change is audited by `intake.keys`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status
from pydantic import BaseModel, Field

from api.auth import Admin
from intake.inputs import MAX_ROW_ID
from intake.keys import CenterView, IssuedKey, KeyService, KeyView

router = APIRouter(tags=["keys"])
KeyId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


class KeyPublic(BaseModel):
    id: int
    name: str
    role: str
    center: str | None = Field(description="center code; null: a global admin")
    scopes: list[str]
    purposes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    replaced_by: int | None
    active: bool

    @classmethod
    def of(cls, view: KeyView) -> KeyPublic:
        return cls(**view.__dict__)


class IssuedKeyPublic(BaseModel):
    key: KeyPublic
    plaintext: str = Field(description="the key itself: shown once, never again")

    @classmethod
    def of(cls, issued: IssuedKey) -> IssuedKeyPublic:
        return cls(key=KeyPublic.of(issued.key), plaintext=issued.plaintext)


class KeyCreate(BaseModel):
    role: str = Field(max_length=20)
    name: str = Field(default="", max_length=200)
    scopes: list[str] = Field(default_factory=list, max_length=50,
                              description="certificate types (system keys)")
    center: str | None = Field(default=None, max_length=32,
                               description="center code; default: the caller's center")
    global_admin: bool = False
    purposes: list[str] = Field(default_factory=list, max_length=50,
                                description="purposes a system key may declare")
    expires_at: datetime | None = None


class KeyRotate(BaseModel):
    overlap_hours: float = Field(default=24.0, ge=0, le=24 * 30,
                                 description="how long the old key keeps working")


class CenterCreate(BaseModel):
    code: str = Field(max_length=32)
    name: str = Field(max_length=200)
    region_code: str | None = Field(default=None, max_length=12)


class CenterPublic(BaseModel):
    id: int
    code: str
    name: str
    region_code: str | None
    created_at: datetime

    @classmethod
    def of(cls, view: CenterView) -> CenterPublic:
        return cls(**view.__dict__)


def _keys(request: Request) -> KeyService:
    return KeyService(request.app.state.runtime)


@router.get("/keys", response_model=list[KeyPublic])
def list_keys(request: Request, principal: Admin,
              include_revoked: Annotated[bool, Query()] = False) -> list[KeyPublic]:
    """The keys of the caller's center (a global admin: all), with last use and expiry."""
    return [KeyPublic.of(k) for k in _keys(request).keys(principal=principal,
                                                         include_revoked=include_revoked)]


@router.post("/keys", response_model=IssuedKeyPublic, status_code=status.HTTP_201_CREATED)
def create_key(body: KeyCreate, request: Request, principal: Admin) -> IssuedKeyPublic:
    return IssuedKeyPublic.of(_keys(request).create_key(
        role=body.role, name=body.name, scopes=body.scopes, center=body.center,
        global_admin=body.global_admin, purposes=body.purposes, expires_at=body.expires_at,
        principal=principal))


@router.post("/keys/{key_id}/revoke", response_model=KeyPublic)
def revoke_key(key_id: KeyId, request: Request, principal: Admin) -> KeyPublic:
    """Refused from the next request on."""
    return KeyPublic.of(_keys(request).revoke_key(key_id, principal=principal))


@router.post("/keys/{key_id}/rotate", response_model=IssuedKeyPublic,
             status_code=status.HTTP_201_CREATED)
def rotate_key(key_id: KeyId, request: Request, principal: Admin,
               body: KeyRotate | None = None) -> IssuedKeyPublic:
    """A successor with the same role, center, scopes and purposes; the old key works for
    the overlap window, then expires."""
    overlap = timedelta(hours=(body or KeyRotate()).overlap_hours)
    return IssuedKeyPublic.of(_keys(request).rotate_key(key_id, overlap=overlap,
                                                        principal=principal))


@router.get("/centers", response_model=list[CenterPublic])
def list_centers(request: Request, _: Admin) -> list[CenterPublic]:
    return [CenterPublic.of(c) for c in _keys(request).centers()]


@router.post("/centers", response_model=CenterPublic, status_code=status.HTTP_201_CREATED)
def create_center(body: CenterCreate, request: Request, principal: Admin) -> CenterPublic:
    """Global admins only."""
    return CenterPublic.of(_keys(request).create_center(body.code, body.name,
                                                        body.region_code,
                                                        principal=principal))
