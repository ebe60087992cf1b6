"""Service centers and the API keys' life: create, list, revoke, rotate. The CLI and the
admin routes call these; every change is written to the audit log with who made it.

Validation lives here because it needs the catalog: a key's scopes must be certificate
types of the catalog (a mistyped `--scope` is refused, not silently useless), and only
`system` keys carry declared purposes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from intake.access import ADMIN, OPERATOR, Principal
from intake.errors import IntakeError
from intake.runtime import Runtime
from storage.apikeys import (
    ROLES,
    ApiKeyError,
    center_by_code,
    create_api_key,
    create_center,
    is_active,
    list_api_keys,
    list_centers,
    revoke_api_key,
    rotate_api_key,
)
from storage.audit import AuditLog
from storage.models import ApiKey, ServiceCenter

CENTER_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
REGION_CODE = re.compile(r"^\d{6}(\d{3}|\d{6})?$")  # 行政区划代码: 6, 9 or 12 digits
MAX_OVERLAP = timedelta(days=30)


@dataclass(frozen=True)
class CenterView:
    id: int
    code: str
    name: str
    region_code: str | None
    created_at: datetime


@dataclass(frozen=True)
class KeyView:
    id: int
    name: str
    role: str
    center: str | None  # center code; None: global
    scopes: list[str]
    purposes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    replaced_by: int | None
    active: bool


@dataclass(frozen=True)
class IssuedKey:
    """A new key: its row as a view and the plaintext, shown once."""

    key: KeyView
    plaintext: str


def _invalid(zh: str, en: str) -> IntakeError:
    return IntakeError("apikey.invalid", reason_zh=zh, reason_en=en)


class KeyService:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    # centers -----------------------------------------------------------------------------
    def create_center(self, code: str, name: str, region_code: str | None = None, *,
                      principal: Principal = OPERATOR) -> CenterView:
        if not principal.is_global or principal.role != ADMIN:
            raise IntakeError("auth.forbidden_role", role=principal.role,
                              allowed="; global admins only")
        if not CENTER_CODE.match(code):
            raise IntakeError("center.invalid", center=code,
                              reason_zh="编码只能由字母、数字、._- 组成，最长 32 位",
                              reason_en="the code is 1-32 letters, digits, '.', '_' or '-'")
        if not name.strip():
            raise IntakeError("center.invalid", reason_zh="名称不能为空",
                              reason_en="the name is empty")
        if region_code is not None and not REGION_CODE.match(region_code):
            raise IntakeError("center.invalid", reason_zh="行政区划代码应为 6、9 或 12 位数字",
                              reason_en="a region code is 6, 9 or 12 digits")
        with self.runtime.database.session() as session:
            if center_by_code(session, code) is not None:
                raise IntakeError("center.exists", center=code)
            row = create_center(session, code=code, name=name.strip(),
                                region_code=region_code)
            AuditLog(session).append(principal.actor, "center.create", result="ok",
                                     target=f"center:{code}",
                                     detail={"name": row.name, "region_code": region_code})
            return _center_view(row)

    def centers(self) -> list[CenterView]:
        with self.runtime.database.session() as session:
            return [_center_view(c) for c in list_centers(session)]

    # keys --------------------------------------------------------------------------------
    def create_key(self, *, role: str, name: str = "", scopes: Sequence[str] = (),
                   center: str | None = None, global_admin: bool = False,
                   purposes: Sequence[str] = (), expires_at: datetime | None = None,
                   principal: Principal = OPERATOR) -> IssuedKey:
        """A new key. `center` is a center code (default: the principal's center, or the
        default center); `global_admin` makes an admin key of no center."""
        if role not in ROLES:
            raise _invalid(f"角色 {role} 不存在（可选：{'、'.join(ROLES)}）",
                           f"unknown role {role}; choose one of {', '.join(ROLES)}")
        self._check_scopes(scopes)
        if purposes and role != "system":
            raise _invalid("只有 system 密钥登记用途", "only system keys declare purposes")
        if global_admin and (role != ADMIN or center is not None):
            raise _invalid("只有管理员密钥可以不属于任何中心，且不能同时指定中心",
                           "only admin keys may be global, and then without --center")
        with self.runtime.database.session() as session:
            if global_admin:
                center_id: int | None = None
            elif center is not None:
                row = center_by_code(session, center)
                if row is None:
                    raise IntakeError("center.not_found", center=center)
                center_id = row.id
            else:
                from storage.models import DEFAULT_CENTER_ID

                center_id = principal.center_id if principal.center_id is not None \
                    else DEFAULT_CENTER_ID
            self._may_manage(principal, center_id)
            try:
                key, plaintext = create_api_key(
                    session, role=role, name=name, scopes=list(scopes), center_id=center_id,
                    purposes=list(purposes), expires_at=expires_at)
            except ApiKeyError as exc:
                raise _invalid(str(exc), str(exc)) from exc
            AuditLog(session).append(principal.actor, "apikey.create", result="ok",
                                     target=f"key:{key.id}", detail=_audit_detail(key))
            return IssuedKey(self._view(session, key), plaintext)

    def keys(self, *, principal: Principal = OPERATOR, include_revoked: bool = False
             ) -> list[KeyView]:
        with self.runtime.database.session() as session:
            rows = list_api_keys(session, center_id=principal.center_id,
                                 include_revoked=include_revoked)
            return [self._view(session, r) for r in rows]

    def revoke_key(self, key_id: int, *, principal: Principal = OPERATOR) -> KeyView:
        with self.runtime.database.session() as session:
            row = self._key(session, key_id, principal)
            if not revoke_api_key(session, key_id):
                raise _invalid("该密钥已停用", "the key is already revoked")
            AuditLog(session).append(principal.actor, "apikey.revoke", result="ok",
                                     target=f"key:{key_id}", detail=_audit_detail(row))
            return self._view(session, row)

    def rotate_key(self, key_id: int, *, overlap: timedelta = timedelta(days=1),
                   principal: Principal = OPERATOR) -> IssuedKey:
        if overlap < timedelta(0) or overlap > MAX_OVERLAP:
            raise _invalid(f"交替期应在 0 到 {MAX_OVERLAP.days} 天之间",
                           f"the overlap is 0 to {MAX_OVERLAP.days} days")
        with self.runtime.database.session() as session:
            self._key(session, key_id, principal)
            try:
                new, plaintext, old = rotate_api_key(session, key_id, overlap=overlap)
            except ApiKeyError as exc:
                raise _invalid("该密钥已停用或过期", "the key is revoked or expired") from exc
            AuditLog(session).append(
                principal.actor, "apikey.rotate", result="ok", target=f"key:{key_id}",
                detail={"successor": new.id, "old_expires_at": old.expires_at.isoformat()
                        if old.expires_at else None})
            return IssuedKey(self._view(session, new), plaintext)

    # helpers -----------------------------------------------------------------------------
    def _check_scopes(self, scopes: Sequence[str]) -> None:
        types = {t.code for t in self.runtime.catalog.material_types.values() if t.certificate}
        unknown = sorted(set(scopes) - types)
        if unknown:
            known = "、".join(sorted(types))
            raise _invalid(f"证照类型 {'、'.join(unknown)} 不在目录中（可选：{known}）",
                           f"unknown certificate type(s) {', '.join(unknown)}; "
                           f"the catalog has {', '.join(sorted(types))}")

    @staticmethod
    def _may_manage(principal: Principal, center_id: int | None) -> None:
        if principal.role != ADMIN or not (principal.is_global
                                           or principal.center_id == center_id):
            raise IntakeError("auth.forbidden_role", role=principal.role,
                              allowed="; admins of the key's center, or global admins")

    def _key(self, session: Session, key_id: int, principal: Principal) -> ApiKey:
        row = session.get(ApiKey, key_id)
        if row is None or not (principal.is_global or row.center_id == principal.center_id):
            raise IntakeError("apikey.not_found", key_id=key_id)
        self._may_manage(principal, row.center_id)
        return row

    @staticmethod
    def _view(session: Session, row: ApiKey) -> KeyView:
        center = session.get(ServiceCenter, row.center_id) if row.center_id else None
        return KeyView(
            id=row.id, name=row.name, role=row.role, center=center.code if center else None,
            scopes=list(row.scopes or []), purposes=list(row.purposes or []),
            created_at=row.created_at, expires_at=row.expires_at,
            last_used_at=row.last_used_at, revoked_at=row.revoked_at,
            replaced_by=row.replaced_by, active=is_active(row, datetime.now(UTC)))


def _center_view(row: ServiceCenter) -> CenterView:
    return CenterView(row.id, row.code, row.name, row.region_code, row.created_at)


def _audit_detail(row: ApiKey) -> dict[str, object]:
    return {"name": row.name, "role": row.role, "center_id": row.center_id,
            "scopes": list(row.scopes or []), "purposes": list(row.purposes or []),
            "expires_at": row.expires_at.isoformat() if row.expires_at else None}
