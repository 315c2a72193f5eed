"""Operating-system limits a large run needs, raised at start-up or refused with the fix.

Every agent connection costs the coordinator one file descriptor, and a process may open only
`ulimit -n` of them; past it, connections fail one by one, long after start-up, as agents that
"never joined". So the limit is raised to what the run needs before anything binds, as far as
the hard limit allows, and a run that cannot fit says so at once, naming the limit and the fix.
(ZeroMQ's own socket limit counts sockets, not connections: the coordinator has three.)
"""

from __future__ import annotations

import resource

from slotwise.shared.errors import InputError

SPARE_FDS = 256  # log files, the store, pipes to children, the admin socket, ZeroMQ's own


def ensure_open_files(connections: int, *, strict: bool = True) -> int:
    """Raise the soft limit on open files to fit `connections` plus spares; returns the limit
    now in force. With `strict`, a hard limit too low is an InputError saying how to raise it;
    otherwise the caller warns (a coordinator may be reached by fewer, larger hosts)."""
    needed = connections + SPARE_FDS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    if strict and soft != resource.RLIM_INFINITY and soft < needed:
        raise InputError(f"{connections:,} agent connections need {needed:,} open files, but this process may "
                         f"open at most {soft:,} (the hard limit): raise it (ulimit -Hn, or LimitNOFILE= for a "
                         f"systemd service), or run fewer connections with --hosts K")
    return int(soft)


def fit_participants(participants: int) -> str | None:
    """For a coordinator whose agents connect from elsewhere (one connection each, or fewer
    through agent hosts): raise the limit as far as allowed; a warning if one each cannot fit."""
    limit = ensure_open_files(participants, strict=False)
    if limit < participants + SPARE_FDS:
        return (f"at most {limit - SPARE_FDS:,} agent connections fit under the open-file limit ({limit:,}) "
                f"for {participants:,} participants: use agent hosts, or raise it (ulimit -Hn)")
    return None

