"""The item catalog: approval items (事项), their material slots, and the material types
pages are classified into, loaded from YAML data files and checked when loaded.

Layout of a catalog directory (the packaged default is `rules/catalog/`)::

    material_types.yaml        {material_types: [<material type>, ...]}
    material_types/*.yaml      optional, one <material type> mapping per file
    items/*.yaml               one <item> mapping per file

Every mapping is validated with pydantic (unknown keys are errors), then cross-references
are checked: accepted types exist, referenced fields exist on the material types, slot
codes are unique, references point at slots of the same item, commitment and reuse are
declared consistently, and slot dependencies have no cycle. Any problem raises
`CatalogError(file, path, message)`, e.g.
``items/x.yaml: slots[3].checks[0].field: field 'valid_to' is not defined on id_card``.
Adding an item or a material type is a data change only.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rules.conditions import FACTS, Condition, split_ref

DEFAULT_CATALOG_DIR = Path(__file__).with_name("catalog")
COMMITMENT_TYPE = "commitment_letter"
"""The material type that replaces another material by 告知承诺."""


class CatalogError(Exception):
    """A catalog file is broken. `file` is relative to the catalog directory, `path` is the
    place inside the file (e.g. ``slots[3].checks[0].field``)."""

    def __init__(self, file: str, path: str, message: str) -> None:
        self.file = file
        self.path = path
        self.message = message
        super().__init__(f"{file}: {path}: {message}")


class UnknownItemError(KeyError):
    """No item with that code in the catalog."""

    def __init__(self, code: str, known: Iterable[str] = ()) -> None:
        self.code = code
        known_list = ", ".join(sorted(known))
        self.message = f"unknown item code {code!r}; the catalog has: {known_list or '(none)'}"
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


_NAME = r"^[a-z][a-z0-9_]*$"

FieldKind = Literal[
    "text",  # free text, trimmed
    "name",  # an organisation's name, or a name that may be either
    "person_name",  # a person's name: 2-5 Chinese characters, or parts joined by "·"
    "address",  # may continue on the next line
    "id_number",  # 18-digit resident ID (GB 11643)
    "credit_code",  # unified social credit code (GB 32100)
    "id_or_credit_code",  # either of the two, decided by shape
    "date",  # ISO date
    "date_or_open_end",  # ISO date, or open-ended (长期): value None, open_ended True
    "date_range",  # one part ("start"/"end") of a term such as 2015.03.01-长期
    "phone",
    "number",  # first decimal number, e.g. an area
    "money",  # amount with its unit, e.g. 100万元
    "certificate_number",  # e.g. 京(2021)朝阳区不动产权第0012345号
    "title",  # text of the page title line
]


# --- material types --------------------------------------------------------------------------


class FieldDef(_Model):
    """How to find one field on a material and what kind of value it is."""

    name: str = Field(pattern=_NAME)
    kind: FieldKind
    labels: tuple[str, ...] = ()
    display: str | None = None  # Chinese name in messages; default: the first label
    required: bool = False  # a material without it cannot be verified (→ review)
    part: Literal["start", "end"] | None = None  # for date_range
    side: str | None = None  # only read from pages of this side (two-sided materials)
    # Generic labels such as 身份证号码 that belong to this field only when they come after
    # one of the `after` fields (e.g. agent_id_number after agent_name).
    context_labels: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()  # regex fallbacks on the page text; group 1 is the value
    source: Literal["label", "title"] = "label"
    strip: tuple[str, ...] = ()  # words to remove from the value (e.g. 章程 in a title)
    multiline: bool = False  # the value may continue on following unlabelled lines
    # Without a label, take the page's only value of this shape (the number on an ID
    # card, its validity range). Only where no other value of that shape is expected.
    by_shape: bool = False

    @property
    def label(self) -> str:
        return self.display or (self.labels[0] if self.labels else self.name)

    @model_validator(mode="after")
    def _consistent(self) -> FieldDef:
        if self.kind == "date_range" and self.part is None:
            raise ValueError("a date_range field needs part: start or end")
        if self.part is not None and self.kind != "date_range":
            raise ValueError("part is only for kind date_range")
        if self.source == "label" and not (self.labels or self.context_labels or self.patterns):
            raise ValueError("a field read by label needs labels, context_labels or patterns")
        if self.by_shape and self.kind not in ("id_number", "credit_code",
                                               "id_or_credit_code", "date_range"):
            raise ValueError("by_shape is only for identifiers and date ranges")
        if self.context_labels and not self.after:
            raise ValueError("context_labels need 'after' (the fields they follow)")
        return self


class Cues(_Model):
    """Classification cues. Title words count most on a title line (top of page, tall
    text), most of all when the title ends with them; negative words argue against."""

    title: tuple[str, ...] = ()
    strong: tuple[str, ...] = ()
    weak: tuple[str, ...] = ()
    negative: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()  # regexes on the compacted page text, counted as strong


class _CheckBase(_Model):
    when_type: str | None = None  # apply only to documents of this material type


class NotExpiredCheck(_CheckBase):
    """The date field is on or after the acceptance date (or open-ended)."""

    check: Literal["not_expired"]
    field: str


class NotEndedCheck(_CheckBase):
    """Same test as not_expired, for terms (a lease, a licence's 营业期限)."""

    check: Literal["not_ended"]
    field: str


class EqualsCheck(_CheckBase):
    """The field equals another reference (`other`) or a constant (`value`)."""

    check: Literal["equals"]
    field: str
    other: str | None = None
    value: str | None = None

    @model_validator(mode="after")
    def _one_operand(self) -> EqualsCheck:
        if (self.other is None) == (self.value is None):
            raise ValueError("equals needs exactly one of 'other' or 'value'")
        return self


class ValidFieldCheck(_CheckBase):
    """The field passed its validator (check digit, date)."""

    check: Literal["valid_field"]
    field: str


class PresentCheck(_CheckBase):
    """The field was read and is not empty."""

    check: Literal["present"]
    field: str


class SidesCheck(_CheckBase):
    """All these sides of a two-sided material were seen."""

    check: Literal["sides"]
    required: tuple[str, ...] = Field(min_length=1)


class MinPagesCheck(_CheckBase):
    check: Literal["min_pages"]
    count: int = Field(ge=1)


Check = Annotated[
    NotExpiredCheck
    | NotEndedCheck
    | EqualsCheck
    | ValidFieldCheck
    | PresentCheck
    | SidesCheck
    | MinPagesCheck,
    Field(discriminator="check"),
]
CHECK_NAMES = ("not_expired", "not_ended", "equals", "valid_field", "present", "sides",
               "min_pages")


class MaterialType(_Model):
    code: str = Field(pattern=_NAME)
    name: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()  # other names, used to match what a commitment replaces
    certificate: bool = False
    multi_page: bool = False
    sides: dict[str, tuple[str, ...]] | None = None  # side -> cue words, e.g. id_card
    cues: Cues
    stop_labels: tuple[str, ...] = ()  # labels that end a value but are not fields
    fields: tuple[FieldDef, ...] = ()
    checks: tuple[Check, ...] = ()  # intrinsic checks, applied in every slot

    def field(self, name: str) -> FieldDef | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


# --- items -----------------------------------------------------------------------------------


class MatchRule(_Model):
    """Which document of an accepted type belongs to this slot: its `field` equals the
    reference `equals` (e.g. the id_card whose id_number is the form's legal_rep_id_number)."""

    field: str
    equals: str


class Slot(_Model):
    code: str = Field(pattern=_NAME)
    name: str = Field(min_length=1)
    accepts: tuple[str, ...] = Field(min_length=1)
    required: bool = True
    required_when: Condition | None = None
    commitment_allowed: bool = False
    commitment_names: tuple[str, ...] = ()  # what a 告知承诺书 may call this material
    reusable: bool = False
    holder: str | None = None  # reference to the holder ID to look up in the store
    match: tuple[MatchRule, ...] = ()
    checks: tuple[Check, ...] = ()
    note: str = ""


class Item(_Model):
    """An approval item with its 16 published elements (the materials are the slots)."""

    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=1)
    agency: str = Field(min_length=1)
    category: str = Field(min_length=1)
    legal_basis: tuple[str, ...] = Field(min_length=1)
    procedure: tuple[str, ...] = Field(min_length=1)
    fees: str = Field(min_length=1)
    legal_time_limit_days: int = Field(ge=0)
    committed_time_limit_days: int = Field(ge=0)
    # Supervision turns a case yellow when this many working days or fewer are left to the
    # committed limit (rules.deadlines).
    yellow_threshold_days: int = Field(default=1, ge=0)
    handling_place: str = Field(min_length=1)
    consultation_phone: str = Field(min_length=1)
    supervision_phone: str = Field(min_length=1)
    handling_mode: str = Field(min_length=1)
    online_application: bool
    max_visits: int = Field(ge=0)
    slots: tuple[Slot, ...] = Field(min_length=1)

    @field_validator("consultation_phone", "supervision_phone", mode="before")
    @classmethod
    def _phone_as_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v

    @model_validator(mode="after")
    def _limits(self) -> Item:
        if self.committed_time_limit_days > self.legal_time_limit_days:
            raise ValueError("committed_time_limit_days exceeds legal_time_limit_days")
        return self

    def slot(self, code: str) -> Slot:
        for s in self.slots:
            if s.code == code:
                return s
        raise KeyError(f"item {self.code!r} has no slot {code!r}")


