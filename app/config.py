"""Where the admin commands find their service: flags, then the environment, then a file.

`--connect`/`--keys`/`--admin-name`/`--timeout` win; else `SLOTWISE_CONNECT`, `SLOTWISE_KEYS`,
`SLOTWISE_ADMIN_NAME`; else `$XDG_CONFIG_HOME/slotwise/config.toml` (`~/.config/...` by
default), so an operator says where the service is once, not in every command:

    connect = "tcp://10.0.0.5:7341"
    keys = "/etc/slotwise/keys"
    admin_name = "ops"
    timeout = 10
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from slotwise.shared.errors import InputError

KEYS: dict[str, type | tuple[type, ...]] = {"connect": str, "keys": str, "admin_name": str, "timeout": (int, float)}
ENV = {"connect": "SLOTWISE_CONNECT", "keys": "SLOTWISE_KEYS", "admin_name": "SLOTWISE_ADMIN_NAME"}


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "slotwise" / "config.toml"


def _file_settings(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not TOML: {exc}") from None
    for key, value in data.items():
        if key not in KEYS:
            raise InputError(f"{path}: unknown setting {key!r}; known: {', '.join(KEYS)}")
        if not isinstance(value, KEYS[key]) or isinstance(value, bool):
            raise InputError(f"{path}: {key} has the wrong type ({type(value).__name__})")
    return data


def settle(args: Any) -> None:
    """Fill the admin options a flag left unset from the environment or the config file;
    raises InputError (exit 2) when no address is given anywhere."""
    unset = [k for k in KEYS if getattr(args, k, None) is None]
    if not unset:
        return
    from_file = _file_settings(config_path())
    for key in unset:
        value = os.environ.get(ENV[key]) if key in ENV else None
        if value is None:
            value = from_file.get(key)
        if value is not None:
            setattr(args, key, Path(value) if key == "keys" else value)
    if args.timeout is None:
        args.timeout = 10.0
    if args.connect is None:
        raise InputError(f"no service to talk to: pass --connect ADMIN, set SLOTWISE_CONNECT, or write "
                         f"connect = \"...\" in {config_path()}")
