"""The one masking policy: which role sees which kind of personal data in full, masked or
not at all. Every response that carries personal data passes through a `Masker` built
from this table (reports and their findings' evidence, documents, batches, certificates,
audit lists, error bodies); nothing else decides.

| field kind  | clerk  | reviewer | approver | admin  | system | service |
|-------------|--------|----------|----------|--------|--------|---------|
| id_number   | masked | full     | full     | masked | full   | full    |
| birth_date  | hidden | full     | full     | hidden | full   | full    |
| address     | masked | full     | full     | masked | full   | full    |

* `id_number` covers resident ID numbers, unified social credit codes and certificate
  numbers that are ID numbers; masked keeps the first 4 and last 4 characters.
* `birth_date` is hidden where ID numbers are masked, because the birth date is 8 of the
  10 masked digits; `address` is cut to its first characters (province and city) for the
  same reason (the district code is 2 more).
* Free text (finding messages, filenames, audit purposes and details, error messages)
  cannot be parsed into kinds: for a role that sees ID numbers masked, anything shaped like
  one (15-20 digits, or a credit code) is masked in it.
* Names and phone numbers are not in the table: every role that may open a case sees them.
* An unknown role gets the strictest column.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final, Literal

from intake.logs import mask_identifiers
from rules.catalog import Catalog

Action = Literal["full", "masked", "hidden"]
FULL: Final = "full"
MASKED: Final = "masked"
HIDDEN: Final = "hidden"

ROLES = ("clerk", "reviewer", "approver", "admin", "system", "service")
POLICY: Final[dict[str, dict[str, Action]]] = {
    #              clerk    reviewer approver  admin    system   service
    "id_number": dict(zip(ROLES, ("masked", "full", "full", "masked", "full", "full"),
                          strict=True)),
    "birth_date": dict(zip(ROLES, ("hidden", "full", "full", "hidden", "full", "full"),
                           strict=True)),
    "address": dict(zip(ROLES, ("masked", "full", "full", "masked", "full", "full"),
                        strict=True)),
}
STRICTEST: Final[dict[str, Action]] = {"id_number": "masked", "birth_date": "hidden",
                                        "address": "hidden"}

# Catalog field kinds -> policy kinds; `birth_date` is a field name (its kind is `date`).
_KIND_OF_CATALOG_KIND = {"id_number": "id_number", "credit_code": "id_number",
                         "address": "address"}
_KIND_OF_FIELD_NAME = {"birth_date": "birth_date", "holder_id": "id_number",
                       "number": "id_number", "id_number": "id_number"}
ADDRESS_KEEP = 3
"""Characters of an address a masked view keeps (the province, not the district: the
district is two more digits of the ID number)."""

# A near-miss read of an ID number (a digit short, a letter misread) is still one.
_DIGIT_RUN = re.compile(r"(?<![0-9A-Za-z])\d[0-9Xx]{14,19}(?![0-9A-Za-z])")


def action(kind: str, role: str) -> Action:
    column = POLICY.get(kind)
    if column is None:
        return FULL
    return column.get(role, STRICTEST.get(kind, MASKED))


def mask_number(value: str) -> str:
    """`110105199001021234` -> `1101**********1234`; short values are starred whole."""
    text = value.strip()
    if len(text) <= 8:
        return "*" * len(text)
    return text[:4] + "*" * (len(text) - 8) + text[-4:]


def mask_address(value: str) -> str:
    return value[:ADDRESS_KEEP] + "****" if len(value) > ADDRESS_KEEP else "****"


def mask_text(text: str) -> str:
    """Every ID-number-shaped run in free text, masked."""
    return _DIGIT_RUN.sub(lambda m: mask_number(m.group(0)), mask_identifiers(text))


def field_kinds(catalog: Catalog) -> dict[str, str]:
    """Field name -> policy kind, over every material type of the catalog."""
    kinds = dict(_KIND_OF_FIELD_NAME)
    for mtype in catalog.material_types.values():
        for fdef in mtype.fields:
            kind = _KIND_OF_CATALOG_KIND.get(str(fdef.kind))
            if kind is not None:
                kinds.setdefault(fdef.name, kind)
    return kinds


class Masker:
    """The policy applied for one role."""

    def __init__(self, role: str, catalog: Catalog) -> None:
        self.role = role
        self.kinds = field_kinds(catalog)
        self.numbers = action("id_number", role)

    @property
    def full(self) -> bool:
        """Whether this role sees everything (nothing to mask)."""
        return all(action(kind, self.role) == FULL for kind in POLICY)

    def value(self, kind: str | None, value: Any) -> Any:
        """One value of a field of `kind`, as this role may see it (None when hidden)."""
        if kind is None or value is None:
            return self.deep(value)
        what = action(kind, self.role)
        if what == FULL:
            return value
        if what == HIDDEN:
            return None
        if kind == "address":
            return mask_address(str(value))
        return mask_number(str(value))

    def text(self, text: str) -> str:
        return text if self.numbers == FULL else mask_text(text)

    def field(self, name: str, data: Any) -> Any:
        """A field as reports and certificates carry it: a dict with `value` (and maybe
        `problem`, which quotes the value) or a bare value."""
        kind = self.kinds.get(name)
        if isinstance(data, Mapping):
            out = {k: self.deep(v) for k, v in data.items()}
            if "value" in data:
                out["value"] = self.value(kind, data["value"])
                if kind is not None and action(kind, self.role) != FULL:
                    out["masked"] = action(kind, self.role)
                    if "problem" in out and isinstance(out["problem"], str) \
                            and action(kind, self.role) == HIDDEN:
                        out["problem"] = None
            return out
        return self.value(kind, data)

    def deep(self, data: Any) -> Any:
        """Any JSON-like structure: fields recognised by name (`fields` maps, evidence
        dicts naming a `field` and a `value`), everything else as free text."""
        if self.full:
            return data
        if isinstance(data, str):
            return self.text(data)
        if isinstance(data, list | tuple):
            return [self.deep(v) for v in data]
        if not isinstance(data, Mapping):
            return data
        out: dict[str, Any] = {}
        named = data.get("field") if isinstance(data.get("field"), str) else None
        for key, value in data.items():
            if key == "fields" and isinstance(value, Mapping):
                out[key] = {name: self.field(str(name), f) for name, f in value.items()}
            elif key == "value" and named is not None:
                out[key] = self.value(self.kinds.get(named), value)
            elif isinstance(key, str) and key in self.kinds and not isinstance(
                    value, Mapping | list):
                out[key] = self.value(self.kinds[key], value)
            else:
                out[key] = self.deep(value)
        return out
