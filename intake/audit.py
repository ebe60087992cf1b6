"""Signed checkpoints of the audit chain, kept outside the database, and the verification
that replays the chain against the newest one.

The hash chain (`storage.audit`) shows an entry that was changed, removed or reordered, but
not a tail cut off after the last entry: a shorter chain is still a valid chain. So the head
is signed from time to time (`docintake audit checkpoint`, e.g. from cron) and the signed
head is stored in the object store, out of reach of someone who can rewrite the database.
`verify` then checks the chain itself and that it still extends the newest checkpoint.

A checkpoint is a signed note in the form of C2SP's signed-note, as Rekor and Go's checksum
database use them::

    docintake-audit/<origin>
    <number of entries>
    <head hash, base64>
    <time, RFC 3339>

    — <key name> <base64 of 4-byte key id + 64-byte Ed25519 signature>

The key id is the first four bytes of SHA-256(key name, "\\n", 0x01, public key), so a
verifier holding several keys knows which one signed. The private key comes from the
settings (`DOCINTAKE_AUDIT_SIGNING_KEY`, base64 of the 32-byte seed); in development a key
is made once in the data directory.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from intake.runtime import Runtime
from intake.settings import Settings
from storage.audit import verify_chain

CHECKPOINT_PREFIX = "audit/checkpoints/"
KEY_FILE = "audit-signing.key"
_DASH = "\u2014"


class AuditKeyError(Exception):
    """The signing key is missing or malformed."""


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    secret = settings.audit_signing_key
    if secret is not None:
        try:
            seed = base64.b64decode(secret.get_secret_value(), validate=True)
            return Ed25519PrivateKey.from_private_bytes(seed)
        except ValueError as exc:
            raise AuditKeyError("DOCINTAKE_AUDIT_SIGNING_KEY must be the base64 of a 32-byte "
                                "Ed25519 seed") from exc
    if settings.environment == "production":  # the settings refuse this too, earlier
        raise AuditKeyError("production needs DOCINTAKE_AUDIT_SIGNING_KEY")
    path = Path(settings.data_dir) / KEY_FILE
    if not path.exists():
        seed = os.urandom(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(base64.b64encode(seed))
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(path.read_bytes()))


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name: str, public: Ed25519PublicKey) -> bytes:
    return hashlib.sha256(name.encode() + b"\n\x01" + _raw(public)).digest()[:4]


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    count: int
    head_hash: str  # hex
    at: datetime
    key_name: str
    signature: bytes

    def body(self) -> str:
        return (f"docintake-audit/{self.origin}\n{self.count}\n"
                f"{base64.b64encode(bytes.fromhex(self.head_hash)).decode()}\n"
                f"{self.at.isoformat(timespec='seconds')}\n")

    def note(self, public: Ed25519PublicKey) -> str:
        sig = base64.b64encode(key_id(self.key_name, public) + self.signature).decode()
        return f"{self.body()}\n{_DASH} {self.key_name} {sig}\n"

    @classmethod
    def parse(cls, note: str, public: Ed25519PublicKey) -> Checkpoint:
        """Read a note and check its signature; ValueError if either fails."""
        body, _, signatures = note.partition("\n\n")
        lines = body.split("\n")
        if len(lines) != 4 or not lines[0].startswith("docintake-audit/"):
            raise ValueError("not a docintake audit checkpoint")
        dash, name, sig_b64 = signatures.strip().split(" ")
        raw = base64.b64decode(sig_b64)
        if dash != _DASH or raw[:4] != key_id(name, public):
            raise ValueError("the checkpoint was signed by another key")
        try:
            public.verify(raw[4:], (body + "\n").encode())
        except InvalidSignature as exc:
            raise ValueError("the checkpoint's signature does not verify") from exc
        return cls(origin=lines[0].split("/", 1)[1], count=int(lines[1]),
                   head_hash=base64.b64decode(lines[2]).hex(),
                   at=datetime.fromisoformat(lines[3]), key_name=name, signature=raw[4:])


@dataclass(frozen=True)
class Verification:
    ok: bool
    count: int
    message: str
    checkpoint: Checkpoint | None = None


def checkpoint(runtime: Runtime, *, now: datetime | None = None) -> Checkpoint:
    """Sign the chain's head and store the note in the object store. A broken chain is
    never signed: the checkpoint would vouch for a tampered log."""
    settings = runtime.settings
    private = signing_key(settings)
    with runtime.database.session() as session:
        state = verify_chain(session)
    if state.broken is not None:
        raise AuditKeyError(f"refusing to sign a broken chain: {state.broken.describe()}")
    at = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    unsigned = Checkpoint(settings.audit_origin, state.count, state.head_hash, at,
                          settings.audit_key_name, b"")
    signed = Checkpoint(**{**unsigned.__dict__,
                           "signature": private.sign(unsigned.body().encode())})
    key = f"{CHECKPOINT_PREFIX}{state.count:012d}-{at:%Y%m%dT%H%M%SZ}.note"
    runtime.objects.put(key, signed.note(private.public_key()).encode())
    return signed


def latest_checkpoint(runtime: Runtime) -> Checkpoint | None:
    """The newest stored checkpoint (the longest chain it vouched for); ValueError if its
    signature does not verify."""
    keys = runtime.objects.keys(CHECKPOINT_PREFIX)
    if not keys:
        return None
    public = signing_key(runtime.settings).public_key()
    return Checkpoint.parse(runtime.objects.get(keys[-1]).decode(), public)


def verify(runtime: Runtime) -> Verification:
    """Replay the chain; then check it still extends the newest checkpoint."""
    try:
        latest = latest_checkpoint(runtime)
    except ValueError as exc:
        return Verification(False, 0, f"the newest checkpoint is not genuine: {exc}")
    with runtime.database.session() as session:
        state = verify_chain(session, remember={latest.count} if latest else ())
    if state.broken is not None:
        return Verification(False, state.count, state.broken.describe(), latest)
    if latest is None:
        return Verification(True, state.count,
                            f"{state.count} entries, chain intact (no checkpoint yet)")
    if state.count < latest.count:
        return Verification(
            False, state.count,
            f"the log ends after entry seq {state.count}, but the checkpoint of "
            f"{latest.at.isoformat()} vouched for {latest.count} entries: entries "
            f"{state.count + 1}–{latest.count} were cut off", latest)
    if latest.count and state.hashes.get(latest.count) != latest.head_hash:
        return Verification(
            False, state.count,
            f"entry seq {latest.count} differs from the one the checkpoint of "
            f"{latest.at.isoformat()} signed: the log was rewritten up to there", latest)
    return Verification(True, state.count,
                        f"{state.count} entries, chain intact, extends the checkpoint of "
                        f"{latest.at.isoformat()} ({latest.count} entries)", latest)
