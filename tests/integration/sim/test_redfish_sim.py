"""The Redfish BMC simulator on the wire: raw HTTP/1.1 over a real loopback socket.

Raw streams rather than the agent's adapter, so the simulator's resource shapes and HTTP
framing are checked independently of the client that will use them.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

from agent.sim.redfish import RedfishBmcSim

AUTH = "Basic " + base64.b64encode(b"admin:password").decode()


class Conn:
    """One persistent HTTP/1.1 connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def request(
        self, method: str, path: str, body: Any = None, auth: str | None = AUTH
    ) -> tuple[int, dict[str, str], bytes]:
        payload = b"" if body is None else json.dumps(body).encode()
        head = f"{method} {path} HTTP/1.1\r\nHost: bmc\r\nContent-Length: {len(payload)}\r\n"
        if auth:
            head += f"Authorization: {auth}\r\n"
        self.writer.write(head.encode() + b"\r\n" + payload)
        await self.writer.drain()
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        data = await self.reader.readexactly(int(headers["content-length"]))
        return status, headers, data


async def connect(sim: RedfishBmcSim) -> Conn:
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    return Conn(reader, writer)


async def test_every_resource_carries_its_odata_id() -> None:
    async with RedfishBmcSim() as sim:
        conn = await connect(sim)
        status, headers, body = await conn.request("GET", "/redfish/v1/", auth=None)
        assert status == 200
        assert headers["content-type"].startswith("application/json")
        root = json.loads(body)
        to_visit = [
            root["Systems"]["@odata.id"],
            root["Chassis"]["@odata.id"],
            root["Managers"]["@odata.id"],
        ]
        seen: dict[str, dict[str, Any]] = {}
        while to_visit:
            path = to_visit.pop()
            if path in seen:
                continue
            status, _, body = await conn.request("GET", path)  # same connection: keep-alive
            assert status == 200, path
            doc = json.loads(body)
            assert doc["@odata.id"] == path
            assert doc["@odata.type"].startswith("#")
            seen[path] = doc
            to_visit += [m["@odata.id"] for m in doc.get("Members", [])]
            for key in ("Thermal", "Power"):
                if key in doc:
                    to_visit.append(doc[key]["@odata.id"])
        system = seen["/redfish/v1/Systems/1"]
        assert system["PowerState"] == "Off"
        assert {"Model", "SerialNumber", "BiosVersion", "Status"} <= system.keys()
        reset = system["Actions"]["#ComputerSystem.Reset"]
        assert reset["ResetType@Redfish.AllowableValues"] == [
            "On",
            "ForceOff",
            "GracefulShutdown",
            "ForceRestart",
            "GracefulRestart",
        ]
        assert seen["/redfish/v1/Managers/BMC"]["FirmwareVersion"] == sim.identity.firmware_version
        thermal = seen["/redfish/v1/Chassis/1/Thermal"]
        assert [t["Name"] for t in thermal["Temperatures"]][:2] == ["Inlet Temp", "CPU1 Temp"]
        assert len(thermal["Fans"]) == 2
        power = seen["/redfish/v1/Chassis/1/Power"]
        assert power["PowerControl"][0]["PowerConsumedWatts"] == sim.standby_draw_w
        conn.writer.close()


async def test_authentication_and_errors() -> None:
    async with RedfishBmcSim() as sim:
        conn = await connect(sim)
        wrong = "Basic " + base64.b64encode(b"admin:guess").decode()
        status, headers, body = await conn.request("GET", "/redfish/v1/Systems/1", auth=wrong)
        assert status == 401
        assert headers["www-authenticate"].startswith("Basic")
        assert "error" in json.loads(body)
        status, _, _ = await conn.request("GET", "/redfish/v1/Systems/1", auth=None)
        assert status == 401
        status, _, body = await conn.request("GET", "/redfish/v1/Systems/2")
        assert status == 404
        assert json.loads(body)["error"]["code"].endswith("ResourceMissingAtURI")
        status, _, _ = await conn.request("DELETE", "/redfish/v1/Systems/1")
        assert status == 405
        target = "/redfish/v1/Systems/1/Actions/ComputerSystem.Reset"
        status, _, body = await conn.request("POST", target, {"ResetType": "PowerCycle"})
        assert status == 400
        message = json.loads(body)["error"]["@Message.ExtendedInfo"][0]["Message"]
        assert "PowerCycle" in message
        assert sim.resets == []
        conn.writer.close()


async def test_reset_actions_and_power_draw() -> None:
    async with RedfishBmcSim(graceful_shutdown_s=0.05) as sim:
        conn = await connect(sim)
        target = "/redfish/v1/Systems/1/Actions/ComputerSystem.Reset"
        status, _, _ = await conn.request("POST", target, {"ResetType": "On"})
        assert status == 204
        assert sim.is_host_on()
        assert sim.power_draw_w() == sim.running_draw_w
        status, _, body = await conn.request("GET", "/redfish/v1/Systems/1")
        assert json.loads(body)["PowerState"] == "On"
        await conn.request("POST", target, {"ResetType": "GracefulShutdown"})
        assert sim.is_host_on()  # the OS takes graceful_shutdown_s to go down
        async with asyncio.timeout(5.0):
            while sim.is_host_on():
                await asyncio.sleep(0.01)
        assert sim.power_draw_w() == sim.standby_draw_w
        assert [r.reset_type for r in sim.resets] == ["On", "GracefulShutdown"]
        conn.writer.close()


async def test_outlet_loss_drops_connections_and_boot_restores_the_port() -> None:
    powered = True
    async with RedfishBmcSim(outlet_powered=lambda: powered, boot_delay_s=0.05) as sim:
        conn = await connect(sim)
        assert (await conn.request("GET", "/redfish/v1/"))[0] == 200
        port = sim.port
        powered = False
        async with asyncio.timeout(5.0):
            await sim.wait_answering(False)
        assert await conn.reader.read() == b""  # the open connection was dropped
        try:
            await asyncio.open_connection("127.0.0.1", port)
        except ConnectionRefusedError:
            pass
        else:
            raise AssertionError("a BMC without power accepted a connection")
        assert sim.power_draw_w() == 0.0
        powered = True
        async with asyncio.timeout(5.0):
            await sim.wait_answering(True)
        assert sim.port == port
        conn = await connect(sim)
        assert (await conn.request("GET", "/redfish/v1/"))[0] == 200
        conn.writer.close()


async def test_injected_faults() -> None:
    async with RedfishBmcSim() as sim:
        conn = await connect(sim)
        sim.inject_malformed()
        status, _, body = await conn.request("GET", "/redfish/v1/Systems/1")
        assert status == 200
        try:
            json.loads(body)
        except json.JSONDecodeError:
            pass
        else:
            raise AssertionError(f"the injected reply parsed as JSON: {body!r}")
        sim.inject_http_error(503)
        assert (await conn.request("GET", "/redfish/v1/Systems/1"))[0] == 503
        sim.set_temperature("CPU1 Temp", 99.0)
        await conn.request(
            "POST", "/redfish/v1/Systems/1/Actions/ComputerSystem.Reset", {"ResetType": "On"}
        )
        _, _, body = await conn.request("GET", "/redfish/v1/Chassis/1/Thermal")
        cpu = json.loads(body)["Temperatures"][1]
        assert cpu["ReadingCelsius"] == 99.0
        assert cpu["Status"]["Health"] == "Critical"
        _, _, body = await conn.request("GET", "/redfish/v1/Systems/1")
        assert json.loads(body)["Status"]["Health"] == "Critical"
        conn.writer.close()
