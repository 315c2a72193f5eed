"""The `slotwise` command.

    slotwise run SCENARIO [--out results.json]       coordinator here, one process per participant
    slotwise coordinator SCENARIO [--bind ADDRESS]   coordinator only; agents connect from anywhere
    slotwise participant --connect ADDRESS --name N  one agent
    slotwise validate SCENARIO                       check a scenario file
    slotwise explain SCENARIO MEETING_ID             why a meeting landed where it did, slot by slot
    slotwise cluster SCENARIO [--netns]              every role its own process (or network namespace)
    slotwise keys generate NAME [--dir DIR]          a CURVE key pair (secret file mode 0600)
    slotwise generate --people N --meetings M        a seeded synthetic scenario, as YAML

Exit codes: 0 the negotiation completed (some meetings may be unplaced, each with a reason),
2 bad input (file, field and problem on stderr, no traceback), 1 anything else.

Each command imports the rooms it uses when it runs: the coordinator's core costs some 300 ms
to import, the agent 220 ms, the report 230 ms, rich 50 ms, OR-Tools 200 ms, so `slotwise
participant` (one per agent host) and `slotwise --version` pay only for what they use.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from loguru import logger

from slotwise._version import __version__
from slotwise.mail_options import add_smtp_arguments  # stdlib only: cheap at start-up
from slotwise.participant.arguments import add_participant_arguments  # stdlib only: cheap at start-up
from slotwise.shared.endpoints import DEFAULT_BIND  # stdlib only: cheap at start-up
from slotwise.shared.errors import AdminError, CoreError, InputError, ScenarioError
from slotwise.shared.limits import fit_participants
from slotwise.shared.logsetup import configure, escape
from slotwise.shared.paths import output_dir, output_file  # stdlib only: cheap at start-up
from slotwise.shared.zones import zone_option  # stdlib only: cheap at start-up

if TYPE_CHECKING:  # the commands import what they use, so `slotwise participant` starts light
    from rich.console import Console

    from slotwise.coordinator.negotiation import Action
    from slotwise.coordinator.outcome import RunResult
    from slotwise.coordinator.plan import Plan
    from slotwise.mail_options import Outlets
    from slotwise.shared.scenario import Scenario

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2
MAIL_WAIT_S = 30.0  # how long a run waits for its invitations to reach the mail server


def _consoles() -> tuple[Console, Console]:
    from rich.console import Console

    # soft_wrap: error lines stay whole for grep and editors
    return Console(soft_wrap=True), Console(stderr=True, soft_wrap=True)


def _plan(path: Path, args: argparse.Namespace | None = None, *, calendars: bool = False) -> tuple[Scenario, Plan]:
    """Load and compile, with the command line's timeout overrides (ScenarioError: exit 2).
    With `calendars` (the agents run here, or the file is being validated), every calendar file
    a participant names must be readable too."""
    from slotwise.coordinator.plan import load_plan
    from slotwise.participant.calendars.sources import calendar_file_problems

    scenario, plan = load_plan(path, checks=[calendar_file_problems] if calendars else ())
    if args is None:
        return scenario, plan
    if getattr(args, "tz", None):
        plan = replace(plan, shown_zone=zone_option("--tz", args.tz))
    changes = {k: v for k, v in {"join_timeout_s": getattr(args, "join_timeout", None),
                                 "response_timeout_s": getattr(args, "response_timeout", None)}.items()
               if v is not None}
    return scenario, plan.with_settings(**changes)


@contextmanager
def _progress(plan: Plan, quiet: bool) -> Iterator[Callable[[Action], None]]:
    """A live display of joining, then of meetings decided; yields the action callback."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from slotwise.coordinator.negotiation import Decided, Joined, Started

    _, err = _consoles()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=True, disable=quiet) as progress:
        joining = progress.add_task("participants joining", total=len(plan.people))
        placing = progress.add_task("meetings decided", total=len(plan.meetings), visible=False)

        def on_action(action: Action) -> None:
            if isinstance(action, Joined):
                progress.update(joining, completed=action.ready)
            elif isinstance(action, Started):
                progress.update(joining, completed=len(action.joined), visible=False)
                progress.update(placing, visible=True)
            elif isinstance(action, Decided):
                progress.advance(placing)

        yield on_action


