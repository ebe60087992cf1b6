"""The benchmark's pages: synthetic Chinese materials with ground truth, degraded the way
service-centre scanners and phones degrade them.

Every page is rendered by `samples` (clean A4 at 200 dpi, or a card face), then
degraded: scanner grey/skew/blur/noise/uneven light/JPEG at two levels, pages fed the
wrong way (90/180/270), 150 dpi scans, grey photocopies, red seals over text (business
licences, property certificates), and phone photos of ID cards on a desk. Ground truth
is the list of lines drawn, in reading order, and the ID numbers / credit codes on the
page.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
from PIL import Image
from stdnum.cn import ric, uscc

import samples as S
from ocr.layout import reading_order
from ocr.prepare import pil_to_array
from ocr.types import OcrLine
from samples.packets import make_form

ON = date(2025, 6, 1)
_CODE = re.compile(r"[0-9A-Z]{18}")


@dataclass
class BenchPage:
    name: str
    kind: str
    degradation: str
    image: np.ndarray  # uint8 gray or BGR, as a scanner/phone delivers it
    truth: list[str]   # lines in reading order
    codes: list[str]   # resident ID numbers and credit codes printed on the page


def _codes(lines: list[str]) -> list[str]:
    found = []
    for line in lines:
        for match in _CODE.findall(line.replace(" ", "")):
            if ric.is_valid(match) or uscc.is_valid(match):
                found.append(match)
    return found


def _truth(page: S.SamplePage) -> list[str]:
    lines = [OcrLine(t.text, 1.0, t.box) for t in page.texts if t.text.strip()]
    return [ln.text for ln in reading_order(lines)]


def _documents(rng: random.Random) -> list[tuple[str, S.SamplePage]]:
    person = S.make_person(rng, ON)
    company = S.make_company(rng, person, ON)
    out: list[tuple[str, S.SamplePage]] = []
    out.append(("id_card", S.id_card(person, rng).pages[0]))
    out.append(("business_license", S.business_license(company, rng).pages[0]))
    form = make_form("company-establishment", company.name, company.credit_code, person,
                   S.make_person(rng, ON), company.address, ON, phone="13800138000")
    out.append(("application_form", S.application_form(form).pages[0]))
    lease = S.make_lease(rng, company.name, person.region, ON)
    out.append(("lease", S.lease_contract(lease, rng).pages[0]))
    prop = S.make_property(rng, person, ON)
    out.append(("property_certificate", S.property_certificate(prop, rng).pages[0]))
    return out


def _at_150_dpi(image: Image.Image, rng: random.Random) -> Image.Image:
    small = image.resize((round(image.width * 0.75), round(image.height * 0.75)),
                         Image.Resampling.LANCZOS)
    return S.degrade(small, rng, level="medium")


def _photocopy(image: Image.Image, rng: random.Random) -> Image.Image:
    """A photocopy scanned in grey: hard contrast, toner spread, some speckle."""
    grey = np.asarray(S.degrade(image, rng, level="medium", grey=True), dtype=np.float32)
    copy = np.clip((grey - 70.0) * 2.0, 0, 255)
    speckle = np.random.default_rng(rng.getrandbits(32)).random(copy.shape) < 0.002
    copy[speckle] = 0
    return Image.fromarray(copy.astype(np.uint8))


# degradation name -> how to produce it from a clean page
Degrader = Callable[[Image.Image, random.Random], Image.Image]
_SCANS: list[tuple[str, Degrader]] = [
    ("light", lambda im, r: S.degrade(im, r, level="light")),
    ("medium", lambda im, r: S.degrade(im, r, level="medium")),
    ("rot90", lambda im, r: S.degrade(im, r, level="light", rotate=90)),
    ("150dpi", _at_150_dpi),
    ("medium", lambda im, r: S.degrade(im, r, level="medium", grey=False)),
    ("rot180", lambda im, r: S.degrade(im, r, level="light", rotate=180)),
    ("photocopy", _photocopy),
    ("light", lambda im, r: S.degrade(im, r, level="light", grey=False)),
    ("rot270", lambda im, r: S.degrade(im, r, level="medium", rotate=270)),
]


def make_pages(count: int, seed: int = 2025) -> list[BenchPage]:
    """`count` pages: five material types in turn under nine scanner degradations (150 dpi
    scans and photocopies among them), and every sixth page a phone photo of an ID card
    face on a desk."""
    rng = random.Random(seed)
    pages: list[BenchPage] = []
    pool: list[tuple[str, S.SamplePage]] = []
    n = 0
    while len(pages) < count:
        if len(pages) % 6 == 5:
            person = S.make_person(rng, ON)
            face = (S.render_id_card_front(person, rng) if rng.random() < 0.7
                    else S.render_id_card_back(person, rng))
            photo, _ = S.photo_on_desk(face.image, rng)
            page = S.SamplePage(face.image, "id_card", "front", face.texts, face.shapes)
            truth = _truth(page)
            pages.append(BenchPage(f"p{len(pages) + 1:03d}_card_photo", "id_card_photo",
                                   "photo", pil_to_array(photo), truth, _codes(truth)))
            continue
        if not pool:
            pool = _documents(rng)
        kind, clean = pool.pop(0)
        label, degrader = _SCANS[n % len(_SCANS)]
        n += 1
        image = degrader(clean.image, rng)
        truth = _truth(clean)
        pages.append(BenchPage(f"p{len(pages) + 1:03d}_{kind}_{label}", kind, label,
                               pil_to_array(image), truth, _codes(truth)))
    return pages