@dataclass(frozen=True)
class Catalog:
    items: dict[str, Item]
    material_types: dict[str, MaterialType]
    directory: Path | None = None
    _orders: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False, compare=False)

    def item(self, code: str) -> Item:
        try:
            return self.items[code]
        except KeyError:
            raise UnknownItemError(code, self.items) from None

    def material_type(self, code: str) -> MaterialType:
        return self.material_types[code]

    def slot_order(self, item: Item) -> tuple[str, ...]:
        """Slot codes in an order where every slot comes after the slots it references."""
        order = self._orders.get(item.code)
        if order is None:
            order = _slot_order(item, "", lambda *a: None)
        return order

    def to_dict(self) -> dict[str, Any]:
        return {
            "material_types": [mt.to_dict() for mt in self.material_types.values()],
            "items": [it.to_dict() for it in self.items.values()],
        }


# --- loading ---------------------------------------------------------------------------------


def load_catalog(directory: Path | None = None) -> Catalog:
    """Load and check a catalog directory; `None` loads (once) the packaged default."""
    if directory is None:
        return _default_catalog()
    return _load(Path(directory))


@functools.cache
def _default_catalog() -> Catalog:
    return _load(DEFAULT_CATALOG_DIR)


def _read_yaml(path: Path, root: Path) -> Any:
    rel = _rel(path, root)
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        raise CatalogError(rel, where, f"not valid YAML: {exc}") from None
    except OSError as exc:
        raise CatalogError(rel, "(file)", f"cannot read: {exc}") from None


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _loc_to_path(loc: tuple[int | str, ...], prefix: str = "") -> str:
    parts: list[str] = [prefix] if prefix else []
    prev: list[int | str] = []
    for el in loc:
        # Discriminated unions insert the tag ("equals") into the location; drop it.
        if isinstance(el, str) and el in CHECK_NAMES and prev and isinstance(prev[-1], int):
            prev.append(el)
            continue
        if isinstance(el, str) and (el.startswith("function-") or el == "tagged-union"):
            prev.append(el)
            continue
        if isinstance(el, int):
            parts.append(f"[{el}]")
        else:
            parts.append(("." if parts else "") + el)
        prev.append(el)
    return "".join(parts) or "(top)"