def _report(scenario: Scenario, plan: Plan, result: RunResult, out_path: Path | None, quiet: bool,
            failed_only: bool = False, ics_out: Path | None = None, html: Path | None = None,
            outlets: Outlets | None = None) -> None:
    from slotwise.report.results import Results, outcome_table

    results = Results.build(plan, result)
    if out_path is not None:
        results.write(out_path)
    if html is not None:
        from slotwise.coordinator.page import page

        html.write_text(page(plan.name, results.document()))
    if ics_out is not None:
        from slotwise.coordinator.invitation import Invitation
        from slotwise.coordinator.itip import ItipWriter
        from slotwise.shared.events import Directory

        mailer, organizer = (outlets.mailer, outlets.organizer) if outlets is not None else (None, None)
        itip = ItipWriter(ics_out, Directory.of(scenario), mailer.post if mailer is not None else None, organizer)
        for d in result.decisions:
            itip.scheduled(d, Invitation.of(plan.meeting(d.id), d.id))
        itip.flush()
        itip.retire()
        itip.publish()
    if outlets is not None:
        for note in outlets.finish(MAIL_WAIT_S):
            _consoles()[1].print(f"[yellow]{note}[/yellow]")
    if not quiet:
        out, _ = _consoles()
        out.print(outcome_table(plan, results, failed_only=failed_only))
        st = results.stats
        out.print(f"{st.scheduled} scheduled, {st.failed} not placed; {st.rounds} rounds, "
                  f"{st.messages} messages, {st.round_trips_per_meeting} round trips per "
                  f"meeting; start-up {st.startup_s:.2f}s, negotiation {st.negotiation_s:.3f}s"
                  + (f"; missing: {', '.join(result.missing)}" if result.missing else ""))
        if out_path is not None:
            out.print(f"results written to {out_path}")


def _outlets(args: argparse.Namespace, scenario: Scenario) -> Outlets | None:
    """`--smtp` and the organizer's calendar, checked before anything is negotiated. The iTIP
    files remember what was sent, so a run needs --ics-out to send invitations."""
    from slotwise.mail_options import open_outlets
    from slotwise.shared.errors import InputError

    if args.smtp is not None and args.ics_out is None:
        raise InputError("--smtp needs --ics-out DIR: the iTIP files there remember what was sent, so the next "
                         "run mails only what changed")
    if args.ics_out is None:
        if scenario.organizer is not None and scenario.organizer.caldav is not None:
            _consoles()[1].print("[yellow]organizer.caldav: invitations go out with --ics-out DIR (which remembers "
                                 "what was sent), or from `slotwise serve`[/yellow]")
        return None
    return open_outlets(args, scenario, args.ics_out)


def cmd_run(args: argparse.Namespace) -> int:
    from slotwise.local import run_locally
    from slotwise.report.audit import audit, disagreements

    scenario, plan = _plan(args.scenario, args, calendars=True)
    outlets = _outlets(args, scenario)
    with _progress(plan, args.quiet) as on_action:
        local = run_locally(scenario, plan, transport=args.transport, on_action=on_action, secure=not args.insecure,
                            log_level="DEBUG" if args.verbose > 1 else "WARNING", hosts=args.hosts,
                            coordinator_timeout_s=args.coordinator_timeout)
    result = local.result
    _report(scenario, plan, result, args.out, args.quiet, args.failed_only, args.ics_out, args.html, outlets)
    problems = audit(scenario, plan, result.decisions) + disagreements(result.decisions, local.records)
    _, err = _consoles()
    for p in problems:
        err.print(f"[red]schedule check failed:[/] {p}")
    return EXIT_FAILURE if problems else EXIT_OK


