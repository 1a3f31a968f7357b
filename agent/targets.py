"""From the rack config to the address and credentials of every device: the one place
that turns a device's config entry into an SNMP target or a BMC endpoint, for the power,
network and health parts alike.

The config spells SNMPv3 protocols the way vendors' web pages do (``SHA256``,
``AES192``); the SNMP adapter spells them as RFC 7860 / RFC 3826 do (``SHA-256``,
``AES-192``). The mapping lives here, once.

Retries: the power and network parts keep the credentials' full ``retries`` (a lost
reply during a power sequence is worth asking again at once); the health readers cap
them with ``max_retries`` because their next poll is the retry.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from agent.adapters.snmp import AuthProtocol, PrivProtocol, SnmpTarget, V3User
from agent.conf.schema import Bmc, Credentials, Pdu, RackConfig, Switch, Ups
from agent.errors import ConfigError

if TYPE_CHECKING:
    # httpx and pyghmi are imported only by processes that talk to such a BMC.
    from agent.adapters.ipmi import IpmiEndpoint
    from agent.adapters.redfish import RedfishEndpoint

AUTH_NAMES: dict[str, AuthProtocol] = {
    "MD5": "MD5",
    "SHA": "SHA",
    "SHA224": "SHA-224",
    "SHA256": "SHA-256",
    "SHA384": "SHA-384",
    "SHA512": "SHA-512",
}
PRIV_NAMES: dict[str, PrivProtocol] = {
    "DES": "DES",
    "AES": "AES",
    "AES192": "AES-192",
    "AES256": "AES-256",
}


def credentials_for(config: RackConfig, where: str, name: str) -> Credentials:
    cred = config.credentials.get(name)
    if cred is None:
        known = ", ".join(sorted(config.credentials)) or "none"
        raise ConfigError(
            [
                f"{where}: credentials {name!r} are not defined (known: {known}); add a "
                f"[credentials.{name}] table or fix the name"
            ]
        )
    return cred


def target_from_credentials(
    device: str,
    host: str,
    port: int,
    cred: Credentials,
    *,
    where: str,
    max_retries: int | None = None,
) -> SnmpTarget:
    """The SnmpTarget for ``device`` with credential set ``cred`` (``where`` names it)."""
    timeout = float(cred.timeout)
    retries = cred.retries if max_retries is None else min(cred.retries, max_retries)
    if cred.version == "2c":
        if cred.community is None:
            raise ConfigError([f"{where}: SNMP v2c credentials need a community; set it"])
        write = cred.write_community.reveal() if cred.write_community else None
        return SnmpTarget(
            device,
            host,
            port,
            version="2c",
            community=cred.community.reveal(),
            write_community=write,
            timeout=timeout,
            retries=retries,
        )
    auth = AUTH_NAMES.get(cred.auth_protocol)
    priv = PRIV_NAMES.get(cred.priv_protocol)
    if auth is None or priv is None or cred.auth_key is None or not cred.user:
        raise ConfigError(
            [
                f"{where}: SNMPv3 credentials need user, auth_key and known protocols "
                f"(auth {cred.auth_protocol!r} in {sorted(AUTH_NAMES)}, priv "
                f"{cred.priv_protocol!r} in {sorted(PRIV_NAMES)}); fix the credentials table"
            ]
        )
    try:
        user = V3User(
            cred.user,
            auth_key=cred.auth_key.reveal(),
            priv_key=cred.priv_key.reveal() if cred.priv_key else None,
            auth_protocol=auth,
            priv_protocol=priv,
        )
    except ValueError as exc:
        raise ConfigError([f"{where}: {exc}"]) from exc
    return SnmpTarget(device, host, port, version="3", user=user, timeout=timeout, retries=retries)


def device_target(
    config: RackConfig,
    device: str,
    host: str,
    port: int,
    credentials: str,
    *,
    max_retries: int | None = None,
) -> SnmpTarget:
    """The SnmpTarget of any SNMP device from its host, port and credentials name."""
    where = f"device {device!r}"
    cred = credentials_for(config, where, credentials)
    return target_from_credentials(device, host, port, cred, where=where, max_retries=max_retries)


def switch_target(config: RackConfig, switch: Switch) -> SnmpTarget:
    return device_target(config, switch.id, switch.host, switch.snmp_port, switch.credentials)


def pdu_target(config: RackConfig, pdu: Pdu) -> SnmpTarget:
    where = f"pdu {pdu.id!r}"
    cred = credentials_for(config, where, pdu.credentials)
    return target_from_credentials(pdu.id, pdu.host, pdu.snmp_port, cred, where=where)


def ups_target(config: RackConfig, ups: Ups) -> SnmpTarget:
    where = f"ups {ups.id!r}"
    cred = credentials_for(config, where, ups.credentials)
    return target_from_credentials(ups.id, ups.host, ups.snmp_port, cred, where=where)


def redfish_endpoint(device: str, bmc: Bmc, timeout_s: float = 5.0) -> RedfishEndpoint:
    """The Redfish endpoint of a server's BMC; the port defaults to the scheme's."""
    from agent.adapters.redfish import RedfishEndpoint  # noqa: PLC0415 - httpx when used

    port = f":{bmc.port}" if bmc.port else ""
    return RedfishEndpoint(
        device=device,
        base_url=f"{bmc.scheme}://{bmc.host}{port}",
        username=bmc.username,
        password=bmc.password.reveal(),
        verify_tls=bmc.verify_tls,
        ca_file=Path(bmc.ca_file) if bmc.ca_file else None,
        timeout_s=timeout_s,
    )


def ipmi_endpoint(device: str, bmc: Bmc, timeout_s: float = 15.0) -> IpmiEndpoint:
    """The IPMI-over-LAN endpoint of a server's BMC; the port defaults to 623 (RMCP+)."""
    from agent.adapters.ipmi import IpmiEndpoint  # noqa: PLC0415 - pyghmi when used

    return IpmiEndpoint(
        device=device,
        host=bmc.host,
        username=bmc.username,
        password=bmc.password.reveal(),
        port=bmc.port or 623,
        timeout_s=timeout_s,
    )
