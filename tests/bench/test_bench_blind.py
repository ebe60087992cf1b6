"""The rules benchmark's blind split (bench/rules/blind.py): deterministic packets of all
three items whose slots take every outcome, with ground truth printed on the pages."""

from __future__ import annotations

import hashlib
import random

import pytest

from bench.rules import blind
from bench.rules.generator import Packet, build_packet
from rules.catalog import load_catalog

SEED = 11
N = 42
STATES = {"present", "missing", "invalid", "reused", "committed", "not_required"}


@pytest.fixture(scope="module")
def packets() -> list[Packet]:
    return [build_packet(SEED, i, split="blind") for i in range(N)]


def _digest(p: Packet) -> str:
    h = hashlib.sha256()
    for page in p.pages:
        h.update("|".join(t.text for t in page.texts).encode())
        h.update(page.image.tobytes())
        h.update(f"{page.material_type}/{page.side}/{page.rotate}/{page.level}".encode())
    return h.hexdigest()


def test_the_same_seed_and_index_give_the_same_packet(packets: list[Packet]) -> None:
    for i in (0, 1, 2, 6):
        again = build_packet(SEED, i, split="blind")
        assert again.name == packets[i].name
        assert again.expected_states == packets[i].expected_states
        assert again.expected_status == packets[i].expected_status
        assert [d.fields for d, _ in again.documents] == [d.fields for d, _ in packets[i].documents]
        assert _digest(again) == _digest(packets[i])
    assert _digest(build_packet(SEED + 1, 0, split="blind")) != _digest(packets[0])


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
        assert p.name.startswith("B")
        # Every page belongs to the batch once; every document's pages are in range.
        assert len({id(pg) for pg in p.pages}) == len(p.pages)
        for _, pos in p.documents:
            assert pos and all(1 <= n <= len(p.pages) for n in pos)
    assert seen == STATES
    assert {p.expected_status for p in packets} == {"complete", "incomplete"}


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


def test_two_people_copied_together_share_their_pages() -> None:
    shared = 0
    for i in range(0, 180, 3):  # company packets only
        p = build_packet(SEED, i, split="blind")
        if "cards copied together" not in p.notes:
            continue
        cards = [(d, pos) for d, pos in p.documents if d.material_type == "id_card"]
        pos = [pos for _, pos in cards]
        assert any(pos.count(x) == 2 for x in pos), p.name
        assert p.expected_states["legal_rep_id_card"] == "present"
        assert p.expected_states["agent_id_card"] == "present"
        shared += 1
    assert shared >= 2


def test_noisy_mode_keeps_identity_numbers_and_lowers_some_confidences(
        packets: list[Packet]) -> None:
    rng = random.Random(1)
    confidences = []
    for p in packets[:15]:
        for doc, pages in p.documents:
            read = [blind.noisy_page(n, p.pages[n - 1], rng) for n in pages]
            confidences += [ln.confidence for page in read for ln in page.lines]
            if doc.material_type == "id_card":
                text = "".join(ln.text for page in read for ln in page.lines)
                assert doc.fields["id_number"] in text.replace(" ", "").upper(), p.name
    assert min(confidences) < 0.7 < 0.95 < max(confidences)


def test_blind_is_a_split_of_its_own() -> None:
    names = {build_packet(SEED, 0, split=s).name for s in ("tune", "heldout", "fresh", "blind")}
    assert len(names) == 4
