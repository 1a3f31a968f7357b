"""Serve one simulated device over real UDP with a pysnmp 7 command responder.

pysnmp does the protocol (BER, v2c communities, v3 USM authPriv, PDU dispatch); this
module plugs the device model in as the MIB instrumentation of the engine's default
context, so every GET/GETNEXT/GETBULK/SET is answered from the model's live state.

Three things are written by hand here, each for a reason:
- MIB loading: every SnmpEngine loads pysnmp's own MIB modules from Python source and,
  in a normal (non -O) interpreter, recompiles them each time (about 60 ms per engine).
  They are compiled once per process into a cache folder and served to every engine
  from there, which makes a 40-device rack start in a fraction of a second.
- GETBULK: pysnmp's responder keeps repeating endOfMibView rows until max-repetitions;
  real agents (net-snmp's snmpd) stop after the first row that is past the end.
- Wire faults: latency and loss are applied where a datagram enters, before pysnmp.
- Error-index: pysnmp 7.1's responder resets the error-index of a refused varbind to 1
  unless it is the last one of the PDU (it compares the wrong way round); the
  responders here send the index of the varbind that was actually refused (RFC 3416).
"""

from __future__ import annotations

import asyncio
import errno
import functools
import hashlib
import marshal
import py_compile
import socket
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

import pysnmp.smi.mibs as pysnmp_mibs
import pysnmp.smi.mibs.instances as pysnmp_mib_instances
from pyasn1.codec.ber import encoder as ber_encoder
from pyasn1.type import univ
from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config, engine
from pysnmp.entity.rfc3413 import cmdrsp, context
from pysnmp.proto import rfc1902, rfc1905, rfc3412
from pysnmp.proto.api import v2c
from pysnmp.proto.secmod.rfc3414 import localkey
from pysnmp.smi import builder, instrum
from pysnmp.smi import error as smi_error

from agent.sim.snmp.device import SimDevice
from agent.sim.snmp.faults import SimCredentials
from agent.sim.snmp.mib import SetError
from agent.sim.snmp.values import Oid, Tag, Value

COMMUNITY_INDEX = "sim-community"

_SMI_ERRORS: dict[str, Any] = {
    "wrongType": smi_error.WrongTypeError,
    "wrongLength": smi_error.WrongLengthError,
    "wrongValue": smi_error.WrongValueError,
    "wrongEncoding": smi_error.WrongEncodingError,
    "notWritable": smi_error.NotWritableError,
    "noCreation": smi_error.NoCreationError,
    "noAccess": smi_error.NoAccessError,
    "inconsistentValue": smi_error.InconsistentValueError,
    "inconsistentName": smi_error.InconsistentNameError,
    "resourceUnavailable": smi_error.ResourceUnavailableError,
    "commitFailed": smi_error.CommitFailedError,
    "genErr": smi_error.GenError,
    "tooBig": smi_error.TooBigError,
    "noSuchName": smi_error.NoSuchNameError,
    "badValue": smi_error.BadValueError,
    "readOnly": smi_error.ReadOnlyError,
    "authorizationError": smi_error.AuthorizationError,
}

_TO_ASN1: dict[Tag, Any] = {
    Tag.INTEGER: rfc1902.Integer32,
    Tag.OCTET_STRING: rfc1902.OctetString,
    Tag.OBJECT_IDENTIFIER: rfc1902.ObjectIdentifier,
    Tag.IP_ADDRESS: rfc1902.IpAddress,
    Tag.COUNTER32: rfc1902.Counter32,
    Tag.GAUGE32: rfc1902.Gauge32,
    Tag.TIMETICKS: rfc1902.TimeTicks,
    Tag.OPAQUE: rfc1902.Opaque,
    Tag.COUNTER64: rfc1902.Counter64,
}
# Unsigned32 shares Gauge32's tag, Integer32 shares INTEGER's: one entry each suffices.
_FROM_ASN1 = [(cls.tagSet, tag) for tag, cls in _TO_ASN1.items()] + [(univ.Null.tagSet, Tag.NULL)]


def to_asn1(value: Value) -> Any:
    if value.tag is Tag.NULL:
        return univ.Null("")
    return _TO_ASN1[value.tag](value.data)


def from_asn1(obj: Any) -> Value | None:
    """The simulator's value for a pysnmp value, or None for a type it cannot hold."""
    for tag_set, tag in _FROM_ASN1:
        if obj.tagSet == tag_set:
            if tag is Tag.NULL:
                return Value(Tag.NULL, b"")
            if tag in (Tag.OCTET_STRING, Tag.OPAQUE, Tag.IP_ADDRESS):
                return Value(tag, obj.asOctets())
            if tag is Tag.OBJECT_IDENTIFIER:
                return Value(tag, tuple(obj))
            return Value(tag, int(obj))
    return None


