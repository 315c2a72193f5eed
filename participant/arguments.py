"""`slotwise participant`'s options, apart from the agent itself: the `slotwise` command builds
its parser from them without importing ZeroMQ or the calendars."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path


def add_participant_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--connect", required=True, metavar="ADDRESS", action="append",
                   help="coordinator address: tcp://HOST:PORT or ipc://PATH; repeat it for each instance "
                        "of a service that stands by for another (the one leading answers)")
    p.add_argument("--name", action="append", metavar="NAME",
                   help="a participant this process speaks for; repeat it to host several agents "
                        "in one process, over one connection")
    p.add_argument("--all", action="store_true", help="host every participant of --scenario")
    p.add_argument("--host", metavar="NAME",
                   help="this process's name as an agent host: its logs, and with --keys its key "
                        "DIR/hosts/NAME.key_secret, bound to the names it may speak for")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--scenario", type=Path, help="take the availability from a scenario")
    source.add_argument("--availability", type=Path, metavar="FILE",
                        help="availability file (YAML/JSON: timezone, available, busy), or for several "
                             "agents a host file {\"agents\": {NAME: availability}}")
    p.add_argument("--coordinator-timeout", type=float, default=30.0, metavar="SECONDS",
                   help="give up when the coordinator has been silent this long (default 30; 0: never, "
                        "as for a live service that may restart)")
    p.add_argument("--record", type=Path, metavar="PATH",
                   help="on exit, write the meetings each agent accepted as JSON: to PATH for one "
                        "agent, to PATH/NAME.record.json for several (or when PATH is a folder)")
    p.add_argument("--keys", type=Path, metavar="DIR",
                   help="CURVE keys: DIR/NAME.key_secret and DIR/coordinator.key (see slotwise keys)")
    p.add_argument("--reply-delay", type=float, default=0.0, metavar="SECONDS",
                   help="fault injection: send every reply this late, as over a slow link")
    p.add_argument("--notify-command", metavar="CMD",
                   help="run CMD (split like a shell would, not run by one) for each reminder, "
                        "with the reminder as JSON on stdin; default: a log line")
    p.add_argument("--notify-env", action="append", default=[], metavar="NAME",
                   help="pass this environment variable on to the notify command (repeatable); it gets "
                        "only PATH, HOME, the locale and the time zone otherwise")
    p.add_argument("--mute-until", type=_moment, metavar="TIME",
                   help="fire no reminder due before TIME (ISO 8601; a date is midnight UTC)")
    p.add_argument("--log-level", default="INFO")
    p.add_argument("--log-format", choices=["text", "json"], default="text",
                   help="json: one object per line (time, level, role, agent, message) for log collectors")


def _moment(text: str) -> datetime:
    """ISO 8601 date or time for the command line; naive means UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 date or time") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
