"""`slotwise participant`: run one person's agent, or host many, against a coordinator."""

from __future__ import annotations

import argparse
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from loguru import logger

from slotwise.participant.agent import AgentService, write_record
from slotwise.participant.arguments import add_participant_arguments
from slotwise.participant.calendar import Calendar
from slotwise.participant.calendars.sources import free_time, open_calendars
from slotwise.participant.calendars.watch import CalendarWatch
from slotwise.participant.responder import Link, Responder
from slotwise.shared.endpoints import parse_many
from slotwise.shared.errors import CalendarError, IcsError, KeysError, Problem, ScenarioError
from slotwise.shared.ids import AgentId, is_valid_name
from slotwise.shared.keys import ClientKeys
from slotwise.shared.logsetup import configure
from slotwise.shared.masking import MaskKey
from slotwise.shared.scenario import Availability, load_agents, load_availability, load_scenario

if TYPE_CHECKING:
    from slotwise.participant.calendars.writer import CalendarWriter

OPEN_AT_ONCE = 16  # calendars opened in parallel by a host at start

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


class _Refused(Exception):
    """A command-line problem: one line, exit 2."""


def _agents(args: argparse.Namespace) -> tuple[dict[str, Availability], Path | None]:
    """Each hosted agent's availability, and the keys directory a scenario's security section names."""
    names: list[str] = list(args.name or [])
    if args.all:
        if args.scenario is None:
            raise _Refused("--all takes every participant of --scenario FILE")
    elif not names:
        raise _Refused("name the agents to run: --name NAME (repeatable), or --all with --scenario")
    bad = [n for n in names if not is_valid_name(n)]
    if bad:
        raise _Refused(f"invalid --name {bad[0]!r}: letters, digits and _.@+- only, at most 64")
    if len(set(names)) != len(names):
        raise _Refused("a --name is given twice")
    if args.scenario is not None:
        scenario = load_scenario(args.scenario)
        if args.all:
            names = list(scenario.participants)
        unknown = [n for n in names if n not in scenario.participants]
        if unknown:
            raise ScenarioError(str(args.scenario), [Problem("participants", f"no participant named {unknown[0]!r}")])
        return {n: scenario.availability(n) for n in names}, scenario.keys_dir(args.scenario)
    if args.availability is not None:
        if len(names) == 1 and not _is_host_file(args.availability):
            return {names[0]: load_availability(args.availability)}, None
        hosted = load_agents(args.availability)
        missing = [n for n in names if n not in hosted]
        if missing:
            raise ScenarioError(str(args.availability), [Problem("agents", f"no entry for {missing[0]!r}")])
        return {n: hosted[n] for n in names}, None
    return {n: Availability() for n in names}, None


