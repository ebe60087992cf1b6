"""The state machine, separation of duties, deadlines and supervision through the service,
on a real database, with the clock moved by time-machine (never slept)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from intake.calendar import load_schedule
from intake.errors import IntakeError
from intake.lifecycle import (
    OPEN_STATES,
    STATE_NAMES,
    TRANSITIONS,
    ActionRequest,
    Actor,
    Lifecycle,
    Outstanding,
    plan_transition,
)
from intake.runners import make_runner
from intake.runtime import Runtime
from intake.service import IntakeService, Upload
from intake.settings import load_settings
from rules.workdays import parse_schedule
from storage.apikeys import create_api_key
from storage.cases import CaseRepository

SHANGHAI = ZoneInfo("Asia/Shanghai")
ITEM = "food-business-license"  # committed 10, legal 20 working days


def at(day: date, hour: int = 10) -> Any:
    """Travel to `day` at `hour` in the center's time zone, the clock standing still."""
    return time_machine.travel(datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI),
                               tick=False)


@dataclass
class World:
    service: IntakeService
    lifecycle: Lifecycle
    actors: dict[str, Actor]

    def new_case(self, item: str = ITEM) -> str:
        return self.service.create_case(item, actor=self.actors["clerk"]).id

    def precheck(self, case_id: str) -> None:
        """What the pipeline does when it stores a report."""
        with self.service.runtime.database.session() as session:
            repo = CaseRepository(session)
            case = repo.get_case(case_id)
            assert case is not None
            self.lifecycle.record_precheck(repo, case)

    def act(self, case_id: str, action: str, who: str, **request: Any) -> Any:
        return self.lifecycle.transition(case_id, action, self.actors[who],
                                         ActionRequest(**request))[0]

    def life(self, case_id: str) -> Any:
        view = self.service.get_case(case_id)
        assert view.life is not None
        return view.life


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    """On SQLite and on PostgreSQL (the row lock of a transition differs between them)."""
    runtime = Runtime.from_settings(load_settings(
        data_dir=tmp_path / "data", task_mode="inline", database_url=database_url))
    actors = {}
    with runtime.database.session() as session:
        for name, role in (("clerk", "clerk"), ("clerk2", "clerk"), ("reviewer", "reviewer"),
                           ("approver", "approver"), ("approver2", "approver"),
                           ("approver3", "approver"), ("admin", "admin")):
            row, _ = create_api_key(session, role=role, name=name)
            actors[name] = Actor(row.id, name, role)
    service = IntakeService(runtime, make_runner(runtime))
    yield World(service, service.lifecycle, actors)
    service.runner.shutdown()
    runtime.close()


def _code(excinfo: pytest.ExceptionInfo[IntakeError]) -> str:
    return excinfo.value.code


# -- the table ---------------------------------------------------------------------------------
def test_the_table_names_only_known_states_and_is_unambiguous() -> None:
    seen = set()
    for row in TRANSITIONS:
        assert row.state in STATE_NAMES
        assert row.next_state in STATE_NAMES or row.next_state in ("(same)", "(previous)")
        assert (row.state, row.action) not in seen
        seen.add((row.state, row.action))
    # every open state can be left by withdrawal except a decided one, which is closed
    assert {r.state for r in TRANSITIONS if r.action == "withdraw"} == OPEN_STATES - {"decided"}


def test_the_center_time_zone_is_a_setting(tmp_path: Path) -> None:
    from intake.settings import SettingsError

    assert load_settings(data_dir=tmp_path).timezone == "Asia/Shanghai"
    assert load_settings(data_dir=tmp_path, timezone="Asia/Urumqi").timezone == "Asia/Urumqi"
    with pytest.raises(SettingsError, match="TIMEZONE"):
        load_settings(data_dir=tmp_path, timezone="Mars/Olympus")


