"""The live service's commands: `serve`, `meetings add|cancel|move|retry|get|list`, `status`.

`serve` runs until SIGTERM or SIGINT. The others are clients of its admin socket: they print
JSON on stdout (a table for `list` and `status` without --json) and map the service's answer to
an exit code: 0 done, 2 the request was refused as given (bad meetings, unknown id, a move that
cannot be asked), 1 the service could not be reached, or a move found no new slot.

Each command imports the rooms it uses when it runs (the live service alone costs some 300 ms
to import), so a client command and `slotwise --help` start light.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loguru import logger

from slotwise.mail_options import add_smtp_arguments, open_mailer, open_organizer
from slotwise.shared.endpoints import DEFAULT_BIND
from slotwise.shared.errors import Problem, ScenarioError
from slotwise.shared.limits import fit_participants
from slotwise.shared.wire.admin import MAX_PAGE  # stdlib only: cheap at start-up

MAIL_DRAIN_S = 10.0  # on stop, how long mail still queued may take before it waits for the next start

if TYPE_CHECKING:
    import ssl

    from slotwise.client import Client

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


def cmd_serve(args: argparse.Namespace) -> int:
    from slotwise.coordinator.pg_store import is_postgres
    from slotwise.coordinator.plan import load_plan
    from slotwise.shared.endpoints import parse_endpoints, require_protection
    from slotwise.shared.errors import InputError
    from slotwise.shared.keys import ServerKeys

    scenario, plan = load_plan(args.scenario)
    _check_horizon(args, scenario.horizon.start, scenario.horizon.end)
    requested = parse_endpoints(args.bind)
    keys_dir = args.keys or scenario.keys_dir(args.scenario)
    keys = ServerKeys.load(keys_dir) if keys_dir is not None else None
    require_protection(requested, keys=keys is not None, insecure=args.insecure)
    if (warning := fit_participants(len(plan.people))) is not None:
        logger.warning(warning)
    shared = is_postgres(args.store)
    if not shared and args.store_password_file is not None:
        raise InputError("--store-password-file is for a PostgreSQL store (--store postgresql://...)")
    itip = None
    organizer = open_organizer(scenario)
    # --smtp or an organizer's calendar without --ics-out keep the iTIP files (the memory of
    # what was sent) beside a SQLite store
    folder = args.ics_out
    if folder is None and (args.smtp or organizer):
        if shared:
            raise InputError("--smtp and organizer.caldav need --ics-out DIR with a PostgreSQL store "
                             "(the iTIP files there remember what was sent)")
        folder = Path(args.store).parent / f"{Path(args.store).name}.itip"
    mailer = open_mailer(args, scenario, folder) if folder is not None else None
    if folder is not None:
        from slotwise.coordinator.itip import ItipWriter
        from slotwise.shared.events import Directory

        itip = ItipWriter(folder, Directory.of(scenario), mailer.post if mailer is not None else None, organizer)
    tokens = None
    if args.http_tokens is not None:
        from slotwise.coordinator.http_api import Tokens

        tokens = Tokens.load(args.http_tokens)
    run = _Run(args, scenario, plan, requested, keys, itip, tokens, organizer)
    try:
        if shared:
            _lead_when_chosen(run)
        else:
            from slotwise.coordinator.store import SqliteStore

            run.serve(SqliteStore(Path(args.store), scenario.name), None)
    finally:
        if mailer is not None:
            mailer.drain(MAIL_DRAIN_S)  # what is left is sent after the next start
            mailer.close()
        if organizer is not None:
            organizer.close(MAIL_DRAIN_S)
    return EXIT_OK


class _Run:
    """What one `serve` process serves with: built once, served again after each takeover."""

    def __init__(self, args: argparse.Namespace, scenario: Any, plan: Any, requested: Any, keys: Any,
                 itip: Any, tokens: Any, organizer: Any) -> None:
        self.args, self.scenario, self.plan, self.requested, self.keys = args, scenario, plan, requested, keys
        self.itip, self.tokens, self.organizer = itip, tokens, organizer
        self.stopping = False  # SIGTERM or SIGINT: stop for good, not stand by

    def serve(self, store: Any, lease: Any) -> bool:
        """Serve until stopped (True) or, with a lease, until it is lost (False)."""
        import asyncio

        from slotwise.coordinator.live import LiveService
        from slotwise.coordinator.pg_store import Deposed

        scenario, plan, args = self.scenario, self.plan, self.args
        if scenario.horizon.days is not None:  # a relative horizon: its grid begins on the service's first day
            from datetime import datetime

            from slotwise.coordinator.plan import compile_plan

            first = datetime.fromisoformat(store.setting("grid_origin", scenario.horizon.start.isoformat()))
            scenario = scenario.model_copy(update={"horizon": scenario.horizon.from_origin(first)})
            plan = compile_plan(scenario)
        service = LiveService(scenario, plan, self.requested, args.admin, store, keys=self.keys,
                              allow_past=args.allow_past, itip=self.itip, http=args.http, http_tokens=self.tokens,
                              http_tls=_tls(args), organizer=self.organizer, lease=lease)
        try:
            endpoints, admin_at = service.bind()
            role = f" as leader (epoch {lease.epoch})" if lease is not None else ""
            sys.stderr.write(f"serving {plan.name!r}{role}: agents connect to {endpoints}, admins to {admin_at}; "
                             f"state in {store}\n")
            sys.stderr.flush()

            async def serve() -> None:
                stop = asyncio.Event()
                loop = asyncio.get_running_loop()

                def stop_for_good() -> None:
                    self.stopping = True
                    stop.set()

                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.add_signal_handler(sig, stop_for_good)
                if lease is not None:
                    lease.on_lost = lambda: loop.call_soon_threadsafe(stop.set)
                url = await service.start_http()
                if url is not None:
                    sys.stderr.write(f"HTTP API at {url} (its OpenAPI document at {url}/openapi.json)\n")
                    sys.stderr.flush()
                await service.run(stop)

            try:
                asyncio.run(serve())
            except Deposed as exc:
                logger.bind(role="coordinator").warning("stopped serving: {}", exc)
                return False
            if lease is not None and not self.stopping:
                logger.bind(role="coordinator").warning("stopped serving: the lease of epoch {} is lost", lease.epoch)
                return False
            logger.bind(role="coordinator").info("stopped; {} requests served", service.requests_served)
            if args.out is not None:
                entries = [service.entry(m) for m in service.known()]
                args.out.write_text(json.dumps({"scenario": plan.name, "meetings": entries}, indent=2))
            return True
        finally:
            service.close()


def _lead_when_chosen(run: _Run) -> None:
    """Stand by until this instance holds the store's lease, serve while it does, and stand by
    again when it is lost; a signal stops it in either state (the lease released if held)."""
    import threading

    from slotwise.coordinator.lease import Lease
    from slotwise.coordinator.pg_store import PASSWORD_ENV, PostgresStore

    args = run.args
    password = _secret(args.store_password_file, PASSWORD_ENV)
    lease = Lease(args.store, password, args.lease, logger.bind(role="coordinator"), address=args.admin)
    standing = threading.Event()  # set by a signal while standing by

    def stop_standing(*_: object) -> None:
        run.stopping = True
        standing.set()

    previous = {sig: signal.signal(sig, stop_standing) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not run.stopping:
            sys.stderr.write(f"standing by on {lease}\n")
            sys.stderr.flush()
            if not lease.wait(standing):
                break
            for sig, handler in previous.items():  # the service's loop handles signals while leading
                signal.signal(sig, handler)
            lease.start_renewing()
            stopped = False
            try:
                stopped = run.serve(PostgresStore(args.store, run.scenario.name, lease, password), lease)
            finally:
                lease.stop_renewing(release=stopped or run.stopping)
            for sig in previous:
                signal.signal(sig, stop_standing)
    finally:
        lease.close()


def _secret(path: Path | None, env: str) -> str | None:
    if path is None:
        return os.environ.get(env)
    from slotwise.shared.errors import InputError

    try:
        return path.read_text().strip()
    except OSError as exc:
        raise InputError(f"{path}: cannot read it: {exc.strerror or exc}") from None


def _tls(args: argparse.Namespace) -> ssl.SSLContext | None:
    """HTTPS for --http from --http-tls-cert/--http-tls-key; mutual with --http-client-ca."""
    import ssl

    from slotwise.shared.errors import InputError

    if args.http_tls_cert is None and args.http_tls_key is None and args.http_client_ca is None:
        return None
    if args.http_tls_cert is None or args.http_tls_key is None:
        raise InputError("--http-tls-cert and --http-tls-key go together (and --http-client-ca needs both)")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(args.http_tls_cert, args.http_tls_key)
        if args.http_client_ca is not None:
            context.load_verify_locations(args.http_client_ca)
            context.verify_mode = ssl.CERT_REQUIRED
    except (OSError, ssl.SSLError) as exc:
        raise InputError(f"--http TLS: {exc}") from None
    return context


def _check_horizon(args: argparse.Namespace, start: datetime, end: datetime) -> None:
    """A service on a horizon that has ended could place nothing: refused in one line. One that
    has begun offers only what is ahead, said once at start."""
    from datetime import UTC, datetime

    from slotwise.shared.errors import InputError

    now = datetime.now(UTC)
    if args.allow_past:
        return
    if end <= now:
        raise InputError(f"{args.scenario}: its horizon ended at {end.isoformat()}, so nothing could be placed: "
                         "give one ahead (say horizon: {days: 14}), or --allow-past for a demo on past dates")
    if start < now:
        logger.bind(role="coordinator").info("the horizon began at {}: only slots from now on are offered",
                                             start.isoformat())


def _client(args: argparse.Namespace) -> Client:
    from slotwise.client import Client
    from slotwise.config import settle

    settle(args)
    return Client(args.connect, args.keys, admin_name=args.admin_name, timeout=args.timeout)


def _read_meetings(path: Path) -> tuple[Any, dict[str, int]]:
    """The file's meetings (a list, or a mapping with `meetings:`), and the line of each field path."""
    from slotwise.shared.scenario import read_yaml, render_path

    data, lines = read_yaml(path)
    if isinstance(data, dict) and set(data) == {"meetings"}:
        data = data["meetings"]
    else:
        lines = {("meetings", *loc): line for loc, line in lines.items()}
    if not isinstance(data, list):
        raise ScenarioError(str(path), [Problem("meetings", "expected a list of meetings (or a mapping with `meetings:`)")])
    return data, {render_path(loc): line for loc, line in lines.items()}


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2) + "\n")


