"""Cross-reference checks on a decoded rack config.

Each rule appends a problem naming the TOML path, the value and the fix; all rules run,
so an operator fixes a config in one pass, not one error at a time.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from collections import Counter
from collections.abc import Iterable
from urllib.parse import urlsplit

import msgspec

from agent.conf.ranges import out_of_range
from agent.conf.schema import OutletRef, RackConfig, Server, Step, Switch
from agent.conf.steps import STEP_ARGS, parse_args


def cross_check(config: RackConfig) -> list[str]:
    problems: list[str] = out_of_range(config, "")
    _check_ids(config, problems)
    _check_vlans(config, problems)
    _check_credentials(config, problems)
    _check_outlets(config, problems)
    _check_switches(config, problems)
    _check_controller(config, problems)
    _check_groups(config, problems)
    _check_thresholds(config, problems)
    _check_mqtt_and_keys(config, problems)
    _check_runbook(config, problems)
    return problems


def _dupes(values: Iterable[str]) -> list[str]:
    return sorted(v for v, n in Counter(values).items() if n > 1)


def _check_ids(c: RackConfig, out: list[str]) -> None:
    for dup in _dupes(c.device_ids()):
        places = [f"{section}[{i}]" for section, i, dev in c.devices() if dev.id == dup]
        out.append(
            f"{places[-1]}.id: device id {dup!r} is used by {', '.join(places)}; "
            "every device needs its own id"
        )
    for section, i, dev in c.devices():
        if not dev.id or not dev.id.replace("-", "").replace("_", "").isalnum():
            out.append(
                f"{section}[{i}].id: {dev.id!r}: use letters, digits, '-' and '_' "
                "only (it becomes an MQTT topic level)"
            )


def _check_vlans(c: RackConfig, out: list[str]) -> None:
    vlans = msgspec.structs.asdict(c.vlans)
    for role, vid in vlans.items():
        if not 2 <= vid <= 4094:
            out.append(
                f"vlans.{role}: {vid} is not a usable VLAN id; pick one in 2..4094 "
                "(VLAN 1 is where unconfigured ports land: never use it for a role)"
            )
    for vid, n in Counter(vlans.values()).items():
        if n > 1:
            roles = [r for r, v in vlans.items() if v == vid]
            out.append(
                f"vlans: {', '.join(roles)} share VLAN {vid}; each role needs its own "
                "VLAN or isolation between them is lost"
            )


def _check_credentials(c: RackConfig, out: list[str]) -> None:
    for name, cred in c.credentials.items():
        if cred.version == "2c" and cred.community is None:
            out.append(f"credentials.{name}.community: SNMP v2c needs a community")
        if cred.version == "3":
            if not cred.user:
                out.append(f"credentials.{name}.user: SNMP v3 needs a user name")
            if cred.auth_key is None or cred.priv_key is None:
                out.append(
                    f"credentials.{name}: SNMP v3 here is authPriv only; set auth_key "
                    "and priv_key (at least 8 characters each)"
                )
            for field in ("auth_key", "priv_key"):
                key = getattr(cred, field)
                if key is not None and len(key.reveal()) < 8:
                    out.append(
                        f"credentials.{name}.{field}: shorter than 8 characters, "
                        "which SNMP v3 (RFC 3414) refuses"
                    )
    for section, i, dev in c.devices():
        if isinstance(dev, Server) or (isinstance(dev, Switch) and dev.driver == "linux-bridge"):
            continue
        ref = dev.credentials
        if ref not in c.credentials:
            known = ", ".join(sorted(c.credentials)) or "none defined"
            out.append(
                f"{section}[{i}].credentials: {ref!r} is not defined in [credentials] "
                f"(known: {known})"
            )


def _outlet_users(c: RackConfig) -> list[tuple[str, OutletRef]]:
    refs: list[tuple[str, OutletRef]] = []
    for i, s in enumerate(c.server):
        refs += [(f"server[{i}].power[{j}]", r) for j, r in enumerate(s.power)]
    for i, sw in enumerate(c.switch):
        refs += [(f"switch[{i}].power[{j}]", r) for j, r in enumerate(sw.power)]
    refs += [(f"controller.power[{j}]", r) for j, r in enumerate(c.controller.power)]
    return refs


def _check_outlets(c: RackConfig, out: list[str]) -> None:
    seen: dict[tuple[str, int], str] = {}
    for place, ref in _outlet_users(c):
        pdu = c.find_pdu(ref.pdu)
        if pdu is None:
            out.append(
                f"{place}.pdu: no PDU has id {ref.pdu!r} "
                f"(PDUs: {', '.join(p.id for p in c.pdu) or 'none'})"
            )
            continue
        if not 1 <= ref.outlet <= pdu.outlets:
            out.append(
                f"{place}.outlet: pdu {pdu.id!r} has no outlet {ref.outlet} (it has {pdu.outlets})"
            )
        key = (ref.pdu, ref.outlet)
        if key in seen:
            out.append(
                f"{place}: outlet {ref.outlet} of pdu {ref.pdu!r} already feeds "
                f"{seen[key]}; one outlet feeds one device"
            )
        seen[key] = place
    for i, pdu in enumerate(c.pdu):
        bad = [o for o in pdu.protected_outlets if not 1 <= o <= pdu.outlets]
        if bad:
            out.append(f"pdu[{i}].protected_outlets: {bad} out of range 1..{pdu.outlets}")
        if pdu.ups and pdu.ups not in {u.id for u in c.ups}:
            out.append(f"pdu[{i}].ups: no UPS has id {pdu.ups!r}")


def _check_switches(c: RackConfig, out: list[str]) -> None:
    device_ids = set(c.device_ids())
    uplinks = 0
    for i, sw in enumerate(c.switch):
        if sw.driver == "linux-bridge" and not sw.bridge:
            out.append(f"switch[{i}].bridge: a linux-bridge switch needs the bridge's name")
        if sw.driver != "linux-bridge" and not sw.host:
            out.append(f"switch[{i}].host: an SNMP switch needs its address")
        numbers = Counter(p.number for p in sw.ports)
        for j, port in enumerate(sw.ports):
            where = f"switch[{i}].ports[{j}]"
            if not 1 <= port.number <= sw.port_count:
                out.append(
                    f"{where}.number: switch {sw.id!r} has no port {port.number} "
                    f"(it has {sw.port_count})"
                )
            if numbers[port.number] > 1:
                roles = sorted({p.role for p in sw.ports if p.number == port.number})
                out.append(
                    f"{where}: port {port.number} of {sw.id!r} is listed "
                    f"{numbers[port.number]} times (roles {', '.join(roles)}); "
                    "a port has one role"
                )
                numbers[port.number] = 1  # report each duplicated port once
            if port.device and port.device not in device_ids:
                out.append(f"{where}.device: no device has id {port.device!r}")
            if port.role in ("server", "storage") and not port.device:
                out.append(
                    f"{where}.device: a {port.role} port must name the device plugged into it"
                )
            uplinks += port.role == "uplink"
    if uplinks > 1:
        out.append(
            f"switch: {uplinks} ports have role 'uplink'; the rack has exactly one "
            "hospital uplink, mark the others 'trunk' or 'unused'"
        )


def _check_controller(c: RackConfig, out: list[str]) -> None:
    address = c.controller.management_address
    if address:
        try:
            ipaddress.ip_interface(address)
        except ValueError:
            out.append(
                f"controller.management_address: {address!r} is not an address with "
                'its prefix length, like "192.0.2.10/24"'
            )
        if "/" not in address:
            out.append(
                f"controller.management_address: {address!r} needs its prefix "
                'length, like "192.0.2.10/24"'
            )
    if c.controller.uplink_interface and c.controller.uplink_interface == (
        c.controller.switch_interface
    ):
        out.append(
            "controller: uplink_interface and switch_interface must be different "
            "interfaces (the hospital side is held down outside the connected phase)"
        )


def _check_groups(c: RackConfig, out: list[str]) -> None:
    powered = {d.id for d in c.server if d.power} | {d.id for d in c.switch if d.power}
    member_of: dict[str, str] = {}
    names = _dupes(g.name for g in c.power_group)
    for name in names:
        out.append(f"power_group: name {name!r} is used twice")
    for i, group in enumerate(c.power_group):
        for j, member in enumerate(group.members):
            if member not in powered:
                why = (
                    "has no outlets (set its `power`)"
                    if member in c.device_ids()
                    else "is not a device id"
                )
                out.append(f"power_group[{i}].members[{j}]: {member!r} {why}")
            elif member in member_of:
                out.append(
                    f"power_group[{i}].members[{j}]: {member!r} is already in group "
                    f"{member_of[member]!r}; a device powers up once"
                )
            member_of.setdefault(member, group.name)
    if c.power_group:
        for missing in sorted(powered - set(member_of)):
            out.append(
                f"power_group: device {missing!r} has outlets but is in no power "
                "group; add it to one so the sequencer powers it"
            )


def _check_thresholds(c: RackConfig, out: list[str]) -> None:
    ids = set(c.device_ids())
    for i, t in enumerate(c.threshold):
        above = t.direction == "above"
        if (above and t.clear_at > t.raise_at) or (not above and t.clear_at < t.raise_at):
            out.append(
                f"threshold[{i}]: clear_at {t.clear_at} is on the wrong side of raise_at "
                f"{t.raise_at} for direction {t.direction!r}; the hysteresis band must "
                "lie between the clear and raise levels"
            )
        for dev in t.devices:
            if dev not in ids:
                out.append(f"threshold[{i}].devices: no device has id {dev!r}")
    h = c.health
    if not h.interval <= h.stale_after <= h.lost_after:
        out.append(
            f"health: interval {h.interval:g}s, stale_after {h.stale_after:g}s and lost_after "
            f"{h.lost_after:g}s must grow in that order; a device is stale only after a "
            "missed poll, and lost only after it was stale"
        )


def _check_mqtt_and_keys(c: RackConfig, out: list[str]) -> None:
    for i, url in enumerate(c.mqtt.urls):
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            out.append(f"mqtt.urls[{i}]: {url!r} is not mqtt://host:port or mqtts://host:port")
    _check_command_bounds(c, out)
    for dup in _dupes(k.id for k in c.key):
        out.append(f"key: id {dup!r} is defined twice")
    holders: dict[bytes, str] = {}
    for i, key in enumerate(c.key):
        try:
            raw = base64.b64decode(key.public_key, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            out.append(
                f"key[{i}].public_key: not the base64 of a 32-byte Ed25519 public key; "
                "paste the output of `cleanroom keys show`"
            )
        elif (other := holders.setdefault(raw, key.id)) != key.id:
            # By the key, not its id: one person under two ids could approve their own
            # dangerous command.
            out.append(
                f"key[{i}].public_key: ids {other!r} and {key.id!r} have the same public "
                "key, so one person would count as two for the two-person rule; give each "
                "holder their own key pair and list it once"
            )


def _check_command_bounds(c: RackConfig, out: list[str]) -> None:
    # The numeric bounds (above 0, at most a day) are in agent/conf/ranges.py.
    m = c.mqtt
    base = f"{m.prefix}/{c.rack.site}/{c.rack.id}".split("/")
    reply = (m.reply_prefix or f"{m.prefix}/ars").split("/")
    if any(not level or any(ch in level for ch in "+#\x00") for level in reply):
        out.append(
            f"mqtt.reply_prefix: {m.reply_prefix!r} has an empty level or a wildcard; "
            "give topic levels such as 'cleanroom/v1/ars'"
        )
    shorter = min(len(base), len(reply))
    if base[:shorter] == reply[:shorter]:
        out.append(
            f"mqtt.reply_prefix: {'/'.join(reply)!r} overlaps the rack's own topics "
            f"{'/'.join(base)!r}; replies could land on its status or events; choose a "
            "separate tree such as '{prefix}/ars'"
        )


def _check_runbook(c: RackConfig, out: list[str]) -> None:
    steps = c.runbook.step
    ids = {s.id for s in steps}
    apps = {a.id for a in c.application}
    for dup in _dupes(s.id for s in steps):
        out.append(f"runbook.step: id {dup!r} is used twice")
    for dup in _dupes(a.id for a in c.application):
        out.append(f"application: id {dup!r} is used twice")
    for i, step in enumerate(steps):
        where = f"runbook.step[{i}]"
        for need in step.needs:
            if need not in ids:
                close = ", ".join(sorted(ids)[:8])
                out.append(f"{where}.needs: {need!r} is not a step id (steps: {close}...)")
        if step.app and step.app not in apps:
            out.append(f"{where}.app: no application has id {step.app!r}")
        out.extend(f"{where}.args{p}" for p in _check_step_args(c, step))
    cycle = find_cycle(steps)
    if cycle:
        out.append(
            f"runbook.step: the needs form a cycle: {' -> '.join(cycle)}; a step "
            "cannot wait for itself"
        )


def _check_step_args(c: RackConfig, step: Step) -> list[str]:
    args_type = STEP_ARGS[step.kind]
    try:
        args = parse_args(step.args, args_type)
    except msgspec.ValidationError as exc:
        text = str(exc)
        msg, _, path = text.partition(" - at `$")
        return [f"{path.rstrip('`')}: {msg} (step kind {step.kind!r})"]
    return [f".{p}" for p in out_of_range(args, "")] + args.check(c)


def find_cycle(steps: list[Step]) -> list[str]:
    """The first cycle in the ``needs`` graph, as a closed list of ids, or []."""
    needs = {s.id: list(s.needs) for s in steps}
    state: dict[str, int] = {}  # 1 visiting, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in needs.get(node, []):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt in needs and state.get(nxt) is None:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return []

    for step_id in needs:
        if state.get(step_id) is None:
            found = visit(step_id)
            if found:
                return found
    return []