def _smi_error(status: str, oid: Oid, idx: int) -> Exception:
    error: Exception = _SMI_ERRORS[status](name=oid, idx=idx)
    return error


# -- fast engine construction ----------------------------------------------------------


@functools.cache
def _compiled_mib_dir() -> str:
    """Byte-compile pysnmp's bundled MIB modules once per process (see module doc)."""
    target = tempfile.mkdtemp(prefix="cleanroom-sim-mibs-")
    for package in (pysnmp_mib_instances, pysnmp_mibs):
        assert package.__file__ is not None
        for source in Path(package.__file__).parent.glob("*.py"):
            if source.name != "__init__.py":
                py_compile.compile(
                    str(source), cfile=str(Path(target) / (source.stem + ".pyc")), doraise=True
                )
    return target


class _CompiledMibSource(builder.DirMibSource):  # type: ignore[misc]
    """Serves the cached .pyc files; pysnmp's own reader expects a pre-3.7 .pyc header."""

    def read(self, f: str) -> tuple[Any, str]:
        path = Path(self._srcName) / (f + ".pyc")
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise OSError(errno.ENOENT, "no such compiled MIB module", f) from exc
        return marshal.loads(data[16:]), ".pyc"  # noqa: S302 (our own cache) | 16-byte header since Python 3.7 (PEP 552)


def _new_engine(engine_id: bytes) -> Any:
    mib_builder = builder.MibBuilder()
    mib_builder.set_mib_sources(_CompiledMibSource(_compiled_mib_dir()))
    dispatcher = rfc3412.MsgAndPduDispatcher(instrum.MibInstrumController(mib_builder))
    return engine.SnmpEngine(snmpEngineID=univ.OctetString(engine_id), msgAndPduDsp=dispatcher)


@functools.cache
def _sha_master_key(passphrase: str) -> bytes:
    # RFC 3414 password-to-key hashes a megabyte; with the same credentials on every
    # device, doing it once per passphrase instead of once per engine saves ~30 ms each.
    return bytes(localkey.hash_passphrase_sha(univ.OctetString(passphrase.encode())))


def _configure_credentials(
    snmp_engine: Any, old: SimCredentials | None, new: SimCredentials
) -> None:
    if old is not None:
        if old.community is not None:
            config.delete_v1_system(snmp_engine, COMMUNITY_INDEX)
        if old.user is not None:
            config.delete_v3_user(snmp_engine, old.user)
    if new.community is not None:
        config.add_v1_system(snmp_engine, COMMUNITY_INDEX, new.community)
    if new.user is not None:
        assert new.auth_key is not None
        assert new.priv_key is not None
        config.add_v3_user(
            snmp_engine,
            new.user,
            config.USM_AUTH_HMAC96_SHA,
            _sha_master_key(new.auth_key),
            config.USM_PRIV_CFB128_AES,
            _sha_master_key(new.priv_key),
            authKeyType=config.USM_KEY_TYPE_MASTER,
            privKeyType=config.USM_KEY_TYPE_MASTER,
        )


# -- the wire ---------------------------------------------------------------------------


class _FaultyUdpTransport(udp.UdpAsyncioTransport):  # type: ignore[misc]
    """pysnmp's UDP server transport with the device's wire faults applied."""

    def __init__(self, device: SimDevice) -> None:
        super().__init__()
        self._device = device

    def datagram_received(self, datagram: bytes, transportAddress: Any) -> None:  # noqa: N803
        faults = self._device.faults
        if faults.should_drop():
            return
        if self._callback_function is None:
            return
        if faults.latency_s > 0:
            self.loop.call_later(
                faults.latency_s, self._callback_function, self, transportAddress, datagram
            )
        else:
            self.loop.call_soon(self._callback_function, self, transportAddress, datagram)


# -- the MIB instrumentation -----------------------------------------------------------