def test_plan_checks_role_then_state() -> None:
    assert plan_transition("prechecked", "accept", "clerk") == "accepted"
    with pytest.raises(IntakeError) as excinfo:
        plan_transition("under_review", "decide", "clerk")
    assert _code(excinfo) == "auth.forbidden_role" and excinfo.value.status == 403
    with pytest.raises(IntakeError) as excinfo:
        plan_transition("accepted", "decide", "approver")
    assert _code(excinfo) == "case.invalid_transition" and excinfo.value.status == 409
    assert "受理" in excinfo.value.message
    assert plan_transition("paused", "resume", "reviewer", paused_from="under_review") \
        == "under_review"
    assert plan_transition("under_review", "extend", "approver") == "under_review"
    for terminal in ("closed", "refused", "withdrawn"):
        with pytest.raises(IntakeError):
            plan_transition(terminal, "withdraw", "clerk")


# -- the life of a case ------------------------------------------------------------------------
def test_a_case_from_receipt_to_closing_with_its_events(world: World) -> None:
    with at(date(2026, 9, 21)):  # Monday
        case_id = world.new_case()
        world.precheck(case_id)
        life = world.act(case_id, "accept", "clerk")
        assert (life.state, life.accepted_on) == ("accepted", date(2026, 9, 21))
    with at(date(2026, 9, 22)):
        assert world.act(case_id, "review", "reviewer").state == "under_review"
    with at(date(2026, 9, 23)):
        life = world.act(case_id, "decide", "approver", decision="approve")
        assert (life.state, life.decision, life.decided_on) == \
            ("decided", "approve", date(2026, 9, 23))
    with at(date(2026, 9, 24)):
        assert world.act(case_id, "close", "clerk2").state == "closed"
        with pytest.raises(IntakeError) as excinfo:
            world.act(case_id, "withdraw", "clerk")
        assert _code(excinfo) == "case.invalid_transition"
    events = world.lifecycle.events(case_id)
    assert [(e.action, e.from_state, e.to_state) for e in events] == [
        ("receive", "", "received"), ("precheck", "received", "prechecked"),
        ("accept", "prechecked", "accepted"), ("review", "accepted", "under_review"),
        ("decide", "under_review", "decided"), ("close", "decided", "closed")]
    assert [e.actor for e in events][2:] == ["clerk", "reviewer", "approver", "clerk2"]
    assert events[4].payload == {"decision": "approve"}
    assert events[3].on_date == date(2026, 9, 22)


def test_separation_of_duties(world: World) -> None:
    with at(date(2026, 9, 21)):
        case_id = world.new_case()
        world.act(case_id, "accept", "approver")  # a chief representative at the window
        world.act(case_id, "review", "approver2")
        for who, expected in (("approver", "accepted"), ("approver2", "reviewed")):
            with pytest.raises(IntakeError) as excinfo:
                world.act(case_id, "decide", who, decision="approve")
            assert _code(excinfo) == "case.separation_of_duties"
            assert excinfo.value.status == 403 and expected in excinfo.value.message
        for who in ("clerk", "reviewer", "admin"):  # never a decision of theirs
            with pytest.raises(IntakeError) as excinfo:
                world.act(case_id, "decide", who, decision="approve")
            assert _code(excinfo) == "auth.forbidden_role"
        assert world.life(case_id).state == "under_review"
        assert world.act(case_id, "decide", "approver3", decision="deny",
                         reason="场所不符合要求").decision == "deny"


def test_decisions_refusals_pauses_and_extensions_need_their_reasons(world: World) -> None:
    with at(date(2026, 9, 21)):
        case_id = world.new_case()
        with pytest.raises(IntakeError) as excinfo:
            world.act(case_id, "refuse", "clerk")
        assert _code(excinfo) == "case.reason_required"
        world.act(case_id, "accept", "clerk")
        world.act(case_id, "review", "reviewer")
        with pytest.raises(IntakeError) as excinfo:
            world.act(case_id, "decide", "approver", decision="deny")
        assert _code(excinfo) == "case.reason_required"
        with pytest.raises(IntakeError) as excinfo:
            world.act(case_id, "decide", "approver", decision="maybe")
        assert _code(excinfo) == "case.decision_invalid"
        with pytest.raises(IntakeError) as excinfo:
            world.act(case_id, "pause", "reviewer")
        assert _code(excinfo) == "case.reason_required"
        with pytest.raises(IntakeError) as excinfo:
            world.act(case_id, "extend", "approver", days=11, reason="现场核查")
        assert _code(excinfo) == "case.extension_invalid"
        world.act(case_id, "extend", "approver", days=10, reason="现场核查")
        with pytest.raises(IntakeError) as excinfo:
            world.act(case_id, "extend", "approver", days=1, reason="再延")
        assert _code(excinfo) == "case.already_extended"
        assert world.life(case_id).extension_days == 10


