"""``cleanroom board``: the ARS's web page over the fleet's MQTT broker.

The server subscribes to every rack's retained status, event stream and telemetry (the
same topics as ``cleanroom watch``), keeps a fleet model in memory, pushes changes to
browsers as server-sent events, and relays commands that browsers signed with WebCrypto
Ed25519. It never holds a private key and never signs anything itself.

Modules: ``model`` (fleet and rack state from MQTT payloads), ``layout`` (what a rack
config adds: port roles, recovery targets, runbook graph), ``timeline`` (restore steps,
applications against their targets, critical path), ``commands`` (proposals, approvals,
replies), ``hub`` (coalesced pushes to browsers), ``relay`` (the broker side),
``server`` (HTTP, the only module importing aiohttp), ``service`` (composition),
``loadgen`` (synthetic fleet traffic for the benchmark).
"""
