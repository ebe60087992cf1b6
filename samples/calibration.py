"""The pages the INT8 OCR models are calibrated on.

`ocr.quantize` turns the rapidocr wheel's PP-OCR detector and recogniser into INT8 models
on the machine itself, once, and needs pages that look like what a service centre scans.
They come from here, drawn with a fixed seed (every installation calibrates on the same
pages, and none of them is among the benchmark's pages, which use other seeds): the five
material types of the benchmark under scanner degradations, pages fed sideways or upside
down, 150 dpi scans, photocopies and card photos on a desk.

The service names this generator by its path (`intake.settings.OCR_CALIBRATION`) and only
imports it in the child process that builds the models (at install time:
``scripts/bootstrap``; or on the first page of a CPU that needs them and has none).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import date

import cv2
import numpy as np
from PIL import Image

import samples as S
from samples.packets import make_form

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
    form = make_form("company-establishment", company.name, company.credit_code, person,
                   S.make_person(rng, _ON), company.address, _ON, phone="13800138000")
    lease = S.make_lease(rng, company.name, person.region, _ON)
    prop = S.make_property(rng, person, _ON)
    return [S.id_card(person, rng).pages[0].image,
            S.business_license(company, rng).pages[0].image,
            S.application_form(form).pages[0].image,
            S.lease_contract(lease, rng).pages[0].image,
            S.property_certificate(prop, rng).pages[0].image]


def _pixels(image: Image.Image) -> np.ndarray:
    """uint8 gray or BGR, as the OCR reader gets a decoded scan."""
    if image.mode == "L":
        return np.asarray(image, dtype=np.uint8).copy()
    rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    return np.ascontiguousarray(rgb[..., ::-1])


def calibration_pages(count: int = CALIBRATION_PAGES,
                      seed: int = CALIBRATION_SEED) -> Iterator[np.ndarray]:
    """`count` scanned-looking pages (uint8 gray or BGR, as a scanner delivers them), the
    same ones on every machine for the same arguments; every sixth a card photo."""
    rng = random.Random(seed)
    pool: list[Image.Image] = []
    scans = 0
    for number in range(count):
        if number % 6 == 5:
            person = S.make_person(rng, _ON)
            face = (S.render_id_card_front(person, rng) if rng.random() < 0.7
                    else S.render_id_card_back(person, rng))
            photo, _ = S.photo_on_desk(face.image, rng)
            yield _pixels(photo)
            continue
        if not pool:
            pool = _documents(rng)
        degrader = _SCANS[scans % len(_SCANS)]
        scans += 1
        yield _pixels(degrader(pool.pop(0), rng))