def _is_host_file(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(16).lstrip().startswith(b'{"agents"')
    except OSError:
        return False  # reported by the reader


def _calendars(name: str, availability: Availability) -> CalendarWriter | None:
    """Files read, feeds fetched and CalDAV logged into now, so a bad path, address or password
    is a clear error."""
    try:
        return open_calendars(name, availability, logger.bind(role="participant"))
    except (CalendarError, IcsError) as exc:
        raise _Refused(f"{name}: calendar: {exc}") from None


def _open_calendars(agents: dict[str, Availability]) -> tuple[dict[str, Availability], dict[str, CalendarWriter]]:
    """Every agent's calendars opened at once (each read has its own time bound, so one slow
    server costs its bound once, not once per agent before it). One agent alone: its calendar
    trouble stops it (exit 2). In a host, an agent whose calendar cannot be opened is left out,
    said once, and the others go on: one person's broken calendar is theirs alone."""
    if len(agents) == 1:
        name, availability = next(iter(agents.items()))
        writer = _calendars(name, availability)
        return agents, ({name: writer} if writer is not None else {})
    reading = {n: a for n, a in agents.items() if a.reads_calendars}
    opened: dict[str, CalendarWriter | None] = {}
    refused: dict[str, str] = {}
    if reading:
        with ThreadPoolExecutor(min(OPEN_AT_ONCE, len(reading)), thread_name_prefix="calendar-open") as pool:
            futures = {n: pool.submit(_calendars, n, a) for n, a in reading.items()}
            for name, future in futures.items():
                try:
                    opened[name] = future.result()
                except _Refused as exc:
                    refused[name] = str(exc)
    for why in refused.values():
        logger.error("{}; this agent does not join, the host's other agents do", why)
    kept = {n: a for n, a in agents.items() if n not in refused}
    if not kept:
        raise _Refused(f"no agent of this host can read its calendars ({len(refused)} refused)")
    return kept, {n: w for n, w in opened.items() if w is not None and n in kept}


def _keys(args: argparse.Namespace, names: list[str], keys_dir: Path | None) -> ClientKeys | None:
    if keys_dir is None:
        return None
    try:
        if args.host is not None:
            return ClientKeys.load_host(keys_dir, args.host)
        if len(names) > 1:
            raise _Refused("several agents share one connection, so they use one host key: give --host NAME "
                           f"for {keys_dir}/hosts/NAME.key_secret (slotwise keys generate NAME --host-for ...)")
        return ClientKeys.load(keys_dir, names[0])
    except (KeysError, OSError) as exc:
        raise _Refused(f"--keys: {exc}") from None


def run(args: argparse.Namespace) -> int:
    label = args.host or (args.name[0] if args.name and len(args.name) == 1 else "host")
    configure(args.log_level, "participant", label, args.log_format)
    if args.host is not None and not is_valid_name(args.host):
        logger.error("invalid --host {!r}: letters, digits and _.@+- only, at most 64", args.host)
        return EXIT_BAD_INPUT
    try:
        endpoints = parse_many(args.connect)
    except ValueError as exc:
        logger.error("--connect: {}", exc)
        return EXIT_BAD_INPUT
    try:
        agents, scenario_keys = _agents(args)
        names = list(agents)
        agents, writers = _open_calendars(agents)
        keys = _keys(args, names, args.keys or scenario_keys)
    except ScenarioError as exc:
        logger.error("{}", exc.render())
        return EXIT_BAD_INPUT
    except _Refused as exc:
        logger.error("{}", exc)
        return EXIT_BAD_INPUT
    link = Link()  # one connection: the coordinator heard by one agent is heard by all
    # An agent with its own CURVE key masks with it (privacy: counts), so the public key the
    # coordinator holds for its name is the one it hands out; hosted agents each make one.
    own = MaskKey.from_curve_secret(keys.secret) if keys is not None and args.host is None and len(agents) == 1 else None
    responders = [Responder(AgentId(n), Calendar(partial(free_time, a)), args.coordinator_timeout, link, own)
                  for n, a in agents.items()]
    watches = {n: watch for n, a in agents.items() if (watch := CalendarWatch.of(a)) is not None}
    service = AgentService(responders, endpoints, keys=keys, reply_delay_s=args.reply_delay,
                           mute_until=args.mute_until, notify_command=args.notify_command,
                           notify_env=args.notify_env,
                           writers=writers, watches=watches, host=args.host)
    exits = service.run()
    clean = all(e.clean for e in exits.values())
    if len(exits) > 1:
        reasons = sorted({e.reason for e in exits.values()})
        (logger.info if clean else logger.error)("{} agents exited: {}", len(exits), "; ".join(reasons[:3]))
    if args.record is not None:
        for r in responders:
            path = args.record if len(responders) == 1 and not args.record.is_dir() else args.record / f"{r.name}.record.json"
            write_record(path, r, exits[r.name])
    return EXIT_OK if clean else EXIT_FAILURE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="slotwise participant", description=__doc__)
    add_participant_arguments(parser)
    return run(parser.parse_args(argv))
