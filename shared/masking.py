"""Pairwise masks that cancel in a sum: how `privacy: counts` tells the coordinator how many
invitees are free at each candidate, and never who.

Secure aggregation as in Bonawitz et al. (2017, "Practical secure aggregation for
privacy-preserving machine learning"), its honest-but-curious core, without secret-sharing the
masks (an invitee that does not answer is handled by asking the others again, under masks of
the new round). Each agent has a Curve25519 key pair; the coordinator hands every invitee the
others' public keys with the request. For each pair (a, b), both derive the same secret
(X25519), stretch it with HKDF-SHA256 into a key bound to the meeting, the round and the pair,
and run ChaCha20 under it as a pseudo-random function: one 32-bit word per group and candidate.
The agent whose name sorts first adds the words, the other subtracts them, so in the sum over
everyone asked every mask cancels and the counts remain; any one answer, or any sum over fewer
than everyone asked, is uniform noise to whoever lacks the secrets.

All primitives are the `cryptography` package's (OpenSSL's): nothing here is hand-rolled but
the arithmetic modulo 2**32.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from zmq.utils import z85

MODULUS = 1 << 32
_SALT = b"slotwise counts v1"
_NONCE = bytes(16)  # each key is used for one keystream only, so a fixed nonce is safe


class MaskKey:
    """An agent's masking key pair; the public half travels in its Hello, in Z85 (as CURVE keys)."""

    def __init__(self, secret: X25519PrivateKey | None = None) -> None:
        self._secret = secret or X25519PrivateKey.generate()
        raw = self._secret.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.public = z85.encode(raw).decode("ascii")
        self._shared: dict[str, bytes] = {}  # peer public key -> X25519 secret

    @classmethod
    def from_curve_secret(cls, z85_secret: bytes | str) -> MaskKey:
        """The agent's CURVE secret key (a Curve25519 scalar, as libsodium keeps it)."""
        raw = z85.decode(z85_secret)
        return cls(X25519PrivateKey.from_private_bytes(raw))

    def shared(self, peer_public: str) -> bytes:
        secret = self._shared.get(peer_public)
        if secret is None:
            peer = X25519PublicKey.from_public_bytes(z85.decode(peer_public.encode("ascii")))
            secret = self._secret.exchange(peer)
            if len(self._shared) >= 4096:  # a service meets many peers over months: bounded
                self._shared.clear()
            self._shared[peer_public] = secret
        return secret


# The arithmetic is done on every word at once: words widened into 64-bit lanes of one big
# integer, so that a sum over a request's peers (at most MAX_PEERS: each lane stays below 2**42)
# carries into no neighbour, then narrowed back modulo 2**32. A request costs a few big-integer
# operations per peer, not a Python step per word.
_LANE = 8


def _widened(words: bytes) -> int:
    lanes = bytearray(_LANE * (len(words) // 4))
    for b in range(4):
        lanes[b::_LANE] = words[b::4]
    return int.from_bytes(lanes, "little")


def _narrowed(total: int, count: int) -> bytes:
    """Each lane of `total` modulo 2**32, as `count` little-endian 32-bit words."""
    lanes = (total & _low_words(count)).to_bytes(_LANE * count, "little")
    words = bytearray(4 * count)
    for b in range(4):
        words[b::4] = lanes[b::_LANE]
    return bytes(words)


def _low_words(count: int) -> int:
    return int.from_bytes(b"\xff\xff\xff\xff\x00\x00\x00\x00" * count, "little")


def _ones(count: int) -> int:
    return int.from_bytes((b"\x01" + bytes(_LANE - 1)) * count, "little")


def _stream(secret: bytes, context: bytes, words: int) -> bytes:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=context).derive(secret)
    encryptor = Cipher(algorithms.ChaCha20(key, _NONCE), mode=None).encryptor()
    return encryptor.update(bytes(4 * words))


def _context(meeting_id: str, round_: int, a: str, b: str) -> bytes:
    first, second = sorted((a, b))
    return b"\x00".join(part.encode() for part in (meeting_id, str(round_), first, second))


def masked(key: MaskKey, me: str, peers: Sequence[str], keys: Sequence[str], groups: Sequence[int],
           counted: int, meeting_id: str, round_: int, yes: Sequence[bool]) -> bytes:
    """This agent's MaskedAvailability.sums: per group (bit of `groups` for each peer) and
    candidate, its 1 or 0, plus its masks with every other peer, modulo 2**32, group-major."""
    n = len(yes)
    count = counted * n
    mine = groups[peers.index(me)]
    row = bytes(1 if ok else 0 for ok in yes)
    lanes = bytearray(_LANE * count)
    for g in range(counted):
        if mine >> g & 1:
            lanes[_LANE * g * n:_LANE * (g + 1) * n:_LANE] = row
    total = int.from_bytes(lanes, "little")
    subtracted, low = 0, _low_words(count)
    for peer, public in zip(peers, keys, strict=True):
        if peer == me:
            continue
        stream = _widened(_stream(key.shared(public), _context(meeting_id, round_, me, peer), count))
        if me < peer:
            total += stream
        else:
            subtracted += 1
            total += low ^ stream  # -m is (2**32 - 1 - m) + 1 modulo 2**32
    if subtracted:
        total += subtracted * _ones(count)
    return _narrowed(total, count)


def unmasked(parts: Iterable[bytes], counted: int, n: int) -> list[list[int]]:
    """The sum of everyone's masked answers: per group, per candidate, how many are free.
    Raises ValueError if the sum is not a count (an answer was missing or tampered with)."""
    count = counted * n
    total = 0
    for part in parts:
        if len(part) != 4 * count:
            raise ValueError(f"{len(part)} bytes of masked answers, not {4 * count}")
        total += _widened(part)
    sums = struct.unpack(f"<{count}I", _narrowed(total, count))
    if any(t > MAX_COUNT for t in sums):
        raise ValueError("the masks did not cancel: the sum is not a count")
    return [list(sums[g * n:(g + 1) * n]) for g in range(counted)]


MAX_COUNT = 1 << 16  # more invitees than any request names: a larger sum is noise, not a count
