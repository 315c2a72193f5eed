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
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml
from loguru import logger
from rich.console import Console
from rich.table import Table
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from coordinator.audit import audit
from coordinator.explain import runs
from coordinator.harness import Cluster, Namespaces
from coordinator.journal import Journal, read_journal
from coordinator.launcher import Records, run_locally
from coordinator.negotiation import Action, Decided, Started
from coordinator.policies.resolve import policy_problems
from coordinator.results import outcome_table, results_document, write_results
from coordinator.service import CoordinatorService, RunResult
from coordinator.synthetic import synthetic_scenario
from participant import cli as participant_cli
from shared.endpoints import DEFAULT_BIND, is_loopback, parse_endpoints
from shared.errors import ScenarioError
from shared.keys import KeysError, ServerKeys, generate
from shared.logsetup import configure
from shared.scenario import Scenario, load_scenario
from shared.slots import format_interval, format_moment

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2

err = Console(stderr=True, soft_wrap=True)  # error lines stay whole for grep and editors
out = Console(soft_wrap=True)


def _scenario_or_exit(path: Path) -> Scenario:
    try:
        return load_scenario(path, checks=[policy_problems])
    except ScenarioError as exc:
        err.print(exc.render(), markup=False, highlight=False)
        raise SystemExit(EXIT_BAD_INPUT) from None


def _with_overrides(scenario: Scenario, args: argparse.Namespace) -> Scenario:
    changes = {k: v for k, v in {
        "join_timeout_s": args.join_timeout,
        "response_timeout_s": args.response_timeout,
    }.items() if v is not None}
    if not changes:
        return scenario
    negotiation = scenario.negotiation.model_copy(update=changes)
    return scenario.model_copy(update={"negotiation": negotiation})


@contextmanager
def _progress(scenario: Scenario, quiet: bool) -> Iterator[Callable[[Action], None]]:
    """A live display of joining, then of meetings decided; yields the action callback."""
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=True, disable=quiet) as progress:
        joining = progress.add_task("participants joining", total=len(scenario.participants))
        placing = progress.add_task("meetings decided", total=len(scenario.meetings), visible=False)

        def on_action(action: Action) -> None:
            if isinstance(action, Started):
                progress.update(joining, completed=len(action.joined), visible=False)
                progress.update(placing, visible=True)
            elif isinstance(action, Decided):
                progress.advance(placing)

        yield on_action


def _report(scenario: Scenario, result: RunResult, out_path: Path | None, quiet: bool) -> None:
    document = results_document(scenario, result)
    if out_path is not None:
        write_results(out_path, document)
    if not quiet:
        out.print(outcome_table(scenario, result))
        st = document["stats"]
        out.print(f"{st['scheduled']} scheduled, {st['failed']} not placed; {st['rounds']} rounds, "
                  f"{st['messages']} messages, {st['round_trips_per_meeting']} round trips per "
                  f"meeting; start-up {st['startup_s']:.2f}s, negotiation {st['negotiation_s']:.3f}s"
                  + (f"; missing: {', '.join(result.missing)}" if result.missing else ""))
        if out_path is not None:
            out.print(f"results written to {out_path}")


def cmd_run(args: argparse.Namespace) -> int:
    scenario = _with_overrides(_scenario_or_exit(args.scenario), args)
    with _progress(scenario, args.quiet) as on_action:
        local = run_locally(scenario, transport=args.transport, on_action=on_action, secure=args.secure,
                            log_level="DEBUG" if args.verbose > 1 else "WARNING")
    result = local.result
    _report(scenario, result, args.out, args.quiet)
    problems = audit(scenario, result.outcomes) + _disagreements(result, local.records)
    for p in problems:
        err.print(f"[red]schedule check failed:[/] {p}")
    return EXIT_FAILURE if problems else EXIT_OK


def _disagreements(result: RunResult, records: Records) -> list[str]:
    """Where an agent's own record of what it accepted differs from the coordinator's schedule."""
    problems = []
    for o in result.outcomes:
        if not o.scheduled or o.when is None:
            continue
        for who in o.attendees:
            record = records.get(who)
            if record is None:
                continue  # the agent died before writing its record; the coordinator's word stands
            accepted = {m["id"]: m for m in record["accepted"]}
            mine = accepted.get(o.meeting_id)
            if mine is None or mine["start"] != o.when.start.isoformat():
                problems.append(f"{who} does not record {o.meeting_id} at {o.when.start.isoformat()}")
    return problems


