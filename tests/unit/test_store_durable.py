"""A non-durable transaction commits without an fsync and leaves the store durable."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import StoreError
from agent.store import Store

FULL = 2


async def test_a_non_durable_transaction_restores_full_sync(tmp_path: Path) -> None:
    async with Store(tmp_path / "s.db") as store:
        await store.transaction(
            lambda c: c.execute("INSERT INTO meta(key, value) VALUES ('a', '1')"), durable=False
        )
        assert await store.get_meta("a") == "1"
        assert await store.call(lambda c: c.execute("PRAGMA synchronous").fetchone()[0]) == FULL

        def fail(c: object) -> None:
            raise StoreError("boom")

        with pytest.raises(StoreError, match="boom"):
            await store.transaction(fail, durable=False)
        assert await store.call(lambda c: c.execute("PRAGMA synchronous").fetchone()[0]) == FULL
    async with Store(tmp_path / "s.db") as store:
        assert await store.get_meta("a") == "1"
