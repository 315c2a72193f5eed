"""A time zone named on the command line (`--tz`, `--timezone`): one message for a name that is
not a zone, the same for every command. Stdlib only, so a command pays nothing to import it."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slotwise.shared.errors import InputError


def zone_option(flag: str, name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"{flag}: no time zone {name!r} (say Europe/Berlin or UTC)") from None