def _pydantic_error(exc: ValidationError, file: str, prefix: str = "") -> CatalogError:
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    kind = err["type"]
    if kind == "missing":
        message = f"required element '{loc[-1]}' is missing" if loc else "required element missing"
    elif kind == "extra_forbidden":
        message = f"unknown key '{loc[-1]}'"
    elif kind == "union_tag_invalid":
        ctx = err.get("ctx") or {}
        message = (f"unknown check {ctx.get('tag')!r}; "
                   f"known checks: {', '.join(CHECK_NAMES)}")
        loc = (*loc, "check")
    elif kind == "union_tag_not_found":
        message = "a check needs a 'check' key"
    else:
        message = str(err["msg"]).removeprefix("Value error, ")
    more = len(exc.errors()) - 1
    if more:
        message += f" (and {more} more problem{'s' if more > 1 else ''})"
    return CatalogError(file, _loc_to_path(loc, prefix), message)


def _load(directory: Path) -> Catalog:
    if not directory.is_dir():
        raise CatalogError(str(directory), "(directory)", "catalog directory does not exist")
    types: dict[str, MaterialType] = {}
    type_origin: dict[str, tuple[str, str]] = {}

    def add_type(raw: Any, file: str, prefix: str) -> None:
        try:
            mt = MaterialType.model_validate(raw)
        except ValidationError as exc:
            raise _pydantic_error(exc, file, prefix) from None
        if mt.code in types:
            raise CatalogError(file, f"{prefix}.code" if prefix else "code",
                               f"material type {mt.code!r} is defined twice "
                               f"(also in {type_origin[mt.code][0]})")
        types[mt.code] = mt
        type_origin[mt.code] = (file, prefix)

    main = directory / "material_types.yaml"
    if main.exists():
        data = _read_yaml(main, directory)
        rel = _rel(main, directory)
        if not isinstance(data, dict) or not isinstance(data.get("material_types"), list):
            raise CatalogError(rel, "material_types", "expected a list under 'material_types'")
        extra = set(data) - {"material_types"}
        if extra:
            raise CatalogError(rel, sorted(extra)[0], "unknown key")
        for i, raw in enumerate(data["material_types"]):
            add_type(raw, rel, f"material_types[{i}]")
    for path in sorted((directory / "material_types").glob("*.yaml")):
        add_type(_read_yaml(path, directory), _rel(path, directory), "")
    if not types:
        raise CatalogError(_rel(main, directory), "(file)", "no material types defined")
    for code, mt in types.items():
        file, prefix = type_origin[code]
        _check_material_type(mt, file, prefix)

    items: dict[str, Item] = {}
    orders: dict[str, tuple[str, ...]] = {}
    item_files = sorted((directory / "items").glob("*.yaml"))
    if not item_files:
        raise CatalogError("items/", "(directory)", "no item files (items/*.yaml)")
    for path in item_files:
        rel = _rel(path, directory)
        raw = _read_yaml(path, directory)
        if not isinstance(raw, dict):
            raise CatalogError(rel, "(top)", "expected a mapping with the item's elements")
        try:
            item = Item.model_validate(raw)
        except ValidationError as exc:
            raise _pydantic_error(exc, rel) from None
        if item.code in items:
            raise CatalogError(rel, "code", f"item code {item.code!r} is defined twice")
        _check_item(item, types, rel)
        orders[item.code] = _slot_order(item, rel, _raise)
        items[item.code] = item
    return Catalog(items=items, material_types=types, directory=directory, _orders=orders)


