"""One definition of a valid name, the same in Python and in the schema: no control characters
(a trailing newline once slipped through `re`'s `$` into key file names and log lines)."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from slotwise.shared.ids import is_valid_name
from slotwise.shared.scenario.models import Name

NAMES = TypeAdapter(Name)


@pytest.mark.parametrize("name", ["ana", "p001", "a.b@c+d-e_f", "x" * 64])
def test_a_valid_name_passes_every_door(name: str) -> None:
    assert is_valid_name(name) and NAMES.validate_python(name) == name


@pytest.mark.parametrize("name", ["ana\n", "ana\r", "an\na", "\nana", "ana\x00", "", "-ana", "x" * 65, "ana b", "ana/b"])
def test_an_invalid_name_is_refused_by_every_door(name: str) -> None:
    assert not is_valid_name(name)
    with pytest.raises(ValidationError):
        NAMES.validate_python(name)
