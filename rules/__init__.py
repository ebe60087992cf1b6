"""Item catalog, page classification, field extraction and validation, and the completeness
engine. Pure functions over plain data: no database, web, queue or OCR imports."""