def _show(args: argparse.Namespace, client: Client, entries: list[dict[str, Any]], *, table: bool | None = None) -> None:
    """One style for every command's meetings: a table on a terminal, JSON with --json or into
    a pipe (so scripts keep reading JSON); times in --tz, else the scenario's zone, labelled."""
    if table is None:
        table = not args.json and sys.stdout.isatty()
    if not table:
        _print_json(entries)
        return
    from rich.console import Console
    from rich.table import Table

    from slotwise.shared.zones import zone_option

    name = args.tz or client.status().get("timezone") or "UTC"
    zone = zone_option("--tz", name)
    out = Table("id", "status", f"when ({name})", "participants / reason")
    for e in entries:
        when = ""
        if e.get("start") and e["status"] == "scheduled":
            start, end = (datetime.fromisoformat(e[k]).astimezone(zone) for k in ("start", "end"))
            when = f"{start:%a %d %b %H:%M}–{end:%H:%M}"
        answers = e.get("answers") or {}
        people = ", ".join(f"{p} ({answers[p]})" if answers.get(p, "accepted") != "accepted" else p
                           for p in e["participants"])
        declined = [p for p, a in answers.items() if a == "declined" and p not in e["participants"]]
        people += f"; declined: {', '.join(declined)}" if declined else ""
        out.add_row(e["id"], e["status"] + (" (moving)" if e.get("move", {}).get("status") == "pending" else ""),
                    when, people if e["status"] == "scheduled" else (e.get("reason") or ""))
    Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200).print(out)  # a pipe: no wrapping


