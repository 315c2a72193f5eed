"""The schedule as a page: a week grid, meetings not placed and why, agents connected and lost,
and a form to request a meeting.

One page for both uses: `serve --http` serves it at `/`, where it reads the HTTP API (with the
viewer's token, kept in the tab's session storage, when the service asks for one); `run --html
FILE` writes it with the batch result inside, to open from disk. Times are shown in the
viewer's zone by default (any zone can be chosen), always labelled. Everything a meeting says
(its name, its reason) is set as text, never as markup, so a meeting cannot inject script.
The page itself is page.html beside this module.
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

_TEMPLATE = (files("slotwise.coordinator") / "page.html").read_text(encoding="utf-8")


def page(title: str, embedded: dict[str, Any] | None = None) -> str:
    """The page; `embedded` (a results document: scenario, meetings) makes it a static one."""
    data = "null" if embedded is None else _script_json(embedded)
    return (_TEMPLATE.replace("__TITLE_JSON__", _script_json(title)).replace("__TITLE__", _html_text(title))
            .replace("__DATA__", data))


def _script_json(value: Any) -> str:
    """JSON that cannot end the script element it sits in, whatever its strings hold."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _html_text(value: str) -> str:
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))
