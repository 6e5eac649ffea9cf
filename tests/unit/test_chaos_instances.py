"""``make chaos`` with several instances of each service: the figures of a lease's takeover, the line that
reports them, and the names and ports of instances (``make run INSTANCES=2``)."""
from __future__ import annotations

from bench.chaos import Figures, Takeover, owner_pid
from runtime.stack import instance_name, instance_port


def takeover(**over) -> Takeover:
    return Takeover(**{"service": "membership", "lease": "relay", "killed": "membership", "at": 12.0, "ttl": 10.0,
                       **over})


def figures(takeovers: list[Takeover], instances: int = 2) -> Figures:
    return Figures(0, 0, 1.0, 0, 0, len(takeovers), [], False, takeovers=takeovers, instances=instances)


def test_a_takeover_lasts_until_the_lease_is_held_again_and_pending_records_are_published():
    assert takeover(held=0.3, by="membership-2", published=0.8).seconds == 0.8
    assert takeover(held=0.3, by="membership-2").seconds == 0.3  # nothing was pending
    assert takeover(held=0.3, by="membership-2", stuck=True).seconds is None  # pending, never published
    assert takeover().seconds is None  # never held again


def test_a_takeover_is_due_within_its_lease():
    assert takeover(held=0.2, published=9.9).within_ttl
    assert not takeover(held=0.2, published=10.5).within_ttl
    assert not takeover().within_ttl


def test_the_line_before_the_last_reports_the_slowest_relay_takeover():
    line = figures([takeover(held=0.2, published=1.25, by="membership-2"),
                    takeover(lease="deliveries", service="webhooks", held=4.0, ttl=3.0, by="webhooks")]).takeover_line()
    assert line == "instances=2 relay_takeovers=1 relay_takeover_max_s=1.25 lease_takeovers_late=1"
    assert figures([takeover()]).takeover_line().endswith("relay_takeover_max_s=never lease_takeovers_late=1")
    # one instance: the killed holder's own restart takes its lease over; no promise of the lease is broken
    assert figures([takeover(held=25.0, by="membership (restarted)")], instances=1).takeovers_late == 0


def test_lease_owners_name_their_process():
    assert owner_pid("host-1:4242:ab12cd34") == 4242
    assert owner_pid("odd") is None and owner_pid(None) is None


def test_instances_have_their_own_names_and_ports():
    assert [instance_name("events", i) for i in range(3)] == ["events", "events-2", "events-3"]
    assert [instance_port(8002, i) for i in range(3)] == [8002, 8102, 8202]


def test_each_takeover_has_its_line_in_the_report():
    """The deliverer's lease has its line too (it was blank: the relay's condition took the whole line)."""
    assert takeover(lease="deliveries", service="webhooks", killed="webhooks", held=4.0, ttl=3.0,
                    by="webhooks (restarted)").line() == \
        "  webhooks at +12 s held the deliveries lease (3 s): held again after 4.00 s by webhooks (restarted)"
    assert takeover(held=0.3, by="membership-2", published=0.8).line().endswith(
        "held again after 0.30 s by membership-2, first record published after 0.80 s")
    assert takeover(held=0.3, by="membership-2").line().endswith(", nothing was pending")
    assert takeover(stuck=True).line().endswith("— never (within the bound), records pending and none published")