def cmd_meetings_add(args: argparse.Namespace) -> int:

    data, lines = _read_meetings(args.file)
    with _client(args) as client:
        try:
            entries = client.add(data, wait=args.wait)
        except ScenarioError as exc:  # the service's verdict, placed on the file's lines
            raise ScenarioError(str(args.file), [Problem(p.path, p.message, _line(lines, p.path))
                                                 for p in exc.problems]) from None
        _show(args, client, entries)
    return EXIT_OK


def _line(lines: dict[str, int], path: str) -> int | None:
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return None


def cmd_meetings_cancel(args: argparse.Namespace) -> int:
    with _client(args) as client:
        _show(args, client, client.cancel(args.id))
    return EXIT_OK


def cmd_meetings_move(args: argparse.Namespace) -> int:
    with _client(args) as client:
        entry = client.move(args.id, not_before=args.not_before, not_after=args.not_after, wait=args.wait)
        _show(args, client, [entry])
    return EXIT_FAILURE if entry.get("move", {}).get("status") == "failed" else EXIT_OK


def cmd_meetings_retry(args: argparse.Namespace) -> int:
    with _client(args) as client:
        entries = client.retry(args.id, wait=args.wait)
        _show(args, client, entries)
    return EXIT_OK if all(e["status"] == "scheduled" for e in entries) else EXIT_FAILURE


