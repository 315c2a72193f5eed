"""Pairwise masks (`privacy: counts`): they cancel in the sum over everyone asked, and only there."""

from __future__ import annotations

import random
import struct

import pytest
import zmq
from hypothesis import given, settings
from hypothesis import strategies as st

from slotwise.shared.masking import MaskKey, masked, unmasked

NAMES = ["ana", "ben", "cai", "dee", "eli"]


def answers(keys: dict[str, MaskKey], yes: dict[str, list[bool]], groups: list[int], counted: int,
            meeting: str = "m", round_: int = 1) -> dict[str, bytes]:
    names = sorted(keys)
    publics = [keys[n].public for n in names]
    return {n: masked(keys[n], n, names, publics, groups, counted, meeting, round_, yes[n]) for n in names}


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 1000), people=st.integers(2, 5), n=st.integers(1, 40))
def test_the_masks_cancel_and_the_sum_is_the_counts_per_group(seed: int, people: int, n: int) -> None:
    rng = random.Random(seed)
    names = NAMES[:people]
    keys = {p: MaskKey() for p in names}
    yes = {p: [rng.random() < 0.5 for _ in range(n)] for p in names}
    groups = [1 | (2 if rng.random() < 0.5 else 0) for _ in names]  # bit 0 everyone, bit 1 some
    parts = answers(keys, yes, groups, 2)
    everyone, some = unmasked(parts.values(), 2, n)
    assert everyone == [sum(yes[p][i] for p in names) for i in range(n)]
    assert some == [sum(yes[p][i] for p, g in zip(names, groups, strict=True) if g & 2) for i in range(n)]


def test_one_answer_alone_or_a_sum_short_of_anyone_is_noise() -> None:
    keys = {p: MaskKey() for p in NAMES[:3]}
    yes = {p: [True, False] * 10 for p in keys}
    parts = answers(keys, yes, [1, 1, 1], 1)
    for part in parts.values():
        words = struct.unpack("<20I", part)
        assert max(words) > 1 << 16  # not a 0/1 answer: uniform 32-bit words
    with pytest.raises(ValueError, match="did not cancel"):
        unmasked(list(parts.values())[:2], 1, 20)


def test_new_masks_every_round_and_meeting() -> None:
    keys = {p: MaskKey() for p in NAMES[:2]}
    yes = {p: [True] * 4 for p in keys}
    assert answers(keys, yes, [1, 1], 1, round_=1) != answers(keys, yes, [1, 1], 1, round_=2)
    assert answers(keys, yes, [1, 1], 1, meeting="x") != answers(keys, yes, [1, 1], 1, meeting="y")


def test_an_answer_under_another_key_spoils_the_sum_instead_of_counting_wrong() -> None:
    keys = {p: MaskKey() for p in NAMES[:3]}
    yes = {p: [True, True, False] for p in keys}
    parts = answers(keys, yes, [1, 1, 1], 1)
    names = sorted(keys)
    stranger = MaskKey()  # ana answers as if her key were another
    parts["ana"] = masked(stranger, "ana", names, [keys[n].public for n in names], [1, 1, 1], 1, "m", 1, yes["ana"])
    with pytest.raises(ValueError):
        unmasked(parts.values(), 1, 3)


def test_an_agent_with_its_own_curve_key_masks_under_the_public_key_the_coordinator_holds() -> None:
    public, secret = zmq.curve_keypair()
    assert MaskKey.from_curve_secret(secret).public == public.decode()
