"""The INT8 OCR models' calibration pages, and building the models at install time.

`ocr.quantize` turns the rapidocr wheel's PP-OCR detector and recogniser into INT8 models
on the machine itself; it needs pages that look like what a service centre scans. They
come from here, drawn by `intake.samples` with a fixed seed (so every installation
calibrates on the same pages, and none of them is among the benchmark's pages, which use
other seeds): the five material types of the benchmark under scanner degradations,
pages fed sideways or upside down, 150 dpi scans, photocopies and card photos on a desk.

``python -m intake.ocr_models`` builds the models into the OCR cache directory
(``DOCINTAKE_OCR_CACHE_DIR``) if this CPU will use them (``--force``: whatever the CPU);
``scripts/bootstrap`` runs it, so a fresh installation does not build on its first page.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable, Iterator
from datetime import date

import cv2
import numpy as np
from PIL import Image

from intake import samples as S

CALIBRATION_SEED = 16_016
CALIBRATION_PAGES = 16
"""16 pages give ~20 detector inputs and ~120 recogniser batches: the INT8 models read
held-out pages as well as float32 (bench/ocr), and the build takes about a minute."""

_ON = date(2025, 6, 1)


def _photocopy(image: Image.Image, rng: random.Random) -> Image.Image:
    """A grey photocopy: high contrast, ink slightly spread, light toner noise."""
    grey = np.asarray(S.degrade(image, rng, level="light", grey=True), dtype=np.float32)
    copy = np.clip((grey - 60.0) * 1.8, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        copy = np.asarray(cv2.erode(copy, np.ones((2, 2), np.uint8)), dtype=np.uint8)
    return Image.fromarray(copy)


def _at_150_dpi(image: Image.Image, rng: random.Random) -> Image.Image:
    small = image.resize((round(image.width * 0.75), round(image.height * 0.75)),
                         Image.Resampling.LANCZOS)
    return S.degrade(small, rng, level="light")


_SCANS: list[Callable[[Image.Image, random.Random], Image.Image]] = [
    lambda im, r: S.degrade(im, r, level="light"),
    lambda im, r: S.degrade(im, r, level="medium"),
    lambda im, r: S.degrade(im, r, level="light", rotate=90),
    _at_150_dpi,
    lambda im, r: S.degrade(im, r, level="medium", grey=False, rotate=180),
    _photocopy,
    lambda im, r: S.degrade(im, r, level="light", grey=False, rotate=270),
]


def _documents(rng: random.Random) -> list[Image.Image]:
    person = S.make_person(rng, _ON)
    company = S.make_company(rng, person, _ON)
    form = S._form("company-establishment", company.name, company.credit_code, person,
                   S.make_person(rng, _ON), company.address, _ON, phone="13800138000")
    lease = S.make_lease(rng, company.name, person.region, _ON)
    prop = S.make_property(rng, person, _ON)
    return [S.id_card(person, rng).pages[0].image,
            S.business_license(company, rng).pages[0].image,
            S.application_form(form).pages[0].image,
            S.lease_contract(lease, rng).pages[0].image,
            S.property_certificate(prop, rng).pages[0].image]


def calibration_pages(count: int = CALIBRATION_PAGES,
                      seed: int = CALIBRATION_SEED) -> Iterator[np.ndarray]:
    """`count` scanned-looking pages (uint8 gray or BGR, as a scanner delivers them), the
    same ones on every machine for the same arguments; every sixth a card photo."""
    from ocr.prepare import pil_to_array

    rng = random.Random(seed)
    pool: list[Image.Image] = []
    scans = 0
    for number in range(count):
        if number % 6 == 5:
            person = S.make_person(rng, _ON)
            face = (S.render_id_card_front(person, rng) if rng.random() < 0.7
                    else S.render_id_card_back(person, rng))
            photo, _ = S.photo_on_desk(face.image, rng)
            yield pil_to_array(photo)
            continue
        if not pool:
            pool = _documents(rng)
        degrader = _SCANS[scans % len(_SCANS)]
        scans += 1
        yield pil_to_array(degrader(pool.pop(0), rng))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m intake.ocr_models", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--force", action="store_true",
                    help="build even where the CPU reads in bfloat16 by default")
    args = ap.parse_args(argv)

    from dataclasses import replace

    from intake.settings import engine_options, load_settings
    from ocr.engine import get_engine

    options = engine_options(load_settings())
    if options.kind != "rapidocr" or options.runtime != "openvino":
        print("ocr models: INT8 models are only for the rapidocr engine on OpenVINO")
        return 0
    if args.force:
        options = replace(options, precision="int8")
    engine = get_engine(options)
    print(f"ocr models: {engine.version}")
    return 1 if options.precision == "int8" and "int8" not in engine.version else 0


if __name__ == "__main__":
    sys.exit(main())
