"""The `docintake` command line: the demo, the server, and server-less OCR and checks."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from intake.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:  # the database and storage stack loads only for commands that use it
    from intake.runtime import Runtime

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="docintake: document intake and OCR verification.")
apikey_app = typer.Typer(no_args_is_help=True, help="Manage API keys.")
catalog_app = typer.Typer(no_args_is_help=True, help="Inspect and validate the item catalog.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
audit_app = typer.Typer(no_args_is_help=True, help="The tamper-evident audit log.")
user_app = typer.Typer(no_args_is_help=True, help="People who sign in to the pages.")
calendar_app = typer.Typer(no_args_is_help=True,
                           help="The working-day calendar (holidays, adjusted working days).")
center_app = typer.Typer(no_args_is_help=True, help="Manage service centers.")
app.add_typer(apikey_app, name="apikey")
app.add_typer(calendar_app, name="calendar")
app.add_typer(center_app, name="center")
app.add_typer(catalog_app, name="catalog")
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(user_app, name="user")

out = Console()
err = Console(stderr=True)

STATE_STYLE = {"present": "green", "reused": "green", "committed": "cyan",
               "not_required": "dim", "missing": "red", "invalid": "red"}


def _settings(**overrides: Any) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


def _runtime(settings: Settings) -> Runtime:
    from intake.runtime import Runtime
    from rules.catalog import CatalogError

    try:
        return Runtime.from_settings(settings)
    except CatalogError as exc:
        err.print(f"[red]catalog error: {exc}[/red]")
        raise typer.Exit(2) from exc


def _acceptance(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter("use YYYY-MM-DD", param_hint="--acceptance-date") from exc


# demo ------------------------------------------------------------------------------------
@app.command()
def demo(
    output: Annotated[Path, typer.Option(help="Where sample scans and notices go")] = Path(
        "demo-output"),
    seed: Annotated[int, typer.Option(help="Seed for the sample packets")] = 7,
) -> None:
    """Build sample scanned packets, run them through the real pipeline, print the reports
    and write the one-time notification PDFs."""
    from intake.runners import ThreadRunner
    from intake.service import IntakeService, Upload
    from samples import demo_packets

    settings = _settings()
    runtime = _runtime(settings)
    runner = ThreadRunner(runtime)
    service = IntakeService(runtime, runner)
    output.mkdir(parents=True, exist_ok=True)
    out.print(f"[bold]docintake demo[/bold] — data in {settings.data_dir.resolve()}, "
              f"output in {output.resolve()}")
    out.print("Generating sample packets (Chinese scans with scanner degradation)…")
    packets = demo_packets(output / "scans", seed=seed)
    mismatches = 0
    try:
        for packet in packets:
            case = service.create_case(packet.item_code, acceptance_date=packet.acceptance_date)
            out.rule(f"{packet.name}: {case.item_name} ({case.number})")
            out.print(packet.description)
            uploads = [Upload.from_bytes(p.name, p.read_bytes()) for p in packet.files]
            batch = service.upload_batch(case.id, uploads)
            _follow(service, batch.id)
            report = service.case_report(case.id)
            mismatches += _print_report(report, packet.expected_states, packet.expected_status)
            pdf = service.notification_pdf(case.id, issued_on=packet.acceptance_date)
            notice = output / f"notification-{case.number}.pdf"
            notice.write_bytes(pdf)
            out.print(f"One-time notification: {notice}")
    finally:
        runner.shutdown()
        runtime.close()
    verdict = "all slot states as expected" if not mismatches else (
        f"{mismatches} slot state(s) differ from the packets' ground truth")
    out.print(f"\n[bold]Done.[/bold] {len(packets)} cases processed; {verdict}.")


def _follow(service: Any, batch_id: str, *, timeout: float | None = None) -> Any:
    """Progress bars for a batch's stages until it is finished (or `timeout` passes)."""
    columns = (TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    deadline = None if timeout is None else time.monotonic() + timeout
    with Progress(*columns, console=out, transient=False) as bar:
        stages = {name: bar.add_task(name, total=None)
                  for name in ("preprocessed", "OCR'd", "classified")}
        while True:
            progress = service.batch_progress(batch_id)
            total = progress.pages_total or None
            failed = progress.pages_failed
            done = {"preprocessed": progress.pages_preprocessed,
                    "OCR'd": progress.pages_read, "classified": progress.pages_classified}
            for name, task in stages.items():
                label = f"{name} ({failed} failed)" if failed and name == "OCR'd" else name
                bar.update(task, total=total, completed=done[name], description=label)
            if progress.status in ("completed", "failed"):
                break
            if deadline is not None and time.monotonic() > deadline:
                break
            time.sleep(0.3)
    for f in progress.files:
        if f.error_code:
            out.print(f"  [yellow]{f.filename}: {f.error_message}[/yellow]")
    return progress


def _print_report(report: dict[str, Any], expected: dict[str, str] | None = None,
                  expected_status: str | None = None) -> int:
    table = Table(show_lines=False)
    for column in ("slot", "material", "state", "findings") + (
            ("expected",) if expected else ()):
        table.add_column(column, overflow="fold")
    mismatches = 0
    for slot in report["slots"]:
        state = slot["state"]
        findings = "; ".join(f["message"] for f in slot["findings"])
        row = [slot["code"], slot.get("name", ""),
               f"[{STATE_STYLE.get(state, 'white')}]{state}[/]", findings]
        if expected:
            want = expected.get(slot["code"], "?")
            ok = want == state
            mismatches += 0 if ok else 1
            row.append("✓" if ok else f"[red]✗ {want}[/red]")
        table.add_row(*row)
    out.print(table)
    status = report["status"]
    colour = {"complete": "green", "incomplete": "red"}.get(status, "yellow")
    line = f"Status: [{colour}]{status}[/]"
    if expected_status:
        line += " ✓" if status == expected_status else f" [red]✗ expected {expected_status}[/red]"
        mismatches += 0 if status == expected_status else 1
    out.print(line)
    for problem in report.get("unreadable", []):
        out.print(f"[yellow]unreadable: {problem['source']} "
                  f"{problem['page'] or ''} {problem['message']}[/yellow]")
    return mismatches


# serve -----------------------------------------------------------------------------------
@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
) -> None:
    """Run the HTTP API on the configured (default: embedded) parts."""
    import uvicorn

    from api.app import create_app
    from intake.logs import configure_logging

    settings = _settings()
    configure_logging(settings.log_level)
    uvicorn.run(create_app(_runtime(settings)), host=host, port=port, log_config=None)