def cmd_coordinator(args: argparse.Namespace) -> int:
    scenario = _with_overrides(_scenario_or_exit(args.scenario), args)
    try:
        requested = parse_endpoints(args.bind)
    except ValueError as exc:
        err.print(f"--bind: {exc}")
        return EXIT_BAD_INPUT
    keys = None
    keys_dir = args.keys or scenario.keys_dir(args.scenario)
    if keys_dir is not None:
        try:
            keys = ServerKeys.load(keys_dir)
        except (KeysError, OSError) as exc:
            err.print(f"--keys: {exc}")
            return EXIT_BAD_INPUT
        unknown = sorted(set(scenario.participants) - set(keys.allowed.values()))
        if unknown:
            err.print(f"--keys: no public key for {', '.join(unknown)} in {keys_dir}; they could not join")
            return EXIT_BAD_INPUT
    elif not is_loopback(requested) and not args.insecure:
        err.print(f"refusing to bind {requested} without encryption: anyone who can reach it could "
                  "join as any participant. Pass --keys DIR (see 'slotwise keys generate'), bind a "
                  "loopback address, or pass --insecure on a network you trust.")
        return EXIT_BAD_INPUT
    resumed = []
    if args.resume is not None:
        try:
            resumed = read_journal(args.resume, scenario.name)
        except (OSError, ValueError) as exc:
            err.print(f"--resume: {exc}")
            return EXIT_BAD_INPUT
        known = {m.id for m in scenario.meetings}
        strangers = [o.meeting_id for o in resumed if o.meeting_id not in known]
        if strangers:
            err.print(f"--resume: {args.resume} decides meetings the scenario lacks: {', '.join(strangers)}")
            return EXIT_BAD_INPUT
        err.print(f"resuming: {len(resumed)} decision(s) from {args.resume} stand")
    journal_path = args.journal or args.resume
    journal = Journal(journal_path, scenario.name) if journal_path is not None else None
    service = CoordinatorService(scenario, requested, keys=keys, journal=journal, resume=resumed)
    try:
        endpoints = service.bind()
        err.print(f"coordinator for {scenario.name!r} listening on {endpoints}; waiting up to "
                  f"{scenario.negotiation.join_timeout_s:g}s for: {', '.join(scenario.participants)}")
        err.print(f"start each agent with: slotwise participant --connect {endpoints} "
                  "--name NAME --availability FILE" + (f" --keys {keys_dir}" if keys else ""))
        with _progress(scenario, args.quiet) as on_action:
            service.on_action = on_action
            result = asyncio.run(service.run())
    finally:
        service.close()
        if journal is not None:
            journal.close()
    _report(scenario, result, args.out, args.quiet)
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    s = _scenario_or_exit(args.scenario)
    slots = sum(len(s.candidates(m)) for m in s.meetings)
    out.print(f"{args.scenario}: ok: {len(s.participants)} participants, {len(s.meetings)} meetings, "
              f"{s.slot_minutes}-minute slots, {slots} candidate slots in all", highlight=False)
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    scenario = _with_overrides(_scenario_or_exit(args.scenario), args)
    wanted = [m for m in scenario.meetings if args.meeting in (m.id, m.series)]
    if not wanted:
        known = ", ".join(m.id for m in scenario.written_meetings)
        err.print(f"{args.scenario}: no meeting {args.meeting!r}; meetings: {known}")
        return EXIT_BAD_INPUT
    ids = frozenset(m.meeting_id for m in wanted)
    with _progress(scenario, args.quiet) as on_action:
        local = run_locally(scenario, on_action=on_action, explain=ids)
    if args.out is not None:
        write_results(args.out, results_document(scenario, local.result))
    outcomes = {o.meeting_id: o for o in local.result.outcomes}
    for m in wanted:
        o = outcomes[m.meeting_id]
        head = (f"scheduled {format_interval(o.when, scenario.zone)} with {', '.join(o.attendees)}"
                if o.scheduled and o.when else f"not placed: {o.reason}")
        out.print(f"[bold]{m.title}[/] ({m.id}): {head}")
        table = Table(show_edge=False)
        for col in ("candidates", "verdict", "detail", "who cannot come, and why"):
            table.add_column(col, overflow="fold")
        for first, last, row in runs(local.explanations.get(m.meeting_id, [])):
            when = format_moment(first.start, scenario.zone)
            if last.start != first.start:
                when += f" .. {format_moment(last.start, scenario.zone)}"
            style = {"chosen": "green", "excluded": "dim", "short": "red"}.get(row.verdict, "")
            table.add_row(when, f"[{style}]{row.verdict}[/]" if style else row.verdict, row.detail,
                          "; ".join(f"{who}: {why}" for who, why in row.missing))
        out.print(table)
    return EXIT_OK


def cmd_cluster(args: argparse.Namespace) -> int:
    scenario = _scenario_or_exit(args.scenario)
    if args.netns and (why := Namespaces.unavailable()) is not None:
        err.print(f"--netns: {why}")
        return EXIT_FAILURE
    with tempfile.TemporaryDirectory(prefix="slotwise-cluster-") as tmp:
        workdir = Path(args.workdir) if args.workdir else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        cluster = Cluster(args.scenario.resolve(), workdir, network="netns" if args.netns else "loopback",
                          secure=not args.insecure)
        try:
            cluster.start()
            err.print(f"{len(scenario.participants) + 1} processes on {cluster.net.name}; "
                      f"coordinator at {cluster.address}; logs in {workdir}")
            doc = cluster.wait(timeout_s=args.timeout)
        finally:
            cluster.stop()
    if args.out is not None:
        write_results(args.out, doc)
    placed = sum(1 for m in doc["meetings"] if m["scheduled"])
    out.print(f"{placed} of {len(doc['meetings'])} meetings placed; {doc['stats']['messages']} messages; "
              f"negotiation {doc['stats']['negotiation_s']:.3f}s")
    for m in doc["meetings"]:
        out.print(f"  {m['id']}: " + (f"{m['start']} {', '.join(m['participants'])}" if m["scheduled"]
                                      else f"not placed: {m['reason']}"), highlight=False)
    return EXIT_OK


