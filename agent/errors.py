"""The agent's exception family.

Every error says whose fault it is (the docstring of its class) and its message names the
place, the value and the fix. Callers never see a library's exception type: adapters
translate them into one of these with ``raise ... from exc``.
"""

from __future__ import annotations


class AgentError(Exception):
    """Base of every error the agent raises on purpose."""


class ConfigError(AgentError):
    """The operator's fault: the rack configuration is wrong.

    Holds every problem found, not only the first, each naming the file, the TOML path
    and the fix.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class DeviceError(AgentError):
    """A device's fault: it did not answer, or answered something we cannot use."""

    def __init__(self, device: str, message: str) -> None:
        self.device = device
        super().__init__(f"{device}: {message}")


class DeviceUnreachable(DeviceError):
    """The device (or the network to it) did not answer in time. Usually transient."""


class NegativeReply(DeviceError):
    """The device answered with an error (SNMP error-status, HTTP error, IPMI completion
    code). Its fault or a refused write; retrying rarely helps."""

    def __init__(self, device: str, message: str, *, status: str = "", oid: str = "") -> None:
        self.status = status
        self.oid = oid
        super().__init__(device, message)


class TableUnreadable(NegativeReply):
    """The device answered reads of one table (``oid``, the walked subtree) with an
    error-status (genErr, noAccess...): that table is unreadable, the device and its
    other tables may be fine. Callers report it per table instead of giving up."""

    @property
    def table(self) -> str:
        return self.oid


class ProtocolError(DeviceError):
    """The device answered garbage: a malformed reply or a value of the wrong type."""


class VerifyError(DeviceError):
    """An action was sent but reading the device back shows the wrong state."""


class PolicyRefusal(AgentError):
    """Nobody's bug: a policy (budget, protected outlet, invariant, guard) refused an
    action, and says which rule and how to proceed."""


class StoreError(AgentError):
    """The controller's fault: the local SQLite store is unusable (disk full, corrupt)."""


class CommandRefused(AgentError):
    """The sender's fault: a remote command was refused (bad signature, expired,
    replayed, wrong role, wrong rack). The reason is sent back and audited."""

    def __init__(self, reason: str, detail: str, *, signer: str | None = None) -> None:
        self.reason = reason
        self.detail = detail
        # The key id whose signature verified before the refusal, or None when the
        # command was refused before (or at) the signature check: then who sent it is
        # unknown, whatever key id it claims.
        self.signer = signer
        super().__init__(f"{reason}: {detail}")


class EnvironmentMissing(AgentError):
    """The host's fault: a binary, a kernel feature or a privilege the agent needs is
    missing. The message says which package or capability provides it."""