# worker / follow -------------------------------------------------------------------------
@app.command()
def worker(
    concurrency: Annotated[int | None, typer.Option(
        help="Worker processes (prefork), each with its own OCR model; default: "
             "DOCINTAKE_WORKER_CONCURRENCY or the number of cores")] = None,
    loglevel: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR")] = "INFO",
    hostname: Annotated[str | None, typer.Option(help="Celery node name")] = None,
    metrics_port: Annotated[int | None, typer.Option(
        help="Serve this node's Prometheus metrics (all its processes) on this port")] = None,
    metrics_host: Annotated[str, typer.Option(
        help="Address for --metrics-port; 0.0.0.0 only on a private network")] = "127.0.0.1",
) -> None:
    """Run a Celery worker node reading pages for the API (needs DOCINTAKE_BROKER_URL).
    OCR threads per process default to cores / processes."""
    import os

    settings = _settings()
    if not settings.broker_url:
        err.print("[red]DOCINTAKE_BROKER_URL is not set: a worker needs the broker "
                  "(redis://host:6379/0)[/red]")
        raise typer.Exit(2)
    from storage.db import Database

    database = Database(settings.effective_database_url)
    try:
        current, head = database.current_revision(), Database.head_revision()
    finally:
        database.dispose()
    if current != head:
        err.print(f"[red]database at revision {current}, code expects {head}: run "
                  "`docintake db upgrade` (the API does it on start)[/red]")
        raise typer.Exit(2)
    if metrics_port is not None:
        import tempfile

        # Must be set before prometheus_client is first imported, in this process and so
        # in the pool processes forked from it.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="docintake-metrics-")
        from prometheus_client import CollectorRegistry, multiprocess, start_http_server

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        start_http_server(metrics_port, addr=metrics_host, registry=registry)
    from intake.celery_app import run_worker

    run_worker(settings, concurrency=concurrency, loglevel=loglevel.upper(), hostname=hostname)


