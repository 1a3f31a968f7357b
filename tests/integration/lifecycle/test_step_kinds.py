"""The step kinds the demo runbook does not use, each against a real peer: `wait_http`
against an HTTP server on loopback, `power` against the simulated rack through the
power part, and `prompt` answered the way the console and signed commands answer it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agent.bus import Bus
from agent.conf import load_config
from agent.conf.schema import Step
from agent.errors import AgentError
from agent.lifecycle.steps.context import StepContext
from agent.lifecycle.steps.control import Power, Prompt
from agent.lifecycle.steps.waits import WaitHttp
from agent.sim.compose import SimRack
from tests.integration.power.demo_rack import fast_demo_path, manager, quicken


class Service:
    """An HTTP service that comes up in stages: ``answers`` is what GET /health returns
    next, one (status, body) per request, the last one repeated."""

    def __init__(self, answers: list[tuple[int, str]]) -> None:
        self.answers = answers
        self.requests = 0
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = service.answers[min(service.requests, len(service.answers) - 1)]
                service.requests += 1
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/health"

    def __enter__(self) -> Service:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def starting_service() -> Iterator[Service]:
    answers = [(503, "down"), (503, "down"), (200, "starting"), (200, "status: ready")]
    with Service(answers) as service:
        yield service


def step(kind: str, **args: object) -> Step:
    return Step(id=f"s-{kind}", kind=kind, args=dict(args))  # type: ignore[arg-type]


async def test_wait_http_waits_for_the_status_and_the_text(starting_service: Service) -> None:
    wait = WaitHttp()
    s = step("wait_http", url=starting_service.url, status=200, contains="ready", interval="50ms")
    assert not await wait.check(s)  # 503: not yet
    async with asyncio.timeout(10):
        outcome = await wait.run(s)
    assert outcome == f"{starting_service.url} answers 200"
    assert starting_service.requests == 4  # 503 (check), 503, 200 without "ready", 200
    assert await wait.check(s)  # a resumed step whose service answers is done at once


async def test_wait_http_on_a_dead_url_is_ended_by_the_step_timeout() -> None:
    with Service([(200, "")]) as service:
        url = service.url
    wait = WaitHttp()  # the server is gone: connection refused at every probe
    s = step("wait_http", url=url, interval="50ms")
    assert not await wait.check(s)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.5):  # the engine's per-step timeout scope
            await wait.run(s)


async def test_a_power_step_switches_a_server_through_the_power_part(tmp_path: Path) -> None:
    config = load_config(fast_demo_path(tmp_path, inrush="50ms", settle="100ms"))
    async with SimRack(config) as rack:
        quicken(rack)
        async with manager(config, Bus()) as power:
            ctx = StepContext(config=config, state_dir=tmp_path, power=power)
            on, off = step("power", target="hv-1"), step("power", target="hv-1", state="off")
            assert not await Power(ctx).check(on)
            outcome = await Power(ctx).run(on)
            assert outcome.startswith("hv-1: ")
            assert rack.host_on("hv-1")
            assert await Power(ctx).check(on)
            await Power(ctx).run(off)  # auto: a graceful shutdown through its BMC
            assert not rack.host_on("hv-1")
            assert await Power(ctx).check(off)


async def test_a_power_step_without_a_power_part_says_so(tmp_path: Path) -> None:
    config = load_config(fast_demo_path(tmp_path))
    ctx = StepContext(config=config, state_dir=tmp_path)
    with pytest.raises(AgentError, match="no power control in this run"):
        await Power(ctx).run(step("power", target="hv-1"))


async def test_a_prompt_waits_for_its_acknowledgement(tmp_path: Path) -> None:
    config = load_config(fast_demo_path(tmp_path))
    ctx = StepContext(config=config, state_dir=tmp_path)
    prompt = Prompt(ctx)
    s = step("prompt", message="Check the hospital's DNS answers from the clean VLAN")
    assert not await prompt.check(s)
    waiting = asyncio.create_task(prompt.run(s))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    assert ctx.prompts.pending == {s.id: "Check the hospital's DNS answers from the clean VLAN"}
    assert not ctx.prompts.acknowledge("s-other", "local:alice")  # nothing asks that
    assert ctx.prompts.acknowledge(s.id, "local:alice")
    async with asyncio.timeout(2):
        assert await waiting == "acknowledged by local:alice"
    assert await prompt.check(s)  # resumed after a crash: done, not asked again
    assert await prompt.run(s) == "acknowledged by local:alice"
