"""A CalDAV session as slotwise opens one, for an agent's calendars and for the organizer's:
the password from a file or the environment, a bounded time per request, answers bounded in
decoded bytes, and a private CA trusted when the spec names one (`ca_file`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slotwise.shared.errors import CalendarError

if TYPE_CHECKING:
    from slotwise.shared.scenario import CalDavSpec

TIMEOUT_S = 10.0  # per HTTP request: a hung server must not hang an agent or the service
_CHUNK = 64 << 10


def connect(spec: CalDavSpec, limit: int) -> Any:  # a caldav.DAVClient
    """A client for `spec` whose every answer stops at `limit` decoded bytes."""
    import caldav as caldav_imported  # only for CalDAV accounts

    caldav: Any = caldav_imported  # typed loosely upstream
    client = caldav.DAVClient(spec.url, username=spec.username, password=password_of(spec), timeout=TIMEOUT_S,
                              ssl_verify_cert=spec.ca_file or True)
    bound_answers(client.session, spec.url, limit)
    return client


def bound_answers(session: Any, url: str, limit: int) -> None:
    """Make every answer `session` reads stop at `limit` decoded bytes, counted as they arrive.

    A server may compress its answer: 1 MB of gzip can decode to a GiB, so a bound on the
    bytes received, or one checked after the answer is whole, comes too late. The library
    reads answers whole, so the session's request is wrapped to stream and count instead."""
    send = session.request

    def request(*args: Any, **kwargs: Any) -> Any:
        kwargs["stream"] = True
        response = send(*args, **kwargs)
        body = bytearray()
        try:
            for chunk in response.iter_content(_CHUNK):
                body += chunk
                if len(body) > limit:
                    raise CalendarError(f"{url}: an answer of more than {limit:,} bytes; not read")
        finally:
            response.close()
        response._content = bytes(body)
        response._content_consumed = True
        return response

    session.request = request


def password_of(spec: CalDavSpec) -> str | None:
    if spec.password_env is not None:
        value = os.environ.get(spec.password_env)
        if value is None:
            raise CalendarError(f"{spec.url}: environment variable {spec.password_env} is not set")
        return value
    if spec.password_file is not None:
        try:
            return Path(spec.password_file).read_text().strip()
        except OSError as exc:
            raise CalendarError(f"{spec.url}: cannot read password_file {spec.password_file}: "
                                f"{exc.strerror or exc}") from None
    return None


def explain(spec: CalDavSpec, exc: Exception) -> CalendarError:
    """The library's error, said for a person, with no credential in it."""
    import caldav.lib.error as errors  # caldav only for agents with a CalDAV account

    who = f" as {spec.username!r}" if spec.username else ""
    if isinstance(exc, errors.AuthorizationError):
        return CalendarError(f"{spec.url}: the server refused the login{who} (wrong user name or password?)")
    if isinstance(exc, errors.NotFoundError):
        return CalendarError(f"{spec.url}: not found on the server (is the address right?)")
    name = type(exc).__name__
    if "Connection" in name or "Timeout" in name or isinstance(exc, OSError):
        return CalendarError(f"{spec.url}: cannot reach the server ({name})")
    return CalendarError(f"{spec.url}: {name}: {str(exc)[:200]}")