def cmd_keys(args: argparse.Namespace) -> int:
    try:
        public, secret = generate(args.dir, args.name)
    except (KeysError, OSError) as exc:
        err.print(f"keys: {exc}")
        return EXIT_BAD_INPUT
    out.print(f"wrote {public} (public: give it to the {'participants' if args.name == 'coordinator' else 'coordinator'})"
              f" and {secret} (secret, mode 0600: keep it on {args.name}'s host)", highlight=False)
    return EXIT_OK


def cmd_generate(args: argparse.Namespace) -> int:
    data = synthetic_scenario(args.seed, args.people, args.meetings, days=args.days,
                              slot_minutes=args.slot_minutes)
    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=120)
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="slotwise", description="Agents negotiate meeting times.",
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    sub = parser.add_subparsers(dest="command", required=True)

    def negotiation_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("scenario", type=Path)
        p.add_argument("--out", type=Path, help="write the results as JSON to this file")
        p.add_argument("--join-timeout", type=float, metavar="SECONDS",
                       help="how long to wait for participants (overrides the scenario)")
        p.add_argument("--response-timeout", type=float, metavar="SECONDS",
                       help="how long to wait for each answer (overrides the scenario)")
        p.add_argument("-q", "--quiet", action="store_true", help="no progress, no table")
        p.add_argument("-v", "--verbose", action="count", default=0, help="-v info, -vv debug")

    run = sub.add_parser("run", help="negotiate a scenario on this machine")
    negotiation_options(run)
    run.add_argument("--transport", choices=["tcp", "ipc"], default="tcp",
                     help="loopback tcp with ephemeral ports (default) or ipc sockets")
    run.add_argument("--secure", action="store_true",
                     help="encrypt and authenticate with fresh CURVE keys for this run")
    run.set_defaults(func=cmd_run)

    coord = sub.add_parser("coordinator", help="run only the coordinator; agents connect to it")
    negotiation_options(coord)
    coord.add_argument("--bind", default=DEFAULT_BIND, metavar="ADDRESS",
                       help=f"tcp://HOST:PORT (PORT and PORT+1), ipc://PATH, or PUB,REPLY (default {DEFAULT_BIND})")
    coord.add_argument("--keys", type=Path, metavar="DIR",
                       help="CURVE: DIR/coordinator.key_secret, and NAME.key for every participant allowed in")
    coord.add_argument("--journal", type=Path, metavar="FILE",
                       help="append every decision here, fsync'd before it is announced")
    coord.add_argument("--resume", type=Path, metavar="JOURNAL",
                       help="after a crash: keep the journal's decisions, negotiate the rest "
                            "(and keep appending to it)")
    coord.add_argument("--insecure", action="store_true",
                       help="allow binding a non-loopback address without encryption")
    coord.set_defaults(func=cmd_coordinator)

    part = sub.add_parser("participant", help="run one participant agent")
    participant_cli.add_arguments(part)
    part.set_defaults(func=participant_cli.run)

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
    clu.add_argument("--out", type=Path)
    clu.add_argument("--workdir", type=Path, help="keep keys, logs and the journal here")
    clu.add_argument("--timeout", type=float, default=300.0)
    clu.set_defaults(func=cmd_cluster)

    keys = sub.add_parser("keys", help="manage CURVE keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    keys_gen = keys_sub.add_parser("generate", help="write NAME.key and NAME.key_secret (0600)")
    keys_gen.add_argument("name", help="a participant name, or 'coordinator'")
    keys_gen.add_argument("--dir", type=Path, default=Path("keys"), help="directory (default ./keys)")
    keys_gen.set_defaults(func=cmd_keys)

    gen = sub.add_parser("generate", help="write a seeded synthetic scenario (for load and trials)")
    gen.add_argument("--people", type=int, default=20)
    gen.add_argument("--meetings", type=int, default=50)
    gen.add_argument("--days", type=int, default=5)
    gen.add_argument("--slot-minutes", type=int, default=15)
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--out", type=Path, help="file to write (default: standard output)")
    gen.set_defaults(func=cmd_generate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command != "participant":
        level = {0: "WARNING", 1: "INFO"}.get(getattr(args, "verbose", 0), "DEBUG")
        configure(level, "coordinator")
    try:
        return int(args.func(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    except KeyboardInterrupt:
        err.print("interrupted")
        return EXIT_FAILURE
    except Exception:
        logger.exception("slotwise failed")
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
