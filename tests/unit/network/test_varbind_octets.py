"""The SET size estimate the Q-BRIDGE driver packs PDUs by is the BER encoding exactly
(checked against pyasn1, the encoder pysnmp sends with)."""

from __future__ import annotations

import pytest
from pyasn1.codec.ber import encoder
from pysnmp.proto import rfc1902
from pysnmp.proto.api import v2c

from agent.adapters.snmp_types import Gauge, Integer, OctetString, SetValue, varbind_octets

_ASN1 = {Integer: rfc1902.Integer32, Gauge: rfc1902.Gauge32, OctetString: rfc1902.OctetString}


@pytest.mark.parametrize(
    ("oid", "value"),
    [
        ("1.3.6.1.2.1.17.7.1.4.5.1.1.48", Gauge(999)),
        ("1.3.6.1.2.1.17.7.1.4.5.1.1.4094", Gauge(4294967295)),
        ("1.3.6.1.2.1.2.2.1.7.1048", Integer(2)),
        ("1.3.6.1.2.1.2.2.1.7.0", Integer(-129)),
        ("1.3.6.1.2.1.2.2.1.7.0", Integer(128)),
        ("1.3.6.1.2.1.17.7.1.4.3.1.2.999", OctetString(bytes(6))),
        ("1.3.6.1.2.1.17.7.1.4.3.1.4.4094", OctetString(bytes(512))),
    ],
)
def test_varbind_octets_is_the_ber_size(oid: str, value: SetValue) -> None:
    bind = v2c.VarBind()
    asn1 = _ASN1[type(value)](value.value)
    v2c.apiVarBind.set_oid_value(bind, (rfc1902.ObjectName(oid), asn1))
    assert varbind_octets(oid, value) == len(encoder.encode(bind))