def cmd_coordinator(args: argparse.Namespace) -> int:
    import asyncio

    from slotwise.coordinator.journal import Journal, read_journal
    from slotwise.coordinator.launched import LaunchedPids
    from slotwise.coordinator.service import CoordinatorService
    from slotwise.shared.endpoints import parse_endpoints, require_protection
    from slotwise.shared.keys import ServerKeys

    _, err = _consoles()
    scenario, plan = _plan(args.scenario, args)
    outlets = _outlets(args, scenario)
    requested = parse_endpoints(args.bind)
    keys_dir = args.keys or scenario.keys_dir(args.scenario)
    keys = ServerKeys.load(keys_dir) if keys_dir is not None else None
    require_protection(requested, keys=keys is not None, insecure=args.insecure)
    if (warning := fit_participants(len(plan.people))) is not None:
        err.print(f"warning: {warning}")
    resumed = []
    if args.resume is not None:
        resumed = read_journal(args.resume, plan.name, known={m.id for m in plan.meetings})
        err.print(f"resuming: {len(resumed)} decision(s) from {args.resume} stand")
    launched = LaunchedPids.read(args.launched) if args.launched is not None else None
    journal_path = args.journal or args.resume
    journal = Journal(journal_path, plan.name) if journal_path is not None else None
    try:
        service = CoordinatorService(plan, requested, keys=keys, journal=journal, resume=resumed)
        try:
            endpoints = service.bind()
            err.print(f"coordinator for {plan.name!r} listening on {endpoints}; waiting up to "
                      f"{plan.settings.join_timeout_s:g}s for: {', '.join(plan.participants)}")
            err.print(f"start each agent with: slotwise participant --connect {endpoints} "
                      "--name NAME --availability FILE" + (" --keys DIR (its own keys folder)" if keys else ""))
            with _progress(plan, args.quiet) as on_action:
                service.on_action = on_action
                result = asyncio.run(service.run(launched=launched))
        finally:
            service.close()
    finally:
        if journal is not None:
            journal.close()
    _report(scenario, plan, result, args.out, args.quiet, ics_out=args.ics_out, html=args.html, outlets=outlets)
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    _, plan = _plan(args.scenario, calendars=True)
    slots = sum(len(m.candidates) for m in plan.meetings)
    out, _ = _consoles()
    out.print(f"{args.scenario}: ok: {len(plan.people)} participants, {len(plan.meetings)} meetings, "
              f"{plan.grid.minutes}-minute slots, {slots} candidate slots in all", highlight=False)
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    from rich.table import Table

    from slotwise.coordinator.placement.reasons import runs
    from slotwise.local import run_locally
    from slotwise.report.results import Results
    from slotwise.shared.slots import format_interval, format_moment

    out, err = _consoles()
    scenario, plan = _plan(args.scenario, args, calendars=True)
    wanted = [m for m in plan.meetings if args.meeting in (m.id, m.series)]
    if not wanted:
        known = ", ".join(m.id for m in scenario.meetings)
        err.print(f"{args.scenario}: no meeting {args.meeting!r}; meetings: {known}")
        return EXIT_BAD_INPUT
    ids = frozenset(m.id for m in wanted)
    with _progress(plan, args.quiet) as on_action:
        local = run_locally(scenario, plan, on_action=on_action, explain=ids)
    if args.out is not None:
        Results.build(plan, local.result).write(args.out)
    decisions = {d.id: d for d in local.result.decisions}
    for m in wanted:
        d = decisions[m.id]
        when = d.when
        head = (f"scheduled {format_interval(when, plan.display_zone)} ({plan.display_zone.key}) "
                f"with {', '.join(d.participants)}"
                if d.scheduled and when else f"not placed: {d.reason}")
        out.print(f"[bold]{m.title}[/] ({m.id}): {head}")
        table = Table(show_edge=False)
        for col in ("candidates", "verdict", "detail", "who cannot come, and why"):
            table.add_column(col, overflow="fold")
        for first, last, row in runs(local.explanations.get(m.id, ())):
            span = format_moment(first.start, plan.display_zone)
            if last.start != first.start:
                span += f" .. {format_moment(last.start, plan.display_zone)}"
            style = {"chosen": "green", "excluded": "dim", "short": "red"}.get(row.verdict, "")
            table.add_row(span, f"[{style}]{row.verdict}[/]" if style else row.verdict, row.detail,
                          "; ".join(f"{who}: {why}" for who, why in row.missing))
        out.print(table)
    return EXIT_OK