@app.command()
def follow(
    batch_id: Annotated[str, typer.Argument(help="Batch id (from the upload's answer)")],
    timeout: Annotated[float | None, typer.Option(help="Stop following after seconds")] = None,
) -> None:
    """Show a batch's progress (received, preprocessed, OCR'd, classified, failed) until it
    is finished, from the configured database."""
    from intake.errors import IntakeError
    from intake.service import IntakeService

    class _NoRunner:
        def submit_batch(self, batch_id: str) -> None: ...

        def submit_files(self, batch_id: str) -> None: ...

        def submit_stack(self, stack_id: str) -> None: ...

        def shutdown(self) -> None: ...

    runtime = _runtime(_settings())
    try:
        progress = _follow(IntakeService(runtime, _NoRunner()), batch_id, timeout=timeout)
    except IntakeError as exc:
        err.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from exc
    finally:
        runtime.close()
    out.print(f"{progress.status}: {progress.pages_read} of {progress.pages_total} pages read, "
              f"{progress.pages_failed} failed")


# watch -----------------------------------------------------------------------------------
@app.command()
def watch(
    directory: Annotated[Path, typer.Argument(help="The scanner's output folder",
                                              file_okay=False, exists=True)],
    api: Annotated[str, typer.Option(help="docintake server, e.g. https://intake.example")],
    key_file: Annotated[Path, typer.Option(help="File holding a clerk's API key",
                                           dir_okay=False, exists=True)],
    poll: Annotated[bool, typer.Option(help="Poll instead of inotify (network shares)")] = False,
    stable_seconds: Annotated[float, typer.Option(
        min=0.0, help="Upload a file once its size and time have not changed this long")] = 3.0,
) -> None:
    """Upload every scanned stack written to DIRECTORY to the server, then move it to
    DIRECTORY/done/ (or DIRECTORY/failed/ with a note saying why). Safe to stop and
    restart at any time: nothing is uploaded twice, nothing is lost."""
    import logging

    from api.watch import HotFolder, StackUploader, read_key_file

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        key = read_key_file(key_file)
    except (OSError, ValueError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    uploader = StackUploader(api, key)
    folder = HotFolder(directory, uploader, stable_seconds=stable_seconds)
    err.print(f"watching {directory} -> {uploader.base_url}/stacks")
    try:
        folder.watch(poll=poll)
    finally:
        uploader.close()


# ocr / check -----------------------------------------------------------------------------
def _read_files(files: list[Path], threads: int | None) -> Any:
    from intake.settings import engine_options
    from ocr.reader import LazyEngine, read_files
    from ocr.types import FileError

    unreadable: list[FileError] = []

    def contents() -> Iterator[tuple[str, bytes]]:
        for path in files:  # one file in memory at a time
            try:
                data = path.read_bytes()
            except OSError as exc:
                unreadable.append(FileError(str(path), "file.unreadable",
                                            f"无法读取文件 (cannot read the file): {exc}"))
                continue
            yield str(path), data

    # The models load on the first page that needs OCR, not for blank or born-digital ones.
    engine = LazyEngine(engine_options(_settings(), threads=threads))
    result = read_files(contents(), engine)  # type: ignore[arg-type]
    result.errors[:0] = unreadable
    return result


@app.command()
def ocr(
    files: Annotated[list[Path], typer.Argument(help="PDF, TIFF, JPEG or PNG files")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    threads: Annotated[int | None, typer.Option(
        help="OCR threads (default: DOCINTAKE_OCR_THREADS)")] = None,
) -> None:
    """Read files: OCR for scans, the text layer for born-digital PDF pages."""
    result = _read_files(files, threads)
    if as_json:
        payload = {"pages": [p.to_dict() for p in result.pages],
                   "errors": [e.__dict__ for e in result.errors]}
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=1) + "\n")
    else:
        for page in result.pages:
            out.rule(f"{page.source} p.{page.page} ({page.method}, rotation {page.rotation})")
            out.print(page.text or "[dim](blank)[/dim]", markup=False)
        for e in result.errors:
            err.print(f"[red]{e.source}: {e.message}[/red]")
    if result.errors and not result.pages:
        raise typer.Exit(1)


