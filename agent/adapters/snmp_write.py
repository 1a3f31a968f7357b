"""SNMP SET through pysnmp 7 (gufo-snmp is read-only).

Imported lazily by ``agent.adapters.snmp`` on the first write: pysnmp costs start-up time
and most devices are only ever read. Nothing outside the adapter imports this module.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable, Sequence
from typing import Any

from pyasn1.error import PyAsn1Error
from pysnmp.entity.engine import SnmpEngine
from pysnmp.error import PySnmpError
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    UdpTransportTarget,
    UsmUserData,
    get_cmd,
    set_cmd,
    usmAesBlumenthalCfb192Protocol,
    usmAesBlumenthalCfb256Protocol,
    usmAesCfb128Protocol,
    usmDESPrivProtocol,
    usmHMAC128SHA224AuthProtocol,
    usmHMAC192SHA256AuthProtocol,
    usmHMAC256SHA384AuthProtocol,
    usmHMAC384SHA512AuthProtocol,
    usmHMACMD5AuthProtocol,
    usmHMACSHAAuthProtocol,
    usmNoPrivProtocol,
)
from pysnmp.proto import errind, rfc1902

from agent.adapters.snmp_types import (
    Gauge,
    Integer,
    IpAddress,
    OctetString,
    Oid,
    SetValue,
    SnmpTarget,
    TimeTicks,
)
from agent.errors import DeviceUnreachable, NegativeReply, ProtocolError

log = logging.getLogger(__name__)

_AUTH = {
    "MD5": usmHMACMD5AuthProtocol,
    "SHA": usmHMACSHAAuthProtocol,
    "SHA-224": usmHMAC128SHA224AuthProtocol,
    "SHA-256": usmHMAC192SHA256AuthProtocol,
    "SHA-384": usmHMAC256SHA384AuthProtocol,
    "SHA-512": usmHMAC384SHA512AuthProtocol,
}
# AES-192/256: the Blumenthal key extension, which is what net-snmp's "AES192"/"AES256"
# and gufo-snmp's default use, so reads and writes localise the same key.
_PRIV = {
    "DES": usmDESPrivProtocol,
    "AES": usmAesCfb128Protocol,
    "AES-192": usmAesBlumenthalCfb192Protocol,
    "AES-256": usmAesBlumenthalCfb256Protocol,
}
# errorIndications that mean "the agent refused our credentials": not transient.
_AUTH_FAILURES = (
    errind.WrongDigest,
    errind.UnknownUserName,
    errind.DecryptionError,
    errind.UnsupportedSecurityLevel,
    errind.AuthenticationFailure,
    errind.AuthenticationError,
    errind.UnknownSecurityName,
    errind.NotInTimeWindow,
)


class _Engines:
    """pysnmp engines shared by every writer with the same credentials on one event loop.

    An engine loads pysnmp's own MIB modules and USM tables: about 1 MiB each, 5 MiB for
    the first, so one per device cost the demo rack 9 MiB for five devices that are written
    a handful of times. pysnmp serves many targets from one engine (requests are matched
    by id, its UDP socket is shared); credentials are the limit: its USM keeps one entry
    per user name, so writers with different v3 keys for the same user name must not
    share. The key is therefore the whole credential; v2c communities coexist in one
    engine (each gets its own community index). An engine belongs to the loop that first
    used it, so engines are kept per loop, and the last writer to close closes it.
    """

    def __init__(self) -> None:
        # Per loop, then per credential: [engine, writers using it]. An engine's
        # dispatcher holds its loop, so entries of a closed loop (a writer never closed
        # in a finished test) are dropped at the next acquire, not by weak references.
        self._engines: dict[asyncio.AbstractEventLoop, dict[Hashable, list[Any]]] = {}

    def acquire(self, credential: Hashable) -> Any:
        """The engine for ``credential`` on the running loop; synchronous, so that two
        first SETs of one writer cannot both make one."""
        for loop in [loop for loop in self._engines if loop.is_closed()]:
            del self._engines[loop]
        held = self._engines.setdefault(asyncio.get_running_loop(), {})
        entry = held.get(credential)
        if entry is None:
            entry = held[credential] = [SnmpEngine(), 0]
        entry[1] += 1
        return entry[0]

    def release(self, engine: Any) -> None:
        for held in list(self._engines.values()):
            for credential, entry in list(held.items()):
                if entry[0] is engine:
                    entry[1] -= 1
                    if entry[1] <= 0:
                        del held[credential]
                        engine.close_dispatcher()
                    return

    def in_use(self) -> int:
        """Engines open on the running loop (for tests)."""
        return len(self._engines.get(asyncio.get_running_loop(), {}))


_ENGINES = _Engines()


class SnmpWriter:
    """One device's SETs, one PDU per call, on an engine shared by its credential."""

    def __init__(self, target: SnmpTarget) -> None:
        self._target = target
        self._engine: Any = None
        self._transport: Any = None
        self._auth: Any = _auth_data(target)
        self._credential = _credential(target)
        self._closed = False

    async def _ready(self) -> Any:
        """The engine, with the transport made (on the first call)."""
        target = self._target
        if self._closed:
            raise RuntimeError(f"{target.device}: SET on a closed SNMP writer")
        if self._engine is None:
            self._engine = _ENGINES.acquire(self._credential)  # before any await
        engine = self._engine
        if self._transport is None:
            # retries=0: the adapter owns the retry policy (a SET is not blindly resent).
            transport = await UdpTransportTarget.create(
                (target.host, target.port), timeout=target.timeout, retries=0
            )
            self._transport = self._transport or transport
            if self._closed:
                raise RuntimeError(f"{target.device}: SNMP writer closed during its first SET")
        return engine

    async def prime(self, oid: str) -> None:
        """Make the first SET as fast as the others: pysnmp builds its engine, loads its
        own MIB modules and configures the target on first use (measured: 100-450 ms of
        CPU, more than the rest of an emergency isolation). One GET of ``oid`` (a read,
        harmless) with the write credentials does all of that ahead of time. Raises our
        errors as ``set`` does."""
        engine = await self._ready()
        target = self._target
        try:
            indication, _status, _index, _ = await get_cmd(
                engine,
                self._auth,
                self._transport,
                ContextData(),
                ObjectType(ObjectIdentity(oid)),
                lookupMib=False,
            )
        except (PySnmpError, PyAsn1Error) as exc:
            raise ProtocolError(
                target.device, f"GET {oid} failed in the SNMP stack ({type(exc).__name__})"
            ) from exc
        if indication is not None:
            _raise_indication(target, [(oid, Oid(oid))], indication)

    async def set(self, varbinds: Sequence[tuple[str, SetValue]]) -> None:
        """Send one SET with every varbind; raise our errors, never pysnmp's."""
        target = self._target
        engine = await self._ready()
        objects = [ObjectType(ObjectIdentity(oid), _to_pysnmp(value)) for oid, value in varbinds]
        try:
            indication, status, index, _ = await set_cmd(
                engine,
                self._auth,
                self._transport,
                ContextData(),
                *objects,
                lookupMib=False,
            )
        except (PySnmpError, PyAsn1Error) as exc:
            raise ProtocolError(
                target.device,
                f"SET of {_oids(varbinds)} to {target.host}:{target.port} failed in the "
                f"SNMP stack ({type(exc).__name__}); check the value types for these OIDs",
            ) from exc
        if indication is not None:
            _raise_indication(target, varbinds, indication)
        if int(status) != 0:
            position = int(index)
            oid = varbinds[position - 1][0] if 0 < position <= len(varbinds) else ""
            name = status.prettyPrint()
            raise NegativeReply(
                target.device,
                f"SET refused with {name} on OID {oid or _oids(varbinds)}; check the OID is "
                "writable on this model and the write community / v3 user has write access",
                status=name,
                oid=oid,
            )

    def close(self) -> None:
        """Let go of the engine; the last writer using it closes its UDP socket."""
        self._closed = True
        if self._engine is not None:
            _ENGINES.release(self._engine)
            self._engine = None


