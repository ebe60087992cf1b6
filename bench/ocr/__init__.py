"""OCR benchmark: docintake's engines and Tesseract side by side on the same synthetic
Chinese pages. Run ``python -m bench.ocr --help``."""