def _raise(file: str, path: str, message: str) -> None:
    raise CatalogError(file, path, message)


def _at(prefix: str, path: str) -> str:
    return f"{prefix}.{path}" if prefix else path


def _checks_fields(check: Any) -> Iterator[str]:
    f = getattr(check, "field", None)
    if isinstance(f, str):
        yield f


def _compile(pattern: str, file: str, path: str) -> None:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise CatalogError(file, path, f"bad regular expression: {exc}") from None


def _check_material_type(mt: MaterialType, file: str, prefix: str) -> None:
    names = [f.name for f in mt.fields]
    for i, f in enumerate(mt.fields):
        here = _at(prefix, f"fields[{i}]")
        if names.count(f.name) > 1:
            raise CatalogError(file, f"{here}.name", f"field {f.name!r} is defined twice")
        if f.side is not None and (mt.sides is None or f.side not in mt.sides):
            raise CatalogError(file, f"{here}.side", f"{mt.code} has no side {f.side!r}")
        for j, a in enumerate(f.after):
            if a not in names:
                raise CatalogError(file, f"{here}.after[{j}]", f"no field {a!r} on {mt.code}")
        for j, p in enumerate(f.patterns):
            _compile(p, file, f"{here}.patterns[{j}]")
    for j, p in enumerate(mt.cues.patterns):
        _compile(p, file, _at(prefix, f"cues.patterns[{j}]"))
    if not (mt.cues.title or mt.cues.strong or mt.cues.patterns):
        raise CatalogError(file, _at(prefix, "cues"), "needs title, strong or pattern cues")
    for i, check in enumerate(mt.checks):
        here = _at(prefix, f"checks[{i}]")
        if check.when_type is not None and check.when_type != mt.code:
            raise CatalogError(file, f"{here}.when_type", "only the type itself is allowed here")
        for fname in _checks_fields(check):
            if mt.field(fname) is None:
                raise CatalogError(file, f"{here}.field",
                                   f"field {fname!r} is not defined on {mt.code}")
        if isinstance(check, EqualsCheck) and check.other is not None:
            raise CatalogError(file, f"{here}.other",
                               "a material type's checks cannot reference slots; "
                               "put relational checks on the item's slot")
        if isinstance(check, SidesCheck):
            _check_sides(check, [mt], file, here)


def _check_sides(check: SidesCheck, types: list[MaterialType], file: str, here: str) -> None:
    for mt in types:
        if not mt.sides:
            raise CatalogError(file, f"{here}.check", f"{mt.code} has no sides")
        for j, side in enumerate(check.required):
            if side not in mt.sides:
                raise CatalogError(file, f"{here}.required[{j}]", f"{mt.code} has no side {side!r}")


def _check_ref(ref: str, item: Item, types: dict[str, MaterialType], own: str | None,
               file: str, path: str) -> None:
    try:
        head, tail = split_ref(ref)
    except ValueError as exc:
        raise CatalogError(file, path, str(exc)) from None
    if head == FACTS:
        return
    slot = next((s for s in item.slots if s.code == head), None)
    if slot is None:
        raise CatalogError(file, path, f"reference {ref!r}: item has no slot {head!r}")
    if head == own:
        raise CatalogError(file, path, f"reference {ref!r}: a slot cannot reference itself")
    if not any(types[t].field(tail) for t in slot.accepts if t in types):
        raise CatalogError(file, path, f"reference {ref!r}: field {tail!r} is not defined on "
                                       f"{' / '.join(slot.accepts)}")