def _raise_indication(
    target: SnmpTarget, varbinds: Sequence[tuple[str, SetValue]], indication: object
) -> None:
    where = f"SET of {_oids(varbinds)} to {target.host}:{target.port}"
    if isinstance(indication, errind.RequestTimedOut):
        raise DeviceUnreachable(
            target.device,
            f"{where}: no answer in {target.timeout}s; check the device is powered and "
            "reachable, and that the write community / v3 user is right (agents drop "
            "wrong communities silently)",
        )
    if isinstance(indication, _AUTH_FAILURES):
        raise NegativeReply(
            target.device,
            f"{where}: the agent refused our SNMPv3 credentials ({type(indication).__name__});"
            " check user name, auth/priv keys and protocols against the device",
            status="authenticationFailure",
        )
    raise ProtocolError(target.device, f"{where}: {type(indication).__name__}: {indication}")


def _credential(target: SnmpTarget) -> Hashable:
    """What decides whether two writers may share an engine (see `_Engines`)."""
    if target.version == "2c":
        return "2c"
    user = target.user
    assert user is not None  # SnmpTarget.__post_init__ guarantees it for v3
    return ("3", user.name, user.auth_protocol, user.auth_key, user.priv_protocol, user.priv_key)


def _auth_data(target: SnmpTarget) -> Any:
    if target.version == "2c":
        community = target.write_community or target.community
        # v2c is what most PDUs in the field speak; the operator chooses it per device.
        return CommunityData(community, mpModel=1)  # noqa: S508
    user = target.user
    assert user is not None  # SnmpTarget.__post_init__ guarantees it for v3
    return UsmUserData(
        user.name,
        user.auth_key,
        user.priv_key,
        authProtocol=_AUTH[user.auth_protocol],
        privProtocol=_PRIV[user.priv_protocol] if user.priv_key else usmNoPrivProtocol,
    )


def _to_pysnmp(value: SetValue) -> Any:
    match value:
        case Integer(v):
            return rfc1902.Integer32(v)
        case Gauge(v):
            return rfc1902.Gauge32(v)
        case TimeTicks(v):
            return rfc1902.TimeTicks(v)
        case OctetString(v):
            return rfc1902.OctetString(v)
        case Oid(v):
            return rfc1902.ObjectName(v)
        case IpAddress(v):
            return rfc1902.IpAddress(v)


def _oids(varbinds: Sequence[tuple[str, SetValue]]) -> str:
    return ", ".join(oid for oid, _ in varbinds)