@app.command()
def check(
    files: Annotated[list[Path], typer.Argument(help="The applicant's scanned materials")],
    item: Annotated[str, typer.Option("--item", help="Item code, e.g. company-establishment")],
    acceptance_date: Annotated[str | None, typer.Option(
        "--acceptance-date", help="YYYY-MM-DD; expiry is judged on this date (default today)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    threads: Annotated[int | None, typer.Option(
        help="OCR threads (default: DOCINTAKE_OCR_THREADS)")] = None,
) -> None:
    """Classify, extract and check files against an item, without a server or database."""
    from intake.assess import Unreadable, assess
    from rules.catalog import CatalogError, UnknownItemError, load_catalog

    on = _acceptance(acceptance_date)
    settings = _settings()
    try:
        catalog = load_catalog(settings.catalog_dir)
        item_def = catalog.item(item)
    except CatalogError as exc:
        err.print(f"[red]catalog error: {exc}[/red]")
        raise typer.Exit(2) from exc
    except UnknownItemError as exc:
        err.print(f"[red]unknown item {item!r}; known: {', '.join(catalog.items)}[/red]")
        raise typer.Exit(2) from exc
    result = _read_files(files, threads)
    unreadable = [Unreadable(e.source, None, e.code, e.message) for e in result.errors]
    assessment = assess(result.pages, item_def, catalog, on, unreadable=unreadable)
    report = assessment.to_dict()
    classes = {c.page: c for c in assessment.analysis.classifications}
    report["pages"] = [
        {"number": n, "source": p.source, "page": p.page, "method": p.method,
         "rotation": p.rotation, "blank": p.blank,
         "type": classes[n].material_type if n in classes else None,
         "confidence": round(classes[n].confidence, 4) if n in classes else None}
        for n, p in enumerate(result.pages, start=1)
    ]
    if as_json:
        sys.stdout.write(json.dumps(report, ensure_ascii=False, indent=1) + "\n")
        return
    out.print(f"[bold]{item_def.name}[/bold] ({item}) — acceptance date {on.isoformat()}")
    pages = Table("page", "source", "type", "confidence")
    for p in report["pages"]:
        pages.add_row(str(p["number"]), f"{Path(p['source']).name} p.{p['page']}",
                      "blank" if p["blank"] else str(p["type"]),
                      "" if p["confidence"] is None else f"{p['confidence']:.2f}")
    out.print(pages)
    _print_report(report)


# apikey / catalog / db -------------------------------------------------------------------
def _operator() -> Any:
    """The principal of a command run on the server: a global admin, named after the
    operating-system user so the audit log says who."""
    import getpass

    from intake.access import OPERATOR, Principal

    try:
        user = getpass.getuser()
    except Exception:  # no user name in the environment (a container): still audited
        user = "unknown"
    return Principal(None, f"cli:{user}", OPERATOR.role)


def _keys() -> Any:
    from intake.keys import KeyService

    return KeyService(_runtime(_settings()))


def _fail(exc: Exception) -> typer.Exit:
    err.print(f"[red]{exc}[/red]")
    return typer.Exit(2)


def _expiry(value: str | None) -> Any:
    """`--expires`: a date (YYYY-MM-DD, end of that day UTC) or a number of days."""
    from datetime import UTC, datetime, timedelta

    if value is None:
        return None
    if value.isdigit():
        return datetime.now(UTC) + timedelta(days=int(value))
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter("use YYYY-MM-DD or a number of days",
                                 param_hint="--expires") from exc
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC)


@apikey_app.command("create")
def apikey_create(
    role: Annotated[str, typer.Option(help="clerk, reviewer, approver, admin or system")],
    name: Annotated[str, typer.Option(help="Who or what uses the key")] = "",
    scope: Annotated[list[str] | None, typer.Option(
        help="Certificate types a system key may query (repeatable); checked against "
             "the catalog")] = None,
    center: Annotated[str | None, typer.Option(
        help="Service center code (default: the default center)")] = None,
    global_admin: Annotated[bool, typer.Option(
        "--global", help="An admin key of every center")] = False,
    purpose: Annotated[list[str] | None, typer.Option(
        help="A purpose a system key may declare in queries (repeatable)")] = None,
    expires: Annotated[str | None, typer.Option(
        help="Expiry: YYYY-MM-DD or a number of days")] = None,
) -> None:
    """Create an API key and print it once; only its hash is stored."""
    from intake.errors import IntakeError

    try:
        issued = _keys().create_key(role=role, name=name, scopes=scope or [], center=center,
                                    global_admin=global_admin, purposes=purpose or [],
                                    expires_at=_expiry(expires), principal=_operator())
    except IntakeError as exc:
        raise _fail(exc) from exc
    where = issued.key.center or "all centers"
    err.print(f"Created {role} key #{issued.key.id} ({where}). Store it now; it cannot be "
              "shown again.")
    sys.stdout.write(issued.plaintext + "\n")