def test_return_and_supplement_restart_the_notice_clock(world: World) -> None:
    with at(date(2026, 9, 21)):
        case_id = world.new_case()
        with world.service.runtime.database.session() as session:
            repo = CaseRepository(session)
            case = repo.get_case(case_id)
            assert case is not None
            repo.add_assessment(case, report={"status": "incomplete", "slots": [
                {"code": "application_form", "state": "present"},
                {"code": "business_license", "state": "missing"},
                {"code": "food_safety_rules", "state": "invalid"}]}, catalog_version="",
                inputs={}, inputs_digest="", reason="test", actor="test",
                applicant_name=None)
        world.precheck(case_id)
        assert world.life(case_id).deadlines.notice_due == date(2026, 9, 29)
        life = world.act(case_id, "return", "clerk")
        assert life.state == "returned" and life.deadlines.notice_due is None
        returned = world.lifecycle.events(case_id)[-1]
        assert returned.payload == {"report_status": "incomplete",
                                    "to_supplement": ["business_license", "food_safety_rules"]}
        with pytest.raises(IntakeError):
            world.act(case_id, "accept", "clerk")  # wait for the supplement
    with at(date(2026, 9, 29)):  # the supplement arrives ...
        world.service.upload_batch(
            case_id, [Upload.from_bytes("supplement.pdf", b"%PDF-1.4 not much")])
        life = world.life(case_id)
        # 29 Sep not counted: 30 Sep, 8, 9, 10 (Sat, working), 12 Oct
        assert (life.state, life.deadlines.notice_due) == ("prechecked", date(2026, 10, 12))
    events = world.lifecycle.events(case_id)
    # ... received again at the upload, prechecked when its batch was assessed (inline)
    assert [e.action for e in events] == ["receive", "precheck", "return", "resubmit",
                                          "precheck"]
    assert events[3].on_date == date(2026, 9, 29) and "batch_id" in events[3].payload


def test_withdrawal_from_a_paused_case_ends_its_supervision(world: World) -> None:
    with at(date(2026, 9, 21)):
        case_id = world.new_case()
        world.act(case_id, "accept", "clerk")
        world.act(case_id, "pause", "reviewer", reason="专家评审")
        assert [r.case_id for r in world.lifecycle.supervision().cases] == [case_id]
        life = world.act(case_id, "withdraw", "clerk", reason="申请人书面申请撤回")
        assert (life.state, life.deadlines.light) == ("withdrawn", None)
        assert world.lifecycle.supervision().cases == []
        with pytest.raises(IntakeError) as excinfo:
            world.act(case_id, "resume", "reviewer")
        assert _code(excinfo) == "case.invalid_transition"


def test_tolerant_acceptance_records_the_outstanding_material(world: World) -> None:
    with at(date(2026, 9, 21)):
        case_id = world.new_case()
        with pytest.raises(IntakeError) as excinfo:
            world.act(case_id, "accept", "clerk", outstanding=(
                Outstanding("no_such_slot", date(2026, 10, 9), "按期补交"),))
        assert _code(excinfo) == "case.outstanding_invalid"
        with pytest.raises(IntakeError) as excinfo:
            world.act(case_id, "accept", "clerk", outstanding=(
                Outstanding("business_license", date(2026, 9, 21), "按期补交"),))
        assert _code(excinfo) == "case.outstanding_invalid"
        life = world.act(case_id, "accept", "clerk", outstanding=(
            Outstanding("business_license", date(2026, 10, 9), "本人承诺10月9日前补交"),))
        assert life.state == "accepted_tolerant"
        assert life.outstanding[0]["slot"] == "business_license"
        assert life.outstanding[0]["due_on"] == "2026-10-09"
        assert life.deadlines.outstanding_due == date(2026, 10, 9)
        assert world.act(case_id, "review", "reviewer").state == "under_review"


