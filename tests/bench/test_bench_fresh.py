"""The rules benchmark's fresh split (bench/rules/fresh.py): deterministic packets of all
three items whose slots take every outcome, and ground truth that is printed on the pages."""

from __future__ import annotations

import hashlib
import random

import pytest

from bench.rules import fresh
from bench.rules.generator import Packet, build_packet
from rules.catalog import load_catalog

SEED = 7
N = 36
STATES = {"present", "missing", "invalid", "reused", "committed", "not_required"}


@pytest.fixture(scope="module")
def packets() -> list[Packet]:
    return [build_packet(SEED, i, split="fresh") for i in range(N)]


def _digest(p: Packet) -> str:
    h = hashlib.sha256()
    for page in p.pages:
        h.update("|".join(t.text for t in page.texts).encode())
        h.update(page.image.tobytes())
        h.update(f"{page.material_type}/{page.side}/{page.rotate}/{page.level}".encode())
    return h.hexdigest()


def test_the_same_seed_and_index_give_the_same_packet(packets: list[Packet]) -> None:
    for i in (0, 1, 2, 5):
        again = build_packet(SEED, i, split="fresh")
        assert again.name == packets[i].name
        assert again.expected_states == packets[i].expected_states
        assert again.expected_status == packets[i].expected_status
        assert [d.fields for d, _ in again.documents] == [d.fields for d, _ in packets[i].documents]
        assert _digest(again) == _digest(packets[i])
    assert _digest(build_packet(SEED + 1, 0, split="fresh")) != _digest(packets[0])


def test_all_items_and_every_slot_outcome(packets: list[Packet]) -> None:
    catalog = load_catalog()
    assert {p.item_code for p in packets} == {"company-establishment", "food-business-license",
                                              "individual-business-registration"}
    seen: set[str] = set()
    for p in packets:
        slots = {s.code for s in catalog.item(p.item_code).slots}
        assert set(p.expected_states) == slots, p.name
        seen |= set(p.expected_states.values())
        ok = all(s in ("present", "reused", "committed", "not_required")
                 for s in p.expected_states.values())
        assert p.expected_status == ("complete" if ok else "incomplete")
    assert seen == STATES
    assert {p.expected_status for p in packets} == {"complete", "incomplete"}
    assert all(p.name.startswith("F") for p in packets)


def test_identity_numbers_of_the_truth_are_printed_on_their_documents(
        packets: list[Packet]) -> None:
    keys = ("id_number", "legal_rep_id_number", "agent_id_number", "applicant_id",
            "signer_id_number", "credit_code")
    for p in packets:
        for doc, pages in p.documents:
            printed = "".join(t.text for n in pages for t in p.pages[n - 1].texts)
            printed = printed.replace(" ", "")
            for k in keys:
                if doc.fields.get(k):
                    assert doc.fields[k] in printed, (p.name, doc.material_type, k)


def test_noisy_mode_keeps_identity_numbers_whole(packets: list[Packet]) -> None:
    rng = random.Random(1)
    confidences = []
    for p in packets[:12]:
        protected = fresh.protected_values(p)
        for doc, pages in p.documents:
            if doc.material_type != "id_card":
                continue
            read = "".join(line.text for n in pages
                           for line in fresh.noisy_page(n, p.pages[n - 1], rng, protected).lines)
            assert doc.fields["id_number"] in read.replace(" ", "").upper(), p.name
        for n, page in enumerate(p.pages, 1):
            confidences += [line.confidence
                            for line in fresh.noisy_page(n, page, rng, protected).lines]
    assert min(confidences) < 0.8 < max(confidences)


def test_fresh_is_a_split_of_its_own() -> None:
    names = {build_packet(SEED, 0, split=s).name for s in ("tune", "heldout", "fresh")}
    assert len(names) == 3