def cmd_cluster(args: argparse.Namespace) -> int:
    from slotwise.testing.harness import Cluster, Namespaces

    out, err = _consoles()
    if args.netns and (why := Namespaces.unavailable()) is not None:
        err.print(f"--netns: {why}")
        return EXIT_FAILURE
    with tempfile.TemporaryDirectory(prefix="slotwise-cluster-") as tmp:
        kept = args.workdir is not None
        workdir = (args.workdir if kept else Path(tmp)).resolve()  # relative: the caller's directory
        workdir.mkdir(parents=True, exist_ok=True)
        cluster = Cluster(args.scenario.resolve(), workdir, network="netns" if args.netns else "loopback",
                          agent_hosts=args.hosts,
                          secure=not args.insecure)
        try:
            cluster.start()
            err.print(f"{len(cluster.groups) + 1} processes on {cluster.net.name}; "
                      f"coordinator at {cluster.address}; "
                      + (f"logs in {workdir}" if kept else "pass --workdir DIR to keep the logs"))
            doc = cluster.wait(timeout_s=args.timeout)
        finally:
            cluster.stop()
    if args.out is not None:
        args.out.write_text(json.dumps(doc, indent=2) + "\n")
    placed = sum(1 for m in doc["meetings"] if m["scheduled"])
    out.print(f"{placed} of {len(doc['meetings'])} meetings placed; {doc['stats']['messages']} messages; "
              f"negotiation {doc['stats']['negotiation_s']:.3f}s")
    for m in doc["meetings"]:
        out.print(f"  {m['id']}: " + (f"{m['start']} {', '.join(m['participants'])}" if m["scheduled"]
                                      else f"not placed: {m['reason']}"), highlight=False)
    return EXIT_OK


def cmd_keys(args: argparse.Namespace) -> int:
    from slotwise.shared.keys import generate

    host_for = [n for n in args.host_for.split(",") if n] if args.host_for is not None else None
    public, secret = generate(args.dir, args.name, admin=args.admin, host_for=host_for)
    out, _ = _consoles()
    holder = "participants" if args.name == "coordinator" else "service" if args.admin else "coordinator"
    out.print(f"wrote {public} (public: give it to the {holder})"
              f" and {secret} (secret, mode 0600: keep it on {args.name}'s host)", highlight=False)
    return EXIT_OK


def cmd_generate(args: argparse.Namespace) -> int:
    import yaml

    from slotwise.synthetic import synthetic_scenario

    _, err = _consoles()
    for flag, value, least in (("--people", args.people, 1), ("--meetings", args.meetings, 0),
                               ("--days", args.days, 1), ("--slot-minutes", args.slot_minutes, 1)):
        if value < least:
            err.print(f"{flag}: must be at least {least} (got {value})")
            return EXIT_BAD_INPUT
    from datetime import date, datetime

    zone = zone_option("--timezone", args.timezone)
    try:
        first = datetime.now(zone).date() if args.start == "today" else date.fromisoformat(args.start)
    except ValueError:
        err.print(f"--start: 'today' or a date as 2026-12-07 (got {args.start!r})", markup=False)
        return EXIT_BAD_INPUT
    data = synthetic_scenario(args.seed, args.people, args.meetings, days=args.days,
                              slot_minutes=args.slot_minutes, start=first, timezone=args.timezone)
    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=120)
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text)
    return EXIT_OK


