"""Reviewers' corrections applied over the extracted fields, before the completeness check.

A correction replaces one field's value on one document. The corrected value goes through
the same normalisation and validation as a value read from the page (`rules.extract`), so a
corrected ID number with a wrong check digit is still reported; it carries confidence 1.0
(a person read it) and keeps the page and box of the original reading. Pure: no storage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from rules.catalog import Catalog
from rules.extract import normalise
from rules.types import Document, ExtractedField, FieldCorrection

CORRECTED_CONFIDENCE = 1.0


def applies_to(correction: FieldCorrection, document: Document) -> bool:
    """The same material on the same pages (document ids alone may be renumbered)."""
    return (correction.material_type == document.material_type
            and tuple(correction.pages) == tuple(document.pages))


def corrected_field(catalog: Catalog, document: Document, correction: FieldCorrection
                    ) -> ExtractedField:
    original = document.fields.get(correction.field)
    page = original.page if original is not None else (document.pages[0]
                                                       if document.pages else None)
    box = original.box if original is not None else None
    mtype = catalog.material_types.get(document.material_type)
    fdef = mtype.field(correction.field) if mtype is not None else None
    if fdef is not None and fdef.kind == "date_range":
        # One end of a range read from the page ("2010.01.01-2030.01.01"); a reviewer
        # types just that end: a date, or 长期 for an end.
        fdef = fdef.model_copy(update={"kind": "date" if fdef.part == "start"
                                       else "date_or_open_end"})
    value = correction.value.strip()
    checked = normalise(fdef, value, CORRECTED_CONFIDENCE, page or 0, box) \
        if fdef is not None and value else None
    if checked is None:  # emptied by the reviewer, or a field the catalog does not define
        checked = ExtractedField(value or None, CORRECTED_CONFIDENCE, page, box, raw=value)
    return replace(checked, page=page, box=box, raw=value, correction=correction)


def apply_corrections(documents: Sequence[Document], corrections: Sequence[FieldCorrection],
                      catalog: Catalog) -> tuple[Document, ...]:
    """The documents with every correction that applies to them; the latest correction of
    a field wins (corrections are given oldest first)."""
    out: list[Document] = []
    for document in documents:
        fields = dict(document.fields)
        for correction in corrections:
            if applies_to(correction, document):
                fields[correction.field] = corrected_field(catalog, document, correction)
        out.append(replace(document, fields=fields) if fields != document.fields else document)
    return tuple(out)
