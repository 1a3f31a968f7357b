"""The power budget: per PDU inlet and per UPS, nominal draws plus measured surplus,
refused before anything is switched, with a message that names everything."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.conf import load_config
from agent.errors import PolicyRefusal
from agent.power.budget import DeviceLoad, PowerBudget

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "config" / "demo-rack.toml"


def rack(pdu_w: float = 1000.0, ups_w: float = 10_000.0) -> PowerBudget:
    return PowerBudget(
        {"pdu-a": pdu_w, "pdu-b": pdu_w},
        {"ups-1": ups_w},
        [
            DeviceLoad("sw", 100.0, ("pdu-a", "pdu-b"), ("ups-1",)),
            DeviceLoad("big", 600.0, ("pdu-a", "pdu-b"), ("ups-1",)),
            DeviceLoad("mid", 300.0, ("pdu-a",), ("ups-1",)),
            DeviceLoad("solo-b", 500.0, ("pdu-b",), ()),
        ],
    )


def test_a_dual_corded_device_counts_its_full_draw_on_each_pdu() -> None:
    budget = rack()
    budget.mark_on("big")
    assert budget.nominal("pdu", "pdu-a") == 600.0
    assert budget.nominal("pdu", "pdu-b") == 600.0
    # ...but once on the UPS behind both PDUs.
    assert budget.nominal("ups", "ups-1") == 600.0


def test_refusal_names_group_device_feed_sum_and_budget() -> None:
    budget = rack(pdu_w=1000.0)
    budget.mark_on("big")
    budget.mark_on("sw")
    budget.check("mid", group="g")  # 700 + 300 = 1000: exactly the budget is allowed
    budget.mark_on("mid")
    with pytest.raises(PolicyRefusal) as info:
        budget.check("solo-b", group="hypervisors")  # pdu-b: 700 + 500 > 1000
    text = str(info.value)
    for part in ("'hypervisors'", "'solo-b'", "'pdu-b'", "1200 W", "700 W", "500 W", "1000 W"):
        assert part in text, (part, text)
    assert "nothing was switched" in text


def test_the_ups_budget_is_checked_too() -> None:
    budget = rack(pdu_w=10_000.0, ups_w=650.0)
    budget.mark_on("big")
    with pytest.raises(PolicyRefusal, match="UPS 'ups-1' to 700 W"):
        budget.check("sw", group="network")
    budget.check("solo-b", group="x")  # not behind the UPS


def test_a_device_already_drawing_is_not_counted_twice() -> None:
    budget = rack(pdu_w=700.0)
    budget.mark_on("big")
    budget.mark_on("sw")
    budget.check("big", group="g")  # 100 + 600 = 700: it is re-counted, not added
    budget.mark_off("sw")
    assert budget.nominal("pdu", "pdu-a") == 600.0


def test_measured_surplus_counts_and_measured_overrun_is_refused() -> None:
    budget = rack(pdu_w=1000.0)
    budget.mark_on("big")
    budget.observe("pdu", "pdu-a", 850.0)  # 250 W beyond the nominal 600 W
    budget.check("sw", group="g")  # 600 + 250 + 100 = 950
    with pytest.raises(PolicyRefusal, match=r"250 W measured beyond"):
        budget.check("mid", group="g")  # 600 + 250 + 300 = 1150
    budget.observe("pdu", "pdu-a", None)  # no reading keeps the estimate
    assert budget.feeds()[0].unaccounted_w == 250.0
    budget.observe("pdu", "pdu-a", 300.0)  # less than nominal: no surplus, never negative
    assert budget.feeds()[0].unaccounted_w == 0.0
    budget.check_measured("pdu", "pdu-a", 1000.0, after="big", group="g")
    budget.check_measured("pdu", "pdu-a", None, after="big", group="g")
    with pytest.raises(PolicyRefusal, match=r"measures 1001 W after device 'big'"):
        budget.check_measured("pdu", "pdu-a", 1001.0, after="big", group="g")


def test_project_refuses_a_group_at_its_first_member_that_does_not_fit() -> None:
    budget = rack(pdu_w=900.0)
    budget.project("compute", ["sw", "big"])  # 700 W on each PDU
    with pytest.raises(PolicyRefusal, match=r"group 'compute', device 'mid'.*'pdu-a'.*1000 W"):
        budget.project("compute", ["sw", "big", "mid"])  # pdu-a: 700 + 300 > 900
    assert budget.drawing == set(), "a projection changes nothing"


def test_unknown_device_is_refused() -> None:
    with pytest.raises(PolicyRefusal, match="no outlets"):
        rack().check("ghost", group="g")


def test_from_config_reads_budgets_feeds_and_nominal_draws() -> None:
    config = load_config(DEMO)
    budget = PowerBudget.from_config(config)
    assert budget.pdu_budgets == {"pdu-a": 3680.0, "pdu-b": 3680.0}
    assert budget.ups_budgets == {"ups-1": 6000.0}
    assert budget.devices["hv-1"] == DeviceLoad("hv-1", 450.0, ("pdu-a", "pdu-b"), ("ups-1",))
    assert budget.devices["tor-1"].nominal_w == 150.0
    # The whole demo rack fits its budgets.
    budget.project("all", [d for g in config.power_group for d in g.members])