def test_concurrent_acceptance_happens_once(world: World) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with at(date(2026, 9, 21)):
        case_id = world.new_case()

        def accept(who: str) -> str:
            try:
                return str(world.act(case_id, "accept", who).state)
            except IntakeError as exc:
                return exc.code

        with ThreadPoolExecutor(2) as pool:
            outcomes = sorted(pool.map(accept, ["clerk", "clerk2"]))
    assert outcomes == ["accepted", "case.invalid_transition"]
    assert [e.action for e in world.lifecycle.events(case_id)].count("accept") == 1


# -- deadlines -----------------------------------------------------------------------------------
def test_deadlines_follow_the_clock_around_national_day(world: World) -> None:
    with at(date(2026, 9, 24), hour=7):  # 07:00 in Beijing is still 23 Sep in UTC
        case_id = world.new_case()
        life = world.life(case_id)
        assert life.received_on == date(2026, 9, 24)
        assert life.deadlines.notice_due == date(2026, 10, 9)
        assert (life.deadlines.light, life.deadlines.provisional) == ("green", False)
    with at(date(2026, 10, 8)):
        assert world.life(case_id).deadlines.light == "yellow"  # 1 working day left
    with at(date(2026, 10, 10)):  # Saturday, a working day: past the notice limit
        deadlines = world.life(case_id).deadlines
        assert deadlines.light == "red" and deadlines.deemed_accepted
        life = world.act(case_id, "accept", "clerk")
    assert life.accepted_on == date(2026, 10, 10)
    # 10 working days after Sat 10 Oct: 12–16, 19–23 Oct; 20: to 6 Nov.
    assert life.deadlines.committed_due == date(2026, 10, 23)
    assert life.deadlines.legal_due == date(2026, 11, 6)
    assert not life.deadlines.deemed_accepted and life.deadlines.light == "green"


def test_pause_and_extension_shift_the_limits(world: World) -> None:
    with at(date(2026, 10, 12)):  # Monday
        case_id = world.new_case()
        life = world.act(case_id, "accept", "clerk")
        assert life.deadlines.committed_due == date(2026, 10, 26)
        world.act(case_id, "review", "reviewer")
    with at(date(2026, 10, 14)):
        assert world.act(case_id, "pause", "reviewer", reason="组织听证").state == "paused"
    with at(date(2026, 10, 19)):
        paused = world.life(case_id)
        # 15, 16, 19 Oct are paused so far; the limit moves with them
        assert paused.deadlines.paused and paused.deadlines.committed_due == date(2026, 10, 29)
        left_while_paused = paused.deadlines.working_days_left
        life = world.act(case_id, "resume", "approver")
        assert life.state == "under_review" and life.pauses[0]["to"] == "2026-10-19"
    with at(date(2026, 10, 20)):
        life = world.life(case_id)
        assert life.deadlines.committed_due == date(2026, 10, 29)
        assert life.deadlines.working_days_left == left_while_paused - 1
        life = world.act(case_id, "extend", "approver", days=5, reason="专家评审")
        assert life.deadlines.committed_due == date(2026, 11, 5)
        assert life.deadlines.legal_due == date(2026, 11, 19)


def test_a_look_back_judges_the_case_as_it_stood_then(world: World) -> None:
    with at(date(2026, 9, 14)):
        case_id = world.new_case()  # notice due Sun 20 Sep, an adjusted working day
    with at(date(2026, 9, 18)):
        world.act(case_id, "accept", "clerk")
        world.act(case_id, "review", "reviewer")
    with at(date(2026, 9, 19)):  # Saturday
        world.act(case_id, "pause", "reviewer", reason="现场核查")
    with at(date(2026, 9, 21)):
        world.act(case_id, "resume", "reviewer")
    with at(date(2026, 9, 22)):
        world.act(case_id, "decide", "approver", decision="approve")
    with at(date(2026, 9, 23)):
        world.act(case_id, "close", "clerk")
        service_life = world.lifecycle
        assert service_life.supervision().cases == []  # closed today
        before = service_life.supervision(as_of=date(2026, 9, 17)).cases[0].life
        assert (before.state, before.accepted_on) == ("received", None)
        assert before.deadlines.notice_due == date(2026, 9, 20)
        assert before.deadlines.committed_due is None
        during = service_life.supervision(as_of=date(2026, 9, 21)).cases[0].life
        assert during.state == "under_review" and during.decided_on is None
        # accepted 18 Sep, 10 working days; paused after 19 Sep up to 21 Sep (20 Sun, a
        # working day, and 21 not counted): 22–24, 28–30 Sep, 8, 9, 10 (Sat), 12 Oct
        assert during.deadlines.committed_due == date(2026, 10, 12)
        assert during.deadlines.working_days_left == 10
        paused = service_life.supervision(as_of=date(2026, 9, 20)).cases[0].life
        assert paused.state == "paused" and paused.deadlines.paused
        decided = service_life.supervision(as_of=date(2026, 9, 22)).cases[0].life
        assert (decided.state, decided.decided_on) == ("decided", date(2026, 9, 22))