def _check_item(item: Item, types: dict[str, MaterialType], file: str) -> None:
    seen: set[str] = set()
    for i, slot in enumerate(item.slots):
        here = f"slots[{i}]"
        if slot.code in seen:
            raise CatalogError(file, f"{here}.code", f"slot code {slot.code!r} is used twice")
        seen.add(slot.code)
        for j, t in enumerate(slot.accepts):
            if t not in types:
                raise CatalogError(file, f"{here}.accepts[{j}]", f"unknown material type {t!r}")
            if t == COMMITMENT_TYPE:
                raise CatalogError(file, f"{here}.accepts[{j}]",
                                   "a commitment letter is not a material of its own; "
                                   "use commitment_allowed: true")
    for i, slot in enumerate(item.slots):
        here = f"slots[{i}]"
        accepted = [types[t] for t in slot.accepts]
        if slot.required_when is not None:
            if not slot.required:
                raise CatalogError(file, f"{here}.required_when",
                                   "required_when on a slot with required: false")
            for ref in slot.required_when.refs():
                _check_ref(ref, item, types, slot.code, file, f"{here}.required_when")
        if slot.commitment_allowed and COMMITMENT_TYPE not in types:
            raise CatalogError(file, f"{here}.commitment_allowed",
                               f"no material type {COMMITMENT_TYPE!r} in the catalog")
        if slot.commitment_names and not slot.commitment_allowed:
            raise CatalogError(file, f"{here}.commitment_names",
                               "commitment_names on a slot without commitment_allowed: true")
        if slot.reusable:
            if slot.holder is None:
                raise CatalogError(file, f"{here}.holder", "a reusable slot needs a holder "
                                   "reference (the ID to look up in the certificate store)")
            if not any(mt.certificate for mt in accepted):
                raise CatalogError(file, f"{here}.reusable",
                                   "none of the accepted types is a certificate")
            _check_ref(slot.holder, item, types, slot.code, file, f"{here}.holder")
        elif slot.holder is not None:
            raise CatalogError(file, f"{here}.holder", "holder given but reusable is not true")
        for j, rule in enumerate(slot.match):
            for mt in accepted:
                if mt.field(rule.field) is None:
                    raise CatalogError(file, f"{here}.match[{j}].field",
                                       f"field {rule.field!r} is not defined on {mt.code}")
            _check_ref(rule.equals, item, types, slot.code, file, f"{here}.match[{j}].equals")
        for j, check in enumerate(slot.checks):
            cpath = f"{here}.checks[{j}]"
            targets = accepted
            if check.when_type is not None:
                if check.when_type not in slot.accepts:
                    raise CatalogError(file, f"{cpath}.when_type",
                                       f"{check.when_type!r} is not accepted by this slot")
                targets = [types[check.when_type]]
            for fname in _checks_fields(check):
                for mt in targets:
                    if mt.field(fname) is None:
                        raise CatalogError(file, f"{cpath}.field",
                                           f"field {fname!r} is not defined on {mt.code}")
            if isinstance(check, EqualsCheck) and check.other is not None:
                _check_ref(check.other, item, types, slot.code, file, f"{cpath}.other")
            if isinstance(check, SidesCheck):
                _check_sides(check, targets, file, cpath)


def slot_refs(slot: Slot) -> Iterator[str]:
    """Every reference a slot reads (condition, holder, match rules, checks)."""
    if slot.required_when is not None:
        yield from slot.required_when.refs()
    if slot.holder:
        yield slot.holder
    for rule in slot.match:
        yield rule.equals
    for check in slot.checks:
        other = getattr(check, "other", None)
        if other:
            yield other


def _slot_order(item: Item, file: str, fail: Any) -> tuple[str, ...]:
    deps: dict[str, set[str]] = {}
    for slot in item.slots:
        deps[slot.code] = {
            split_ref(r)[0] for r in slot_refs(slot) if split_ref(r)[0] != FACTS
        }
    order: list[str] = []
    done: set[str] = set()
    pending = [s.code for s in item.slots]
    while pending:
        ready = [c for c in pending if deps[c] <= done]
        if not ready:
            fail(file, f"slots[{[s.code for s in item.slots].index(pending[0])}]",
                 f"slots reference each other in a cycle: {', '.join(pending)}")
            return tuple(order + pending)
        for c in ready:
            order.append(c)
            done.add(c)
        pending = [c for c in pending if c not in done]
    return tuple(order)