class _DeviceInstrumentation(instrum.AbstractMibInstrumController):  # type: ignore[misc]
    """Answers pysnmp's responders from the device model."""

    def __init__(self, device: SimDevice) -> None:
        self._device = device
        self.device = device
        # 0-based position of the varbind the request in progress was refused on, for
        # _TrueErrorIndex (pysnmp runs one request at a time, from instrumentation to
        # reply, so one slot suffices).
        self.refused_at: int | None = None

    def _fail(self, status: str, oid: Oid, idx: int) -> Exception:
        self.refused_at = idx
        return _smi_error(status, oid, idx)

    def _value(self, oid: Oid, idx: int) -> Any:
        faults = self._device.faults
        status = faults.error_status.get(oid)
        if status is not None:
            raise self._fail(status, oid, idx)
        if oid in faults.malformed:
            return to_asn1(faults.malformed[oid])
        var = self._device.mib.get(oid)
        assert var is not None
        return to_asn1(var.read())

    def read_variables(self, *var_binds: Any, **context: Any) -> list[tuple[Any, Any]]:
        self._device.settle()
        out = []
        for idx, (name, _) in enumerate(var_binds):
            oid = tuple(name)
            if oid in self._device.faults.error_status:
                raise self._fail(self._device.faults.error_status[oid], oid, idx)
            if oid in self._device.mib:
                out.append((rfc1902.ObjectName(oid), self._value(oid, idx)))
            else:
                out.append((rfc1902.ObjectName(oid), rfc1905.noSuchObject))
        return out

    def read_next_variables(self, *var_binds: Any, **context: Any) -> list[tuple[Any, Any]]:
        self._device.settle()
        out = []
        for idx, (name, _) in enumerate(var_binds):
            following = self._device.mib.next_oid(tuple(name))
            if following is None:
                out.append((rfc1902.ObjectName(tuple(name)), rfc1905.endOfMibView))
            else:
                out.append((rfc1902.ObjectName(following), self._value(following, idx)))
        return out

    def write_variables(self, *var_binds: Any, **context: Any) -> list[tuple[Any, Any]]:
        device = self._device
        device.settle()
        device.set_pdus += 1
        commits = []
        for idx, (name, raw) in enumerate(var_binds):
            oid = tuple(name)
            status = device.faults.error_status.get(oid)
            if status is not None:
                raise self._fail(status, oid, idx)
            value = from_asn1(raw)
            if value is None:
                raise self._fail("wrongType", oid, idx)
            try:
                commits.append((oid, value, device.mib.prepare_set(oid, value)))
            except SetError as exc:
                raise self._fail(exc.status, oid, idx) from exc
        # Every variable validated: now apply them all (RFC 3416 4.2.5: all or none).
        for idx, (oid, value, commit) in enumerate(commits):
            try:
                commit()
            except SetError as exc:  # a model refusing at commit time (rare)
                raise self._fail(exc.status, oid, idx) from exc
            device.log_set(oid, value)
        return list(var_binds)


class _TrueErrorIndex:
    """Responder mixin: send the error-index of the varbind the instrumentation refused
    (see module doc) instead of the one pysnmp 7.1 computes, and keep the device's
    message-size limit (``Faults.limit_message_size``)."""

    snmpContext: Any  # noqa: N815 - pysnmp names the attribute so
    bulk = False  # the GetBulk responder truncates instead, if so configured

    def send_varbinds(
        self,
        snmp_engine: Any,
        state_reference: Any,
        error_status: Any,
        error_index: int,
        var_binds: Any,
    ) -> None:
        mib = self.snmpContext.get_mib_instrum(b"")
        refused, mib.refused_at = mib.refused_at, None
        if error_status and refused is not None and error_index != 0:
            error_index = refused + 1
        faults = mib.device.faults
        limit = faults.max_message_size
        if limit is not None and not error_status:
            var_binds = list(var_binds)
            overhead = _MESSAGE_OVERHEAD + len(mib.device.credentials.community or "")
            if _pdu_size(var_binds) + overhead > limit:
                if self.bulk and faults.oversize_bulk == "truncate":
                    while var_binds and _pdu_size(var_binds) + overhead > limit:
                        var_binds.pop()  # RFC 3416 4.2.3: drop varbinds from the end
                else:
                    error_status, error_index, var_binds = "tooBig", 0, []
        super().send_varbinds(  # type: ignore[misc]
            snmp_engine, state_reference, error_status, error_index, var_binds
        )


# An SNMPv2c message around its PDU: SEQUENCE header (up to 4 bytes), version (3 bytes),
# community header (2 bytes) and, for the PDU's request-id, up to 4 bytes more than the
# 0 that _pdu_size encodes; the community's own length is added per device.
_MESSAGE_OVERHEAD = 13


def _pdu_size(var_binds: list[Any]) -> int:
    """Encoded size of a Response-PDU carrying ``var_binds`` (request-id 0)."""
    pdu = v2c.ResponsePDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_varbinds(pdu, var_binds)
    return len(ber_encoder.encode(pdu))


