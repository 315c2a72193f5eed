"""`slotwise participant`: run one person's agent against a coordinator, here or elsewhere."""

from __future__ import annotations

import argparse
from pathlib import Path

from slotwise.participant.agent import AgentService, write_record
from slotwise.participant.calendar import Calendar
from slotwise.participant.reminders import ReminderClock
from slotwise.participant.responder import Responder
from slotwise.participant.watch import CalendarWatch
from slotwise.shared.endpoints import parse_endpoints
from slotwise.shared.errors import KeysError, Problem, ScenarioError
from slotwise.shared.ids import AgentId, is_valid_name
from slotwise.shared.keys import ClientKeys
from slotwise.shared.logsetup import configure
from slotwise.shared.scenario import Availability, load_availability, load_scenario

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


def _availability(args: argparse.Namespace) -> tuple[Availability, Path | None]:
    """This person's availability, and the keys directory a scenario's security section names."""
    if args.scenario is not None:
        scenario = load_scenario(args.scenario)
        if args.name not in scenario.participants:
            raise ScenarioError(str(args.scenario),
                                [Problem("participants", f"no participant named {args.name!r}")])
        return scenario.availability(args.name), scenario.keys_dir(args.scenario)
    if args.availability is not None:
        return load_availability(args.availability), None
    return Availability(), None


def run(args: argparse.Namespace) -> int:
    configure(args.log_level, "participant", args.name)
    from loguru import logger

    if not is_valid_name(args.name):
        logger.error("invalid --name {!r}: letters, digits and _.@+- only, at most 64", args.name)
        return EXIT_BAD_INPUT
    try:
        endpoints = parse_endpoints(args.connect)
        availability, scenario_keys = _availability(args)
    except ValueError as exc:
        logger.error("--connect: {}", exc)
        return EXIT_BAD_INPUT
    except ScenarioError as exc:
        logger.error("{}", exc.render())
        return EXIT_BAD_INPUT
    writer = None
    for url in availability.ics_url:  # fetched now: an unreachable feed is a clear error, exit 2
        from slotwise.shared.caldav import CalendarError
        from slotwise.shared.feeds import feed_for

        try:
            feed_for(url)
        except CalendarError as exc:
            logger.error("calendar feed: {}", exc)
            return EXIT_BAD_INPUT
    if availability.caldav is not None:  # log in and find the calendars now: a clear error, exit 2
        from slotwise.participant.calendar_writer import CalendarWriter
        from slotwise.shared.caldav import CalendarError, reader_for

        try:
            reader = reader_for(availability.caldav)
            if availability.caldav.write:
                reader.write_target()  # a write_to that names no calendar is an error now
                writer = CalendarWriter(reader, args.name, logger.bind(role="participant", agent=args.name))
        except CalendarError as exc:
            logger.error("calendar: {}", exc)
            return EXIT_BAD_INPUT
    keys_dir = args.keys or scenario_keys
    try:
        keys = ClientKeys.load(keys_dir, args.name) if keys_dir is not None else None
    except (KeysError, OSError) as exc:
        logger.error("--keys: {}", exc)
        return EXIT_BAD_INPUT
    responder = Responder(AgentId(args.name), Calendar(availability.free_time),
                          args.coordinator_timeout)
    logger.debug("connecting to {} as {}", endpoints, args.name)
    reminders = ReminderClock(mute_until=args.mute_until)
    outcome = AgentService(responder, endpoints, keys=keys, reply_delay_s=args.reply_delay,
                           reminders=reminders, notify_command=args.notify_command, writer=writer,
                           watch=CalendarWatch.of(availability)).run()
    (logger.info if outcome.clean else logger.error)("exiting: {}", outcome.reason)
    if args.record is not None:
        write_record(args.record, responder, outcome)
    return EXIT_OK if outcome.clean else EXIT_FAILURE


def main(argv: list[str] | None = None) -> int:
    from slotwise.cli import add_participant_arguments

    parser = argparse.ArgumentParser(prog="slotwise participant", description=__doc__)
    add_participant_arguments(parser)
    return run(parser.parse_args(argv))