def cmd_participant(args: argparse.Namespace) -> int:
    from slotwise.participant import cli as participant_cli

    return participant_cli.run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="slotwise", description="Agents negotiate meeting times.",
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=(__doc__ or "").split("\n\n", 1)[1])
    parser.add_argument("--version", action="version", version=f"slotwise {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def negotiation_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("scenario", type=Path)
        p.add_argument("--out", type=Path, help="write the results as JSON to this file")
        p.add_argument("--ics-out", type=Path, metavar="DIR",
                       help="write iTIP: one METHOD:REQUEST .ics per meeting placed, and schedule.ics")
        p.add_argument("--html", type=Path, metavar="FILE",
                       help="write the schedule as a page (a week grid, and what was not placed and why)")
        add_smtp_arguments(p)
        p.add_argument("--join-timeout", type=float, metavar="SECONDS",
                       help="how long to wait for participants (overrides the scenario)")
        p.add_argument("--response-timeout", type=float, metavar="SECONDS",
                       help="how long to wait for each answer (overrides the scenario)")
        p.add_argument("--tz", metavar="ZONE",
                       help="show times (tables, reasons, explain) in this zone (default: the scenario's)")
        p.add_argument("-q", "--quiet", action="store_true", help="no progress, no table")
        p.add_argument("-v", "--verbose", action="count", default=0, help="-v info, -vv debug")

    run = sub.add_parser("run", help="negotiate a scenario on this machine")
    negotiation_options(run)
    run.add_argument("--transport", choices=["tcp", "ipc"], default="tcp",
                     help="loopback tcp with ephemeral ports (default) or ipc sockets")
    security = run.add_mutually_exclusive_group()
    security.add_argument("--secure", action="store_true",
                          help="fresh CURVE keys for this run, in a private temporary folder (the default)")
    security.add_argument("--insecure", action="store_true",
                          help="no keys: any local process could speak for a participant (see the README)")
    run.add_argument("--hosts", type=int, metavar="K",
                     help="spread the participants over K agent host processes (default: one per core); "
                          "0: one process per participant")
    run.add_argument("--coordinator-timeout", type=float, default=30.0, metavar="SECONDS",
                     help="how long each agent waits out a silent coordinator before giving up (default 30; 0: never)")
    run.add_argument("--failed-only", action="store_true",
                     help="list only the meetings that were not placed (the summary still counts all)")
    run.set_defaults(func=cmd_run)

    coord = sub.add_parser("coordinator", help="run only the coordinator; agents connect to it")
    negotiation_options(coord)
    coord.add_argument("--bind", default=DEFAULT_BIND, metavar="ADDRESS",
                       help=f"tcp://HOST:PORT or ipc://PATH, where agents connect (default {DEFAULT_BIND})")
    coord.add_argument("--keys", type=Path, metavar="DIR",
                       help="CURVE: DIR/coordinator.key_secret, and NAME.key for every participant allowed in")
    coord.add_argument("--journal", type=Path, metavar="FILE",
                       help="append every decision here, fsync'd before it is announced")
    coord.add_argument("--resume", type=Path, metavar="JOURNAL",
                       help="after a crash: keep the journal's decisions, negotiate the rest "
                            "(and keep appending to it)")
    coord.add_argument("--launched", type=Path, metavar="FILE",
                       help="JSON {PID: [names]}: agent processes started on this machine; joining waits "
                            "for those alive and still starting, and not for those that have ended")
    coord.add_argument("--insecure", action="store_true",
                       help="allow binding a non-loopback address without encryption")
    coord.set_defaults(func=cmd_coordinator)

    part = sub.add_parser("participant", help="run one participant agent")
    add_participant_arguments(part)
    part.set_defaults(func=cmd_participant)

    val = sub.add_parser("validate", help="check a scenario file and exit")
    val.add_argument("scenario", type=Path)
    val.set_defaults(func=cmd_validate)

    exp = sub.add_parser("explain", help="negotiate, then show why one meeting landed where it did")
    negotiation_options(exp)
    exp.add_argument("meeting", help="a meeting id (a recurring meeting's id explains every occurrence)")
    exp.set_defaults(func=cmd_explain)

    clu = sub.add_parser("cluster", help="coordinator and participants as separate processes (or hosts)")
    clu.add_argument("scenario", type=Path)
    clu.add_argument("--netns", action="store_true",
                     help="each process on its own network namespace (root and iproute2 needed)")
    clu.add_argument("--insecure", action="store_true", help="no CURVE keys")
    clu.add_argument("--hosts", type=int, default=0, metavar="K",
                     help="run the participants in K agent hosts, each its own process and host (default 0: one each)")
    clu.add_argument("--out", type=Path)
    clu.add_argument("--workdir", type=Path, help="keep keys, logs and the journal here")
    clu.add_argument("--timeout", type=float, default=300.0)
    clu.set_defaults(func=cmd_cluster)

    keys = sub.add_parser("keys", help="manage CURVE keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    keys_gen = keys_sub.add_parser("generate", help="write NAME.key and NAME.key_secret (0600)")
    keys_gen.add_argument("name", help="a participant name, or 'coordinator'")
    keys_gen.add_argument("--dir", type=Path, default=Path("keys"), help="directory (default ./keys)")
    kind = keys_gen.add_mutually_exclusive_group()
    kind.add_argument("--admin", action="store_true",
                      help="an admin key for a live service's admin socket (written under DIR/admins/)")
    kind.add_argument("--host-for", metavar="A,B,...",
                      help="an agent host's key, bound to these participants (written under DIR/hosts/); "
                           "its process runs with --host NAME")
    keys_gen.set_defaults(func=cmd_keys)

    gen = sub.add_parser("generate", help="write a seeded synthetic scenario (for load and trials)")
    gen.add_argument("--people", type=int, default=20)
    gen.add_argument("--meetings", type=int, default=50)
    gen.add_argument("--days", type=int, default=5)
    gen.add_argument("--slot-minutes", type=int, default=15)
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--start", default="2024-07-22", metavar="DATE",
                     help="the first day: 'today' or a date such as 2026-12-07 (default 2024-07-22, a Monday)")
    gen.add_argument("--timezone", default="UTC", metavar="ZONE", help="the scenario's zone (default UTC)")
    gen.add_argument("--out", type=Path, help="file to write (default: standard output)")
    gen.set_defaults(func=cmd_generate)

    from slotwise.service_cli import add_service_commands

    add_service_commands(sub)
    return parser


# Every output a command takes, checked (folders created) before any work.
OUTPUTS: dict[str, Callable[[Path, str], Path]] = {
    "out": output_file, "html": output_file, "ics_out": output_dir,
    "journal": output_file, "store": output_file, "record": output_file}


def check_outputs(args: argparse.Namespace) -> None:
    """InputError (exit 2, one line) for an output that cannot be written, before any work.
    `--record` of several agents (or of an existing folder) is a folder."""
    for attr, check in OUTPUTS.items():
        path = getattr(args, attr, None)
        if attr == "store" and isinstance(path, str) and "://" not in path:
            path = Path(path)  # a SQLite file (a URL is a database server's: checked when connecting)
        if not isinstance(path, Path):
            continue
        if attr == "record" and (path.is_dir() or len(getattr(args, "name", None) or ()) > 1):
            check = output_dir
        check(path, "--" + attr.replace("_", "-"))


def main(argv: list[str] | None = None) -> int:
    """Parse, call, render, and map what went wrong to an exit code: 2 for the user's input,
    1 for anything else (a stopped core included), never a traceback for bad input."""
    args = build_parser().parse_args(argv)
    if args.command != "participant":
        level = {0: "WARNING", 1: "INFO"}.get(getattr(args, "verbose", 0), "DEBUG")
        configure(level, "coordinator", log_format=getattr(args, "log_format", "text"))
    try:
        check_outputs(args)
        return int(args.func(args))
    except ScenarioError as exc:
        _consoles()[1].print(exc.render(), markup=False, highlight=False)
        return EXIT_BAD_INPUT
    except InputError as exc:
        _consoles()[1].print(f"{args.command}: {escape(str(exc))}", markup=False, highlight=False)
        return EXIT_BAD_INPUT
    except AdminError as exc:
        _consoles()[1].print(f"{args.command}: {escape(str(exc))}", markup=False, highlight=False)
        return EXIT_BAD_INPUT if exc.kind in AdminError.REFUSALS else EXIT_FAILURE
    except SystemExit as exc:
        return int(exc.code or 0)
    except KeyboardInterrupt:
        _consoles()[1].print("interrupted")
        return EXIT_FAILURE
    except CoreError as exc:
        _consoles()[1].print(f"stopped: {escape(str(exc))}", markup=False, highlight=False)
        return EXIT_FAILURE
    except OSError as exc:
        _consoles()[1].print(f"{args.command}: {escape(str(exc))}", markup=False, highlight=False)
        return EXIT_FAILURE
    except Exception:
        logger.exception("slotwise failed")
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