class _GetResponder(_TrueErrorIndex, cmdrsp.GetCommandResponder):  # type: ignore[misc]
    pass


class _NextResponder(_TrueErrorIndex, cmdrsp.NextCommandResponder):  # type: ignore[misc]
    pass


class _SetResponder(_TrueErrorIndex, cmdrsp.SetCommandResponder):  # type: ignore[misc]
    pass


class _BulkResponder(_TrueErrorIndex, cmdrsp.BulkCommandResponder):  # type: ignore[misc]
    """GETBULK as RFC 3416 4.2.3 describes it, stopping after the first row that is
    entirely past the end of the MIB (see module doc); or not at all, for the
    ``Faults.refuse_getbulk`` fault."""

    bulk = True

    def handle_management_operation(
        self,
        snmp_engine: Any,
        state_reference: Any,
        context_name: Any,
        PDU: Any,  # noqa: N803
    ) -> None:
        refusal = self.snmpContext.get_mib_instrum(context_name).device.faults.getbulk
        if refusal == "drop":
            self.release_state_information(state_reference)
            return
        if refusal != "answer":
            request = list(v2c.apiPDU.get_varbinds(PDU))
            self.send_varbinds(snmp_engine, state_reference, refusal, 0, request)
            self.release_state_information(state_reference)
            return
        non_repeaters = max(0, int(v2c.apiBulkPDU.get_non_repeaters(PDU)))
        max_repetitions = max(0, int(v2c.apiBulkPDU.get_max_repetitions(PDU)))
        request = list(v2c.apiPDU.get_varbinds(PDU))
        n = min(non_repeaters, len(request))
        r = len(request) - n
        mib = self.snmpContext.get_mib_instrum(context_name)
        ctx = {"snmp_engine": snmp_engine, "acFun": self.verify_access, "cbCtx": self.cbCtx}
        out = list(mib.read_next_variables(*request[:n], **ctx)) if n else []
        if r:
            row = request[n:]
            for _ in range(min(max_repetitions, self.max_varbinds // r)):
                row = mib.read_next_variables(*row, **ctx)
                out.extend(row)
                if all(isinstance(val, rfc1905.EndOfMibView) for _, val in row):
                    break
        self.send_varbinds(snmp_engine, state_reference, 0, 0, out)
        self.release_state_information(state_reference)


class Endpoint:
    """One device served on one UDP port. An async context manager."""

    def __init__(self, device: SimDevice, host: str = "127.0.0.1", port: int = 0) -> None:
        self.device = device
        self._host = host
        self._port = port
        self._engine: Any = None
        self._credentials: SimCredentials | None = None
        self.address: tuple[str, int] = (host, port)

    def start(self) -> None:
        """Bind the socket and register the responders (synchronous: no I/O awaited;
        the bound socket queues requests until asyncio attaches the protocol)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((self._host, self._port))
        except OSError as exc:
            sock.close()
            raise OSError(
                f"simulated device {self.device.id!r}: cannot bind UDP {self._host}:{self._port}: "
                f"{exc.strerror}; pick another port or 0 for a free one"
            ) from exc
        sock.setblocking(False)
        self.address = sock.getsockname()[:2]
        engine_id = b"\x80\x00\x1f\x88\x05" + hashlib.sha256(self.device.id.encode()).digest()[:8]
        snmp_engine = _new_engine(engine_id)
        transport = _FaultyUdpTransport(self.device).open_server_mode(sock=sock)
        config.add_transport(snmp_engine, udp.DOMAIN_NAME, transport)
        self._engine = snmp_engine
        self.rekey(self.device.credentials)
        snmp_context = context.SnmpContext(snmp_engine)
        snmp_context.unregister_context_name(b"")
        snmp_context.register_context_name(b"", _DeviceInstrumentation(self.device))
        for responder in (
            _GetResponder,
            _NextResponder,
            _BulkResponder,
            _SetResponder,
        ):
            responder(snmp_engine, snmp_context)
        self.device.faults.on_credentials(self.rekey)

    def rekey(self, credentials: SimCredentials) -> None:
        """Expect other credentials from now on (also the wrong-key fault)."""
        _configure_credentials(self._engine, self._credentials, credentials)
        self._credentials = credentials

    def stop(self) -> None:
        if self._engine is not None:
            self._engine.close_dispatcher()
            self._engine = None

    async def __aenter__(self) -> Endpoint:
        self.start()
        await asyncio.sleep(0)  # let asyncio attach the datagram protocol
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