def cmd_meetings_get(args: argparse.Namespace) -> int:
    with _client(args) as client:
        _show(args, client, client.get(args.id))
    return EXIT_OK


def cmd_meetings_list(args: argparse.Namespace) -> int:
    with _client(args) as client:
        if args.since is not None and not args.all:
            args.all = True  # --since reaches back past what the service still holds
        if args.limit is None and args.after is None:
            entries, following = client.list(), None
            if args.all:
                entries += client.list(archived=True)
        else:
            entries, following = client.page(limit=args.limit or MAX_PAGE, after=args.after, archived=args.all)
        if following is not None:
            print(f"more: --after {following}", file=sys.stderr)
        entries = _chosen(entries, args, by_time=args.limit is None and args.after is None)
        _show(args, client, entries, table=not args.json)  # a table unless --json, as it always was
    return EXIT_OK


def _chosen(entries: list[dict[str, Any]], args: argparse.Namespace, *, by_time: bool) -> list[dict[str, Any]]:
    """The entries `--person`, `--status`, `--from` and `--to` ask for; `by_time`: sorted by
    start (meetings without one last, by id). A page (--limit/--after) keeps the service's id
    order, so pages follow one another."""
    from datetime import datetime

    from slotwise.shared.errors import InputError

    def moment(flag: str, text: str | None) -> datetime | None:
        if text is None:
            return None
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise InputError(f"{flag}: not an ISO 8601 time: {text!r}") from None
        if value.tzinfo is None:
            raise InputError(f"{flag}: {text!r} needs a UTC offset (say {text}+00:00)")
        return value

    since, until = moment("--from", args.since), moment("--to", args.until)

    def wanted(e: dict[str, Any]) -> bool:
        if args.status and e["status"] not in args.status:
            return False
        if args.person and args.person not in {*(e.get("participants") or ()), *(e.get("invitees") or ())}:
            return False
        start = datetime.fromisoformat(e["start"]) if e.get("start") else None
        if (since or until) and start is None:
            return False
        return not ((since and start and start < since) or (until and start and start >= until))

    chosen = [e for e in entries if wanted(e)]
    if not by_time:
        return chosen
    return sorted(chosen, key=lambda e: (e.get("start") is None, e.get("start") or "", e["id"]))


