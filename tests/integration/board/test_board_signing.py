"""The browser's signing (agent/board/static/sign.js, WebCrypto Ed25519 in Chromium) is
byte-identical to agent/report/envelope.py on fixed keys and vectors: the same signed
bytes, the same digests, the same signatures (Ed25519 is deterministic)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from agent.adapters.mqtt import BrokerSettings
from agent.board.service import BoardService, BoardSettings
from agent.report.envelope import (
    approval_bytes,
    command_bytes,
    command_digest,
    sign_approval,
    sign_command,
)
from tests.integration.board.browser import DEMO_KEYS, chromium, require_browser
from tests.integration.report.broker import Mosquitto, require_broker

VECTORS: list[dict[str, Any]] = [
    {"verb": "status.get", "args": {}, "rack": "rack-1"},
    {"verb": "network.connect", "args": {}, "rack": "chu-nord/baie 2"},
    {
        "verb": "runbook.skip",
        "args": {"step": "restore-lab", "reason": 'réseau coupé "ici" \\ à 10 h\n\t\b\f\x01\x1f'},
        "rack": "r",
    },
    {
        "verb": "power.on",
        "args": {
            "z": [1, -2, 0, 9007199254740991, True, False, None],
            "é": {"b": "😀", "a": "\ue000", "😀": "astral key sorts after U+E000"},
            "A": "\u2028\u2029\x7f",
            "": "empty key",
        },
        "rack": "rack-émoji-😀",
    },
]


def _private(seed: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes((seed + i) % 256 for i in range(32)))


def _pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()


SIGN_JS = """async ([pem, name, vector, issued, nonce, approverPem, approvedAt]) => {
  const m = await import('/static/sign.js');
  const signer = await m.importKeyFile(name, pem);
  const env = await m.signCommand(signer, {verb: vector.verb, args: vector.args, rack: vector.rack,
    issuedAt: issued, expiresAt: issued + 300, nonce});
  const approver = await m.importKeyFile('approver.pem', approverPem);
  const digest = await m.commandDigest(env);
  const approval = await m.signApproval(approver, digest, approvedAt);
  return {env, digest, approval, bytes: Array.from(m.commandBytes(env)),
          approvalBytes: Array.from(m.approvalBytes(approval))};
}"""


async def test_browser_signatures_match_python(tmp_path: Path) -> None:
    require_broker()
    require_browser()
    async with Mosquitto() as broker:
        settings = BoardSettings(
            broker=BrokerSettings(urls=(broker.url,), client_id="board-sign-test"), port=0
        )
        async with BoardService(settings) as board, chromium() as browser:
            page = await browser.new_page()
            await page.goto(board.url)
            for index, vector in enumerate(VECTORS):
                key, approver = _private(index), _private(100 + index)
                issued, nonce = 1_700_000_000 + index, f"nonce-{index}"
                got = await page.evaluate(
                    SIGN_JS,
                    [
                        _pem(key),
                        f"key-{index}.pem",
                        vector,
                        issued,
                        nonce,
                        _pem(approver),
                        issued + 5,
                    ],
                )
                want = sign_command(
                    key,
                    key_id=f"key-{index}",
                    verb=vector["verb"],
                    args=vector["args"],
                    rack=vector["rack"],
                    issued_at=issued,
                    expires_at=issued + 300,
                    nonce=nonce,
                )
                assert bytes(got["bytes"]) == command_bytes(want), vector
                assert got["env"]["sig"] == want.sig, vector
                assert got["digest"] == command_digest(want)
                want_approval = sign_approval(
                    approver, key_id="approver", command=want, issued_at=issued + 5
                )
                assert bytes(got["approvalBytes"]) == approval_bytes(want_approval)
                assert got["approval"]["sig"] == want_approval.sig

            # The demo's PKCS#8 PEM key files load, and sign as Python does.
            pem_path = DEMO_KEYS / "ars-admin-1.pem"
            demo_key = load_pem_private_key(pem_path.read_bytes(), None)
            assert isinstance(demo_key, Ed25519PrivateKey)
            got = await page.evaluate(
                SIGN_JS,
                [pem_path.read_text(), "ars-admin-1.pem", VECTORS[1], 1, "n", _pem(_private(7)), 2],
            )
            assert got["env"]["key_id"] == "ars-admin-1"
            want = sign_command(
                demo_key,
                key_id="ars-admin-1",
                verb="network.connect",
                args={},
                rack=VECTORS[1]["rack"],
                issued_at=1,
                expires_at=301,
                nonce="n",
            )
            assert got["env"]["sig"] == want.sig
            assert base64.b64decode(got["env"]["sig"])

            # What cannot be signed canonically is refused with the place named.
            error = await page.evaluate(
                """async () => { const m = await import('/static/sign.js');
                  try { m.canonical({a: {b: 1.5}}); return 'signed'; }
                  catch (e) { return e.message; } }"""
            )
            assert error.startswith("args.a.b: 1.5 is not an integer")


VECTORS_DIR = Path(__file__).resolve().parents[3] / "docs" / "vectors"

VECTORS_JS = """async ([commands, canonical]) => {
  const m = await import('/static/sign.js');
  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  const out = {canonical: {}, cases: {}};
  for (const c of canonical.cases) {
    try { out.canonical[c.name] = hex(new TextEncoder().encode(m.canonical(JSON.parse(c.json)))); }
    catch (e) { out.canonical[c.name] = 'refused: ' + e.message; }
  }
  const keys = Object.fromEntries(commands.keys.map((k) => [k.id, k]));
  for (const c of commands.cases) {
    if (!c.signed_bytes_hex) continue;
    const env = JSON.parse(c.payload);
    const got = {bytes: hex(m.commandBytes(env)), digest: await m.commandDigest(env),
                 approvals: env.approvals.map((a) => hex(m.approvalBytes(a)))};
    const key = keys[env.key_id];
    if (key) {
      const signer = await m.importKeyFile(key.id + '.pem', key.private_pem);
      const signed = await m.signCommand(signer, {verb: env.verb, args: env.args, rack: env.rack,
        issuedAt: env.issued_at, expiresAt: env.expires_at, nonce: env.nonce});
      got.sig = signed.sig;
      got.approvalSigs = [];
      for (const a of env.approvals) {
        const approver = keys[a.key_id];
        if (!approver) continue;
        const s = await m.importKeyFile(approver.id + '.pem', approver.private_pem);
        got.approvalSigs.push((await m.signApproval(s, a.command_digest, a.issued_at)).sig);
      }
    }
    out.cases[c.name] = got;
  }
  return out;
}"""


async def test_browser_signing_runs_the_protocol_vectors() -> None:
    """docs/vectors/ through sign.js: the canonical bytes (or the refusal), each
    envelope's signed bytes, digest and approval bytes, and, re-signed in the browser
    with the vector's PKCS#8 key, the signature of every accepted case."""
    require_broker()
    require_browser()
    commands = json.loads((VECTORS_DIR / "commands.json").read_text(encoding="utf-8"))
    canonical = json.loads((VECTORS_DIR / "canonical.json").read_text(encoding="utf-8"))
    async with Mosquitto() as broker:
        settings = BoardSettings(
            broker=BrokerSettings(urls=(broker.url,), client_id="board-vectors-test"), port=0
        )
        async with BoardService(settings) as board, chromium() as browser:
            page = await browser.new_page()
            await page.goto(board.url)
            got = await page.evaluate(VECTORS_JS, [commands, canonical])
    for case in canonical["cases"]:
        if case.get("refused"):
            assert got["canonical"][case["name"]].startswith("refused: "), case
        else:
            assert got["canonical"][case["name"]] == case["canonical_hex"], case
    checked = 0
    for case in commands["cases"]:
        if "signed_bytes_hex" not in case:
            continue
        mine = got["cases"][case["name"]]
        assert mine["bytes"] == case["signed_bytes_hex"], case["name"]
        assert mine["digest"] == case["command_digest"], case["name"]
        assert mine["approvals"] == case["approval_bytes_hex"], case["name"]
        if case["expect"]["verdict"] == "accepted":
            env = json.loads(case["payload"])
            assert mine["sig"] == env["sig"], case["name"]
            assert mine["approvalSigs"] == [a["sig"] for a in env["approvals"]], case["name"]
            checked += 1
    assert checked >= 5
