# docintake API / worker image. The PP-OCR models ship inside the rapidocr wheel, so the
# image needs no model download at build or run time.
FROM python:3.11-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-noto-cjk fontconfig \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY intake intake
COPY ocr ocr
COPY rules rules
COPY storage storage
COPY api api
# samples/: the demo's packets and the INT8 calibration pages (ocr.quantize)
COPY samples samples
COPY constraints.txt ./
RUN pip install --no-cache-dir -c constraints.txt .
ENV DOCINTAKE_DATA_DIR=/var/lib/docintake
EXPOSE 8000
CMD ["sh", "-c", "docintake db upgrade && docintake serve --host 0.0.0.0 --port 8000"]
