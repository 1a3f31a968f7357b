"""Fault controls every simulated device has, whatever its kind.

Wire faults (latency, loss, silence) are applied by the UDP transport before pysnmp sees
a request; reply faults (an error-status or a malformed value on one OID) by the MIB
instrumentation; SET refusals (one OID that reads fine but refuses writes, as a port
locked by a vendor's port-security feature does) by the device's MIB when it prepares a
SET; credential faults by re-keying the device's SNMP engine. Device-specific
faults (an outlet that ignores commands, a forced sensor, the UPS on battery, VLAN drift)
are methods of the device models themselves.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from agent.sim.snmp.mib import SET_STATUSES, SetError
from agent.sim.snmp.values import Oid, Value, format_oid

# Error statuses a reply may carry on any request (reads too): the SET ones plus the
# read-side ones an agent may answer with.
REPLY_STATUSES = SET_STATUSES | {
    "tooBig",
    "noSuchName",
    "badValue",
    "readOnly",
    "authorizationError",
}


@dataclass(frozen=True, slots=True)
class SimCredentials:
    """What a device expects: v2c community and/or one SNMPv3 USM user (SHA + AES-128)."""

    community: str | None = "public"
    user: str | None = None
    auth_key: str | None = None
    priv_key: str | None = None

    def __post_init__(self) -> None:
        if self.user is not None:
            for name in ("auth_key", "priv_key"):
                key = getattr(self, name)
                if key is None or len(key) < 8:
                    raise ValueError(
                        f"SimCredentials.{name} for v3 user {self.user!r}: needs at least 8 "
                        "characters (RFC 3414 passphrase minimum)"
                    )
        if self.community is None and self.user is None:
            raise ValueError("SimCredentials: give a community, a v3 user, or both")


@dataclass
class Faults:
    """The live fault switches of one device. Change them at any time."""

    latency_s: float = 0.0
    loss: float = 0.0
    silent: bool = False
    error_status: dict[Oid, str] = field(default_factory=dict)
    malformed: dict[Oid, Value] = field(default_factory=dict)
    refused_sets: dict[Oid, str] = field(default_factory=dict)
    # GETBULK: "answer" (normal), "drop" (no answer at all), or an error-status to answer.
    getbulk: str = "answer"
    # The largest message the agent sends (None: no limit) and what a GETBULK answer over
    # it gets: "tooBig" or "truncate" (see limit_message_size).
    max_message_size: int | None = None
    oversize_bulk: str = "tooBig"
    seed: int = 0
    _rng: random.Random = field(init=False, repr=False)
    _credential_listeners: list[Callable[[SimCredentials], None]] = field(
        default_factory=list, init=False, repr=False
    )

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)  # noqa: S311 (reproducible, not secret)

    def set_loss(self, probability: float, seed: int | None = None) -> None:
        """Drop each request with this probability, drawn from a seeded RNG so a test
        run is reproducible."""
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"loss: {probability} is not a probability in 0..1")
        self.loss = probability
        if seed is not None:
            self.seed = seed
            self._rng = random.Random(seed)  # noqa: S311 (reproducible, not secret)

    def set_latency(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"latency: {seconds} s is negative; use 0 to answer at once")
        self.latency_s = seconds

    def fail_oid(self, oid: Oid, status: str) -> None:
        """Answer any request touching `oid` with this error-status."""
        if status not in REPLY_STATUSES:
            raise ValueError(
                f"error_status on {format_oid(oid)}: {status!r} is not an SNMP error-status; "
                f"use one of {sorted(REPLY_STATUSES)}"
            )
        self.error_status[oid] = status

    def refuse_set(self, oid: Oid, status: str) -> None:
        """Refuse every SET of `oid` with this error-status while GETs, GETNEXTs and
        walks still answer it (the device is reachable and readable, one write is not
        accepted). A refused SET changes nothing: the whole PDU is refused (RFC 3416)."""
        if status not in SET_STATUSES:
            raise ValueError(
                f"refuse_set on {format_oid(oid)}: {status!r} is not a SET error-status; "
                f"use one of {sorted(SET_STATUSES)}"
            )
        self.refused_sets[oid] = status

    def check_set(self, oid: Oid) -> None:
        """Raise the SetError a refused SET of `oid` answers with (the MIB calls it before
        validating the value, as an agent checks access before syntax)."""
        status = self.refused_sets.get(oid)
        if status is not None:
            raise SetError(status, f"{format_oid(oid)}: SET refused by an injected fault")

    def refuse_getbulk(self, how: str = "drop") -> None:
        """Behave as an agent without GETBULK: ``"drop"`` leaves every GetBulkRequest
        unanswered (an SNMPv1-only agent discards a PDU type it cannot parse, RFC 3584
        section 4.1), an error-status such as ``"genErr"`` answers it with that status,
        error-index 0 and the request's varbinds. GET, GETNEXT and SET still work."""
        if how != "drop" and how not in REPLY_STATUSES:
            raise ValueError(
                f"refuse_getbulk: {how!r} is neither 'drop' nor an SNMP error-status; "
                f"use 'drop' or one of {sorted(REPLY_STATUSES)}"
            )
        self.getbulk = how

    def limit_message_size(self, size: int, bulk: str = "tooBig") -> None:
        """The agent sends no message larger than ``size`` bytes (a local constraint).

        As RFC 3416 4.2.1 and 4.2.2 say for Get and GetNext (and SET, 4.2.5): a Response
        over the limit is replaced by one with error-status tooBig, error-index 0 and no
        varbinds. For GetBulk, RFC 3416 4.2.3 has the agent drop varbinds from the end
        until it fits (``bulk="truncate"``); agents that treat GetBulk like GetNext answer
        tooBig instead (``bulk="tooBig"``, the default, which a client must survive).
        The size counted is the encoded Response-PDU plus the SNMPv2c message around it.
        """
        if size < 100:
            raise ValueError(f"limit_message_size: {size} bytes leaves no room for any answer")
        if bulk not in ("tooBig", "truncate"):
            raise ValueError(f"limit_message_size: bulk={bulk!r}; use 'tooBig' or 'truncate'")
        self.max_message_size = size
        self.oversize_bulk = bulk

    def malform(self, oid: Oid, value: Value) -> None:
        """Answer reads of `oid` with this value whatever its proper type."""
        self.malformed[oid] = value

    def should_drop(self) -> bool:
        if self.silent:
            return True
        return self.loss > 0 and self._rng.random() < self.loss

    def on_credentials(self, listener: Callable[[SimCredentials], None]) -> None:
        self._credential_listeners.append(listener)

    def expect_credentials(self, credentials: SimCredentials) -> None:
        """Make the device expect other credentials (a wrong-community / bad-key fault
        from the agent's side)."""
        for listener in self._credential_listeners:
            listener(credentials)

    def clear(self) -> None:
        """Back to a healthy device (credentials are left as they are)."""
        self.latency_s = 0.0
        self.loss = 0.0
        self.silent = False
        self.error_status.clear()
        self.malformed.clear()
        self.refused_sets.clear()
        self.getbulk = "answer"
        self.max_message_size = None
        self.oversize_bulk = "tooBig"