def test_loading_a_year_recomputes_provisional_deadlines(world: World) -> None:
    with at(date(2027, 9, 29)):  # Wednesday; 2027 is not loaded
        case_id = world.new_case()
        deadlines = world.life(case_id).deadlines
        # weekends and 1–3 Oct (fixed statutory dates) only: 30 Sep, 4, 5, 6, 7 Oct
        assert (deadlines.notice_due, deadlines.provisional) == (date(2027, 10, 7), True)
        load_schedule(world.service.runtime, parse_schedule({
            "year": 2027, "source": "test: a 2027 notice", "version": "test",
            "days": [{"date": f"2027-10-0{d}", "kind": "statutory_holiday"} for d in (1,)]
                    + [{"date": f"2027-10-0{d}", "kind": "weekend"} for d in (2, 3)]
                    + [{"date": f"2027-10-0{d}", "kind": "adjusted_rest_day"}
                       for d in (4, 5, 6, 7)] + [
                {"date": "2027-10-09", "kind": "adjusted_working_day", "name": "国庆节"}]}),
            loaded_by="test")
        deadlines = world.life(case_id).deadlines
        # 30 Sep, 8, 9 (Sat, working), 11, 12 Oct
        assert (deadlines.notice_due, deadlines.provisional) == (date(2027, 10, 12), False)


# -- supervision -----------------------------------------------------------------------------
def test_supervision_sorts_by_urgency_and_counts_by_item_and_light(world: World) -> None:
    with at(date(2026, 9, 14)):
        overdue = world.new_case()  # notice due Sun 20 Sep (an adjusted working day)
    with at(date(2026, 9, 21)):
        closing = world.new_case("company-establishment")  # committed 3
        world.act(closing, "accept", "clerk")  # committed due 24 Sep
        fresh = world.new_case()
        refused = world.new_case()
        world.act(refused, "refuse", "clerk", reason="不属于本机关职权范围")
    with at(date(2026, 9, 23)):
        board = world.lifecycle.supervision()
        assert board.as_of == date(2026, 9, 23)
        order = [(row.case_id, row.life.deadlines.light) for row in board.cases]
        assert order == [(overdue, "red"), (closing, "yellow"), (fresh, "green")]
        assert board.totals == {"red": 1, "yellow": 1, "green": 1}
        assert board.counts == {"company-establishment": {"red": 0, "yellow": 1, "green": 0},
                                ITEM: {"red": 1, "yellow": 0, "green": 1}}
        reds = world.lifecycle.supervision(light="red")
        assert [row.case_id for row in reds.cases] == [overdue]
        assert reds.totals == board.totals  # counts are of every open case
        # As of a later date the company case is overdue too (24 Sep was its last day).
        later = world.lifecycle.supervision(as_of=date(2026, 9, 25))
        assert [row.life.deadlines.light for row in later.cases][:2] == ["red", "red"]
        # As of 18 Sep only the first case existed, still within its notice limit (due
        # 20 Sep: 1 working day left, yellow).
        back = world.lifecycle.supervision(as_of=date(2026, 9, 18))
        assert [(r.case_id, r.life.deadlines.light) for r in back.cases] == [
            (overdue, "yellow")]
        # As of a date before the cases came in, there is nothing to supervise.
        assert world.lifecycle.supervision(as_of=date(2026, 9, 1)).cases == []
        assert world.lifecycle.light_counts() == board.totals
