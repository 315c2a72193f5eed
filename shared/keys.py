"""CURVE key files: who may join, and who is who.

A keys directory holds ZeroMQ certificates (`zmq.auth` format), one pair per name:

    coordinator.key         public: every participant needs it (to know its coordinator)
    coordinator.key_secret  secret: the coordinator's host only
    alice.key               public: on the coordinator's host, alice's entry on the allow-list
    alice.key_secret        secret: alice's host only

The coordinator admits only keys on its allow-list, and the file name binds each key to a
participant name: a message that claims to come from `alice` but arrives over `mallory`'s key is
dropped, however valid mallory's key is.

An agent host (`slotwise participant --host H --name a --name b`) speaks for many agents over one
connection, so it has one key, bound to the names it may speak for. Host keys live in their own
folder and carry that list inside the certificate (`slotwise keys generate H --host-for a,b`):

    hosts/h1.key            public: on the coordinator's host; metadata `names = "a,b"`
    hosts/h1.key_secret     secret: the agent host only (beside coordinator.key in its keys dir)

A host key speaks for exactly its names: a message from `c` over h1's key is dropped.

Admins of a live service (`slotwise serve --admin`) have their keys in a folder of their own,
`admins/NAME.key`, so no participant key can ever reach the admin socket and no admin key can
speak for a participant:

    admins/ops.key          public: on the service's host
    admins/ops.key_secret   secret: the admin's host only (beside coordinator.key)
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import zmq.auth

from slotwise.shared.errors import KeysError
from slotwise.shared.ids import COORDINATOR, is_valid_name

PUBLIC, SECRET = ".key", ".key_secret"
ADMINS = "admins"
HOSTS = "hosts"
MAX_HOSTED = 100_000  # names one host key may carry


def host_names(path: Path) -> frozenset[str]:
    """The names a host certificate is bound to (its `names` metadata)."""
    for line in path.read_text(encoding="utf-8").splitlines():
        key, _, value = line.strip().partition("=")
        if key.strip() == "names":
            names = [n for n in value.strip().strip('"').split(",") if n]
            bad = [n for n in names if not is_valid_name(n) or n == COORDINATOR]
            if bad or not names or len(names) > MAX_HOSTED:
                raise KeysError(f"{path}: names must be 1 to {MAX_HOSTED:,} participant names"
                                + (f" ({bad[0]!r} is not one)" if bad else ""))
            return frozenset(names)
    raise KeysError(f"{path} is not a host key: it names no participants (names = \"a,b\")")


def generate(directory: Path, name: str, *, admin: bool = False,
             host_for: Sequence[str] | None = None) -> tuple[Path, Path]:
    """Write NAME.key and NAME.key_secret (mode 0600), under admins/ for an admin and hosts/ for
    an agent host (bound to `host_for`); refuses to overwrite."""
    if not is_valid_name(name) or ((admin or host_for is not None) and name == COORDINATOR):
        raise KeysError(f"{name!r} is not a valid {'admin' if admin else 'host' if host_for else 'participant'} name")
    metadata = None
    if host_for is not None:
        bad = [n for n in host_for if not is_valid_name(n) or n == COORDINATOR]
        if bad or not host_for:
            raise KeysError(f"a host key needs participant names{f' ({bad[0]!r} is not one)' if bad else ''}")
        metadata = {"names": ",".join(host_for)}
        directory = directory / HOSTS
    if admin:
        directory = directory / ADMINS
    directory.mkdir(parents=True, exist_ok=True)
    public, secret = directory / f"{name}{PUBLIC}", directory / f"{name}{SECRET}"
    for path in (public, secret):
        if path.exists():
            raise KeysError(f"{path} exists; remove it first to replace the key")
    old = os.umask(0o077)  # the secret is never readable by others, not even for a moment
    try:
        made_public, made_secret = zmq.auth.create_certificates(str(directory), name)
        if metadata is not None:  # pyzmq writes a metadata section's header but not its entries
            for made in (made_public, made_secret):
                text = Path(made).read_text()
                entries = "".join(f'    {k} = "{v}"\n' for k, v in metadata.items())
                text = text.replace("\nmetadata\ncurve\n", "\ncurve\n", 1)
                Path(made).write_text(text.replace("\ncurve\n", f"\nmetadata\n{entries}curve\n", 1))
    finally:
        os.umask(old)
    os.chmod(made_secret, 0o600)
    os.chmod(made_public, 0o644)
    return Path(made_public), Path(made_secret)


def _secret(directory: Path, name: str) -> tuple[bytes, bytes]:
    path = directory / f"{name}{SECRET}"
    if not path.exists():
        raise KeysError(f"{path} not found (create it with: slotwise keys generate {name} --dir {directory})")
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeysError(f"{path} is readable by others; chmod 600 it")
    public, secret = zmq.auth.load_certificate(str(path))
    assert secret is not None
    return public, secret


def _public(path: Path) -> bytes:
    if not path.exists():
        raise KeysError(f"{path} not found")
    public, _ = zmq.auth.load_certificate(str(path))
    return public


@dataclass(frozen=True)
class ServerKeys:
    public: bytes
    secret: bytes
    allowed: dict[bytes, str] = field(default_factory=dict)  # z85 public key -> participant name
    directory: Path = Path()
    admins: dict[bytes, str] = field(default_factory=dict)  # z85 public key -> admin name
    # Host keys: name -> the participants it speaks for (its own name is in `allowed`).
    hosts: dict[str, frozenset[str]] = field(default_factory=dict)
    # Names two keys claimed: (name, the key that speaks for it, the key refused it), for the log.
    contested: list[tuple[str, str, str]] = field(default_factory=list)

    @classmethod
    def load(cls, directory: Path) -> ServerKeys:
        public, secret = _secret(directory, COORDINATOR)
        allowed: dict[bytes, str] = {}
        for path in sorted(directory.glob(f"*{PUBLIC}")):
            name = path.name.removesuffix(PUBLIC)
            if name != COORDINATOR and is_valid_name(name):
                allowed[_public(path)] = name
        hosts: dict[str, frozenset[str]] = {}
        # One key speaks for each name: its own participant key, else the first host key (by
        # name) that lists it; a later key listing it too does not take it over.
        owner = {n: n for n in allowed.values()}
        contested: list[tuple[str, str, str]] = []
        for path in sorted((directory / HOSTS).glob(f"*{PUBLIC}")):
            name = path.name.removesuffix(PUBLIC)
            if is_valid_name(name) and name != COORDINATOR:
                if name in allowed.values():
                    raise KeysError(f"{path}: {name!r} is a participant's key name as well")
                allowed[_public(path)] = name
                listed = host_names(path)
                contested += [(n, owner[n], name) for n in sorted(listed) if n in owner]
                hosts[name] = frozenset(n for n in listed if n not in owner)
                owner.update(dict.fromkeys(hosts[name], name))
        if not allowed:
            raise KeysError(f"{directory} holds no participant public keys (NAME.key)")
        admins = {_public(path): path.name.removesuffix(PUBLIC)
                  for path in sorted((directory / ADMINS).glob(f"*{PUBLIC}"))
                  if is_valid_name(path.name.removesuffix(PUBLIC))}
        return cls(public, secret, allowed, directory, admins, hosts, contested)

    def speaks_for(self, key_name: str) -> frozenset[str]:
        """The participants a connection with this key may speak for."""
        return self.hosts.get(key_name) or frozenset({key_name})

    def require(self, names: Iterable[str]) -> None:
        """Every one of `names` must have a key here, or it could never join."""
        covered = set(self.allowed.values()).union(*self.hosts.values())
        unknown = sorted(set(names) - covered)
        if unknown:
            raise KeysError(f"no public key for {', '.join(unknown)} in {self.directory}; they could not join")


@dataclass(frozen=True)
class ClientKeys:
    public: bytes
    secret: bytes
    server: bytes  # the coordinator's public key: broadcasts from anyone else are refused

    @classmethod
    def load(cls, directory: Path, name: str) -> ClientKeys:
        public, secret = _secret(directory, name)
        return cls(public, secret, _public(directory / f"{COORDINATOR}{PUBLIC}"))

    @classmethod
    def load_host(cls, directory: Path, host: str) -> ClientKeys:
        """An agent host's keys: hosts/HOST.key_secret, and the coordinator's public key."""
        public, secret = _secret(directory / HOSTS, host)
        return cls(public, secret, _public(directory / f"{COORDINATOR}{PUBLIC}"))

    @classmethod
    def load_admin(cls, directory: Path, name: str | None = None) -> ClientKeys:
        """An admin's keys: admins/NAME.key_secret (the only one there, if NAME is not given)."""
        if name is None:
            found = sorted(p.name.removesuffix(SECRET) for p in (directory / ADMINS).glob(f"*{SECRET}"))
            if len(found) != 1:
                raise KeysError(f"{directory / ADMINS} holds {len(found)} admin secret keys"
                                f"{': ' + ', '.join(found) if found else ''}; name one with --admin-name"
                                if found else f"{directory / ADMINS} holds no admin secret key (create one with: "
                                f"slotwise keys generate NAME --admin --dir {directory})")
            name = found[0]
        public, secret = _secret(directory / ADMINS, name)
        return cls(public, secret, _public(directory / f"{COORDINATOR}{PUBLIC}"))

    def apply(self, sock: zmq.Socket[bytes]) -> None:
        sock.curve_secretkey = self.secret
        sock.curve_publickey = self.public
        sock.curve_serverkey = self.server