def cmd_status(args: argparse.Namespace) -> int:
    with _client(args) as client:
        status = client.status()
    if args.json:
        _print_json(status)
        return EXIT_OK
    p, m = status["participants"], status["meetings"]
    lines = [
        f"participants: {len(p['connected'])}/{p['expected']} connected"
        + (f"; lost: {', '.join(p['lost'])}" if p["lost"] else "")
        + (f"; never joined: {', '.join(p['never_joined'])}" if p["never_joined"] else ""),
        "meetings: " + ", ".join(f"{n} {k}" for k, n in m.items())
        + (f" ({status['moving']} moving)" if status["moving"] else ""),
        f"requests served: {status['requests_served']}; up {status['uptime_s']:.0f}s",
    ]
    if status.get("role"):
        lease = status.get("lease") or {}
        lines.append(f"role: {status['role']} (epoch {status['epoch']}; lease ends in "
                     f"{lease.get('expires_in_s', 0):.1f}s); instances: "
                     + ", ".join(f"{i['holder']} ({i['role']})" for i in status.get("instances", [])))
    if status.get("answers"):
        lines.insert(2, "answers: " + ", ".join(f"{n} {k}" for k, n in sorted(status["answers"].items())))
    seen = (status.get("privacy") or {}).get("coordinator")
    if seen:
        lines.append(f"privacy: the coordinator could infer {100 * seen['revealed']:.1f}% of people's slots "
                     f"({100 * seen['beyond_schedule']:.1f}% beyond the schedule; median person "
                     f"{100 * seen['median']:.1f}%, most {100 * seen['max']:.1f}%)")
    sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_OK


