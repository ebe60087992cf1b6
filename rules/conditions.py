"""The small, safe condition language of the catalog (no eval).

A condition is a mapping with exactly one key::

    {present: application_form.agent_name}          # the field has a non-empty value
    {absent: application_form.agent_name}
    {equals: {ref: facts.applicant_kind, value: 个人}}
    {equals: {ref: application_form.a, other: application_form.b}}
    {all: [cond, ...]}   {any: [cond, ...]}   {not: cond}

A reference (`ref`) is either `<slot_code>.<field>` (the field of the document assigned to
that slot of the same item) or `facts.<key>` (a fact the caller supplies, e.g. a clerk's
answer). A fact whose key is a full reference (`"application_form.agent_name"`) overrides
the extracted value, so a clerk can correct what OCR read.

Evaluation is three-valued: `None` means the condition cannot be decided because a
referenced slot has no document at all (e.g. the application form itself is missing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rules.normalize import is_empty_value, same_text

FACTS = "facts"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class EqualsCondition(_Model):
    ref: str
    value: str | int | float | bool | None = None
    other: str | None = None

    @model_validator(mode="after")
    def _one_operand(self) -> EqualsCondition:
        if (self.value is None) == (self.other is None):
            raise ValueError("equals needs exactly one of 'value' or 'other'")
        return self


class Condition(_Model):
    """One node of a condition tree; exactly one key is set."""

    present: str | None = None
    absent: str | None = None
    equals: EqualsCondition | None = None
    all_: tuple[Condition, ...] | None = Field(default=None, alias="all")
    any_: tuple[Condition, ...] | None = Field(default=None, alias="any")
    not_: Condition | None = Field(default=None, alias="not")

    @model_validator(mode="after")
    def _exactly_one(self) -> Condition:
        keys = [k for k in ("present", "absent", "equals", "all_", "any_", "not_")
                if getattr(self, k) is not None]
        if len(keys) != 1:
            raise ValueError(
                "a condition has exactly one of: present, absent, equals, all, any, not"
            )
        if (self.all_ is not None and not self.all_) or (self.any_ is not None and not self.any_):
            raise ValueError("'all' and 'any' need at least one condition")
        return self

    def refs(self) -> Iterator[str]:
        """Every reference the condition reads (for load-time checks and ordering)."""
        if self.present:
            yield self.present
        if self.absent:
            yield self.absent
        if self.equals:
            yield self.equals.ref
            if self.equals.other:
                yield self.equals.other
        for child in (self.all_ or ()) + (self.any_ or ()):
            yield from child.refs()
        if self.not_:
            yield from self.not_.refs()


@dataclass(frozen=True)
class RefValue:
    """What a reference resolves to at evaluation time."""

    value: Any
    confidence: float = 1.0
    known: bool = True  # False: the referenced slot has no document, so nothing is known


Resolver = Callable[[str], RefValue]
Describer = Callable[[str], tuple[str, str]]
"""ref -> (owner, field) in Chinese, e.g. ("申请书", "委托代理人"); owner may be empty."""


def _whole(describe: Describer, ref: str) -> str:
    owner, name = describe(ref)
    return f"{owner}的{name}" if owner else name


@dataclass(frozen=True)
class Outcome:
    result: bool | None  # None: undecidable
    refs_read: tuple[str, ...]  # references whose values decided the result


def _filled(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    return not is_empty_value(str(value))


def _eq(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) == bool(b) if a is not None and b is not None else False
    if a is None or b is None:
        return False
    return same_text(str(a), str(b))


def evaluate(cond: Condition, resolve: Resolver) -> Outcome:
    """Evaluate `cond`; `refs_read` lists the references the answer rests on."""
    if cond.present or cond.absent:
        ref = cond.present or cond.absent or ""
        rv = resolve(ref)
        if not rv.known:
            return Outcome(None, (ref,))
        filled = _filled(rv.value)
        return Outcome(filled if cond.present else not filled, (ref,))
    if cond.equals:
        eq = cond.equals
        left = resolve(eq.ref)
        refs: tuple[str, ...] = (eq.ref,)
        if eq.other:
            right = resolve(eq.other)
            refs += (eq.other,)
            if not (left.known and right.known):
                return Outcome(None, refs)
            return Outcome(_eq(left.value, right.value), refs)
        if not left.known:
            return Outcome(None, refs)
        return Outcome(_eq(left.value, eq.value), refs)
    if cond.not_:
        inner = evaluate(cond.not_, resolve)
        return Outcome(None if inner.result is None else not inner.result, inner.refs_read)
    children = [evaluate(c, resolve) for c in (cond.all_ or cond.any_ or ())]
    read = tuple(r for c in children for r in c.refs_read)
    results = [c.result for c in children]
    if cond.all_:
        if False in results:
            return Outcome(False, read)
        return Outcome(None if None in results else True, read)
    if True in results:
        return Outcome(True, read)
    return Outcome(None if None in results else False, read)


def explain_false(cond: Condition, describe: Describer) -> str:
    """Plain Chinese for why `cond` is false, e.g. "申请书未填写委托代理人"."""
    if cond.present:
        owner, name = describe(cond.present)
        return f"{owner}未填写{name}" if owner else f"未填写{name}"
    if cond.absent:
        owner, name = describe(cond.absent)
        return f"{owner}填写了{name}" if owner else f"填写了{name}"
    if cond.equals:
        eq = cond.equals
        target = _whole(describe, eq.other) if eq.other else f"“{eq.value}”"
        return f"{_whole(describe, eq.ref)}不等于{target}"
    if cond.not_:
        return explain_true(cond.not_, describe)
    if cond.all_:
        return "；".join(explain_false(c, describe) for c in cond.all_)
    return "，且".join(explain_false(c, describe) for c in cond.any_ or ())


def explain_true(cond: Condition, describe: Describer) -> str:
    if cond.present:
        owner, name = describe(cond.present)
        return f"{owner}填写了{name}" if owner else f"填写了{name}"
    if cond.absent:
        owner, name = describe(cond.absent)
        return f"{owner}未填写{name}" if owner else f"未填写{name}"
    if cond.equals:
        eq = cond.equals
        target = _whole(describe, eq.other) if eq.other else f"“{eq.value}”"
        return f"{_whole(describe, eq.ref)}等于{target}"
    if cond.not_:
        return explain_false(cond.not_, describe)
    if cond.all_:
        return "且".join(explain_true(c, describe) for c in cond.all_)
    return "或".join(explain_true(c, describe) for c in cond.any_ or ())


def split_ref(ref: str) -> tuple[str, str]:
    """`"application_form.agent_name"` -> `("application_form", "agent_name")`."""
    head, sep, tail = ref.partition(".")
    if not sep or not head or not tail:
        raise ValueError(f"reference {ref!r} must look like '<slot>.<field>' or 'facts.<key>'")
    return head, tail