@apikey_app.command("list")
def apikey_list(
    include_revoked: Annotated[bool, typer.Option("--all", help="Include revoked keys")
                               ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The keys: role, center, scopes, purposes, expiry, last use."""
    keys = _keys().keys(principal=_operator(), include_revoked=include_revoked)
    if as_json:
        sys.stdout.write(json.dumps([k.__dict__ for k in keys], default=str,
                                    ensure_ascii=False, indent=1) + "\n")
        return
    table = Table("id", "name", "role", "center", "scopes", "expires", "last used", "state")
    for k in keys:
        state = "active" if k.active else ("revoked" if k.revoked_at else "expired")
        table.add_row(str(k.id), k.name, k.role, k.center or "(global)",
                      ",".join(k.scopes + [f"purpose:{p}" for p in k.purposes]),
                      f"{k.expires_at:%Y-%m-%d %H:%M}" if k.expires_at else "-",
                      f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "never",
                      state)
    out.print(table)


@apikey_app.command("revoke")
def apikey_revoke(key_id: Annotated[int, typer.Argument(help="Key id (apikey list)")]) -> None:
    """Revoke a key: refused from the next request on."""
    from intake.errors import IntakeError

    try:
        _keys().revoke_key(key_id, principal=_operator())
    except IntakeError as exc:
        raise _fail(exc) from exc
    out.print(f"key #{key_id} revoked")


@apikey_app.command("rotate")
def apikey_rotate(
    key_id: Annotated[int, typer.Argument(help="Key id (apikey list)")],
    overlap_hours: Annotated[float, typer.Option(
        help="How long the old key keeps working")] = 24.0,
) -> None:
    """A successor key with the same role, center, scopes and purposes; the old key
    expires after the overlap window."""
    from datetime import timedelta

    from intake.errors import IntakeError

    try:
        issued = _keys().rotate_key(key_id, overlap=timedelta(hours=overlap_hours),
                                    principal=_operator())
    except IntakeError as exc:
        raise _fail(exc) from exc
    err.print(f"Key #{key_id} now expires in {overlap_hours:g} h; its successor is "
              f"#{issued.key.id}. Store it now; it cannot be shown again.")
    sys.stdout.write(issued.plaintext + "\n")


@center_app.command("create")
def center_create(
    code: Annotated[str, typer.Argument(help="Center code, e.g. bj-chaoyang")],
    name: Annotated[str, typer.Option(help="The center's name (printed on notices)")],
    region: Annotated[str | None, typer.Option(
        help="行政区划代码 of the region it serves (6, 9 or 12 digits)")] = None,
) -> None:
    """Create a service center; then give it keys with `apikey create --center CODE`."""
    from intake.errors import IntakeError

    try:
        center = _keys().create_center(code, name, region, principal=_operator())
    except IntakeError as exc:
        raise _fail(exc) from exc
    out.print(f"center {center.code} (#{center.id}) created")


@center_app.command("list")
def center_list() -> None:
    """The service centers."""
    table = Table("id", "code", "name", "region")
    for c in _keys().centers():
        table.add_row(str(c.id), c.code, c.name, c.region_code or "-")
    out.print(table)


@catalog_app.command("show")
def catalog_show(
    code: Annotated[str, typer.Argument(help="Item code")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show one item of the catalog."""
    from rules.catalog import UnknownItemError, load_catalog

    catalog = load_catalog(_settings().catalog_dir)
    try:
        data = catalog.item(code).to_dict()
    except UnknownItemError as exc:
        err.print(f"[red]unknown item {code!r}; known: {', '.join(catalog.items)}[/red]")
        raise typer.Exit(2) from exc
    if as_json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    else:
        out.print_json(data=data)


@catalog_app.command("validate")
def catalog_validate(path: Annotated[Path, typer.Argument(help="Catalog directory")]) -> None:
    """Load a catalog directory and report the first problem with file and path."""
    from rules.catalog import CatalogError, load_catalog

    try:
        catalog = load_catalog(path)
    except CatalogError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    out.print(f"catalog OK: {len(catalog.items)} items, "
              f"{len(catalog.material_types)} material types")


@calendar_app.command("load")
def calendar_load(
    file: Annotated[Path, typer.Argument(help="A year's schedule (YAML), see "
                                              "rules/calendars/cn-2026.yaml")],
    loaded_by: Annotated[str, typer.Option(help="Who loads it, for the record")] = "admin",
) -> None:
    """Load (or replace) one year's schedule; deadlines that depend on it are recomputed."""
    from intake.calendar import load_schedule
    from rules.workdays import ScheduleError, load_schedule_file

    try:
        schedule = load_schedule_file(file)
    except ScheduleError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    stored = load_schedule(_runtime(_settings()), schedule, loaded_by=loaded_by)
    out.print(f"calendar {schedule.year}: {stored} days loaded from {schedule.source} "
              f"(version {schedule.version})")


@calendar_app.command("show")
def calendar_show(
    year: Annotated[int, typer.Argument(help="Year")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The loaded schedule of a year: its source and every holiday or adjusted day."""
    from intake.calendar import year_schedule

    schedule = year_schedule(_runtime(_settings()), year)
    if schedule is None:
        message = (f"{year}: no schedule loaded; its deadlines count weekends and the fixed "
                   "statutory dates only and are marked provisional")
        if as_json:
            sys.stdout.write(json.dumps({"year": year, "loaded": False}) + "\n")
        err.print(message)
        raise typer.Exit(1)
    from rules.workdays import schedule_document

    document = schedule_document(schedule)
    if as_json:
        sys.stdout.write(json.dumps({**document, "loaded": True}, ensure_ascii=False,
                                    indent=1) + "\n")
        return
    table = Table(title=f"{year} — {schedule.source} (version {schedule.version})")
    for column in ("date", "weekday", "working", "kind", "name"):
        table.add_column(column)
    for day in schedule.days:
        table.add_row(day.day.isoformat(), day.day.strftime("%a"),
                      "yes" if day.working else "no", day.kind, day.name)
    out.print(table)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations to the configured database."""
    from storage.db import Database

    database = Database(_settings().effective_database_url)
    database.migrate()
    out.print(f"database at revision {database.current_revision()}")


def main() -> None:
    app()


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign the audit chain's head and store the checkpoint in the object store."""
    from intake.audit import AuditKeyError, checkpoint

    runtime = _runtime(_settings())
    try:
        signed = checkpoint(runtime)
    except AuditKeyError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    finally:
        runtime.close()
    out.print(f"checkpoint: {signed.count} entries, head {signed.head_hash[:16]}…, "
              f"{signed.at.isoformat()}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Replay the audit chain and check it extends the newest checkpoint; exit 1 naming the
    first entry that was changed, removed or reordered, or a cut-off tail."""
    from intake.audit import AuditKeyError, verify

    runtime = _runtime(_settings())
    try:
        result = verify(runtime)
    except AuditKeyError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    finally:
        runtime.close()
    if not result.ok:
        err.print(f"[red]audit log tampered: {result.message}[/red]")
        raise typer.Exit(1)
    out.print(f"ok: {result.message}")


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Option(help="Sign-in name: a-z, 0-9, '.', '_', '-'")],
    role: Annotated[str, typer.Option(help="clerk, reviewer, approver or admin")],
    center: Annotated[str | None, typer.Option(
        help="Service center code (default: the default center)")] = None,
) -> None:
    """Create a person's account; the password is read from standard input (never from
    the command line, where other users of the machine could see it)."""
    from intake.accounts import AccountError, Accounts

    password = sys.stdin.readline().rstrip("\r\n")
    runtime = _runtime(_settings())
    try:
        user = Accounts(runtime).create_user(username, password, role, center)
    except AccountError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    finally:
        runtime.close()
    out.print(f"created user {user.username} ({role})")


@user_app.command("disable")
def user_disable(username: Annotated[str, typer.Argument(help="The account to disable")]
                 ) -> None:
    """Disable an account at once: its sessions end and it cannot sign in again."""
    from intake.accounts import AccountError, Accounts

    runtime = _runtime(_settings())
    try:
        Accounts(runtime).disable(username)
    except AccountError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    finally:
        runtime.close()
    out.print(f"disabled user {username}")