def add_service_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="run as a live service: meetings arrive over the admin socket")
    serve.add_argument("scenario", type=Path, help="participants and policies (its meetings may be empty)")
    serve.add_argument("--bind", default=DEFAULT_BIND, metavar="ADDRESS",
                       help=f"where agents connect, as for `coordinator` (default {DEFAULT_BIND})")
    serve.add_argument("--admin", required=True, metavar="ADDRESS",
                       help="the admin socket: ipc://PATH or tcp://HOST:PORT (loopback only without --keys)")
    serve.add_argument("--store", required=True, metavar="FILE|URL",
                       help="where the state is: a SQLite file, or postgresql://USER@HOST[:PORT]/DB, which "
                            "several `serve` share (one leads, the others stand by)")
    serve.add_argument("--store-password-file", type=Path, metavar="FILE",
                       help="the PostgreSQL password (or $SLOTWISE_PG_PASSWORD); never in the URL")
    serve.add_argument("--lease", type=float, default=10.0, metavar="SECONDS",
                       help="with PostgreSQL: how long a leader's lease lasts; a standby takes over within it")
    serve.add_argument("--keys", type=Path, metavar="DIR",
                       help="CURVE: as for `coordinator`, plus DIR/admins/NAME.key for each admin")
    serve.add_argument("--out", type=Path, metavar="FILE", help="on stop, write every meeting as JSON here")
    serve.add_argument("--ics-out", type=Path, metavar="DIR",
                       help="iTIP files: a REQUEST per meeting (a CANCEL once cancelled), and schedule.ics")
    add_smtp_arguments(serve)
    serve.add_argument("--insecure", action="store_true",
                       help="allow binding the agents' socket to a non-loopback address without keys")
    serve.add_argument("--allow-past", action="store_true",
                       help="place meetings at times that have passed (demos on historical scenarios)")
    serve.add_argument("--http", metavar="HOST:PORT",
                       help="serve the admin operations as JSON over HTTP, /metrics, /healthz and /readyz "
                            "(loopback only without --http-tokens; port 0: any free port)")
    serve.add_argument("--http-tokens", type=Path, metavar="DIR",
                       help="admins' bearer tokens for --http, one NAME.token file each")
    serve.add_argument("--http-tls-cert", type=Path, metavar="FILE", help="serve --http as HTTPS with this certificate")
    serve.add_argument("--http-tls-key", type=Path, metavar="FILE", help="the certificate's private key")
    serve.add_argument("--http-client-ca", type=Path, metavar="FILE",
                       help="mutual TLS: admit only clients with a certificate this CA signed")
    serve.add_argument("--log-format", choices=["text", "json"], default="text",
                       help="json: one object per line (time, level, role, agent, message) for log collectors")
    serve.add_argument("-v", "--verbose", action="count", default=1, help="-v info (default), -vv debug")
    serve.set_defaults(func=cmd_serve)

    def client_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--connect", metavar="ADMIN",
                       help="the service's admin address (default: $SLOTWISE_CONNECT, or connect in config.toml)")
        p.add_argument("--keys", type=Path, metavar="DIR",
                       help="CURVE: DIR/coordinator.key and DIR/admins/NAME.key_secret (default: $SLOTWISE_KEYS)")
        p.add_argument("--admin-name", metavar="NAME", help="which admin key, if DIR/admins holds several")
        p.add_argument("--timeout", type=float, metavar="SECONDS",
                       help="give up on the service after this long (beyond --wait; default 10)")
        p.add_argument("--tz", metavar="ZONE", help="show times in this zone (default: the scenario's)")
        if not any(a.dest == "json" for a in p._actions):
            p.add_argument("--json", action="store_true", help="JSON, even on a terminal")

    meetings = sub.add_parser("meetings", help="add, cancel, move or list a live service's meetings")
    msub = meetings.add_subparsers(dest="meetings_command", required=True)
    add = msub.add_parser("add", help="submit meetings (YAML or JSON, as in a scenario's meetings: list)")
    add.add_argument("file", type=Path)
    add.add_argument("--wait", type=float, default=60.0, metavar="SECONDS",
                     help="wait this long for the decisions (0: answer at once, as pending; default 60)")
    client_options(add)
    add.set_defaults(func=cmd_meetings_add)
    cancel = msub.add_parser("cancel", help="cancel a meeting (a recurring meeting's id: every occurrence)")
    cancel.add_argument("id")
    client_options(cancel)
    cancel.set_defaults(func=cmd_meetings_cancel)
    move = msub.add_parser("move", help="find a new time for a meeting; it stays put if none is found")
    move.add_argument("id")
    move.add_argument("--not-before", metavar="T", help="ISO 8601; default: the meeting's own window")
    move.add_argument("--not-after", metavar="T", help="ISO 8601; default: the meeting's own window")
    move.add_argument("--wait", type=float, default=60.0, metavar="SECONDS")
    client_options(move)
    move.set_defaults(func=cmd_meetings_move)
    retry = msub.add_parser("retry", help="negotiate a failed meeting again now (exit 1 if it fails again)")
    retry.add_argument("id")
    retry.add_argument("--wait", type=float, default=60.0, metavar="SECONDS")
    client_options(retry)
    retry.set_defaults(func=cmd_meetings_retry)
    get = msub.add_parser("get", help="one meeting as it stands (a recurring meeting's id: each occurrence)")
    get.add_argument("id")
    client_options(get)
    get.set_defaults(func=cmd_meetings_get)
    lst = msub.add_parser("list", help="the service's meetings, by time")
    lst.add_argument("--json", action="store_true")
    lst.add_argument("--person", metavar="NAME", help="only meetings NAME is invited to (or attends)")
    lst.add_argument("--status", action="append", metavar="STATUS",
                     choices=["scheduled", "failed", "waiting", "pending", "cancelled"],
                     help="only meetings in this status (repeatable)")
    lst.add_argument("--from", dest="since", metavar="T",
                     help="only meetings starting at or after T (ISO 8601), archived ones too")
    lst.add_argument("--all", action="store_true",
                     help="with the meetings whose time has passed (archived; with --limit/--after: those only)")
    lst.add_argument("--since", dest="since", metavar="T", help="as --from")
    lst.add_argument("--to", dest="until", metavar="T", help="only meetings starting before T (ISO 8601)")
    lst.add_argument("--limit", type=int, metavar="N", help=f"one page of at most N meetings (at most {MAX_PAGE})")
    lst.add_argument("--after", metavar="ID", help="the page after this meeting id")
    client_options(lst)
    lst.set_defaults(func=cmd_meetings_list)

    status = sub.add_parser("status", help="a live service's participants, meetings and uptime")
    status.add_argument("--json", action="store_true")
    client_options(status)
    status.set_defaults(func=cmd_status)
