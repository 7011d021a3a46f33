"""Request weight per IP per clock minute (spec §5.5, §7.1), on an injected clock."""

from __future__ import annotations

from tickerplant.protocol.request_weight import RequestWeight, client_key

T0 = 1_767_225_600_000  # a whole UTC minute
MINUTE = 60_000


def test_weight_is_counted_per_ip_per_clock_minute() -> None:
    weight = RequestWeight(10)
    assert weight.charge("a", 4, T0 + 59_000).used == 4
    assert weight.charge("b", 4, T0 + 59_000).used == 4
    assert weight.charge("a", 4, T0 + 59_999).used == 8
    assert weight.charge("a", 4, T0 + 60_000).used == 4  # a new minute, not a sliding 60 s
    assert weight.used("a", T0 + 60_001) == 4


def test_over_the_limit_is_429_until_the_minute_ends_then_418_for_those_who_keep_going() -> None:
    weight = RequestWeight(10, ban_after_refusals=2, first_ban_ms=120_000)
    assert weight.charge("a", 10, T0).status == 200
    refused = weight.charge("a", 1, T0 + 20_000)
    assert (refused.status, refused.used, refused.retry_after_ms) == (429, 11, 40_000)
    assert weight.charge("a", 1, T0 + 20_001).status == 429
    banned = weight.charge("a", 1, T0 + 20_002)
    assert banned.status == 418 and banned.banned_until_ms == T0 + 20_002 + 120_000
    assert weight.charge("a", 1, T0 + 100_000).status == 418  # the next minute too
    assert weight.charge("b", 1, T0 + 100_000).status == 200  # other IPs are not affected
    assert weight.charge("a", 1, T0 + 140_002).status == 200  # the ban is over


def test_a_repeat_offender_is_banned_longer() -> None:
    weight = RequestWeight(1, ban_after_refusals=0, first_ban_ms=1000, max_ban_ms=3000)
    now = T0
    bans = []
    for _ in range(4):
        weight.charge("a", 1, now)
        verdict = weight.charge("a", 1, now)
        assert verdict.status == 418
        bans.append(verdict.retry_after_ms)
        now = verdict.banned_until_ms + 60_000
    assert bans == [1000, 2000, 3000, 3000]


def test_memory_is_bounded_by_forgetting_idle_ips() -> None:
    weight = RequestWeight(10, max_ips=100)
    for i in range(1000):
        weight.charge(f"10.0.{i // 256}.{i % 256}", 1, T0 + i * 60_000)
    assert weight.tracked_ips() <= 100


def test_the_ip_table_stays_within_its_bound_when_every_ip_is_active_and_forgets_the_least_recent() -> None:
    """Issue found under attack: with the table full of IPs active in this minute, each new
    IP scanned the whole table and the table grew past its bound."""
    weight = RequestWeight(10, max_ips=4)
    for ip in ("a", "b", "c", "d"):
        weight.charge(ip, 5, T0)
    weight.charge("a", 1, T0)  # "a" is now the most recently charged
    weight.charge("e", 1, T0)  # full: "b", charged least recently, is forgotten
    assert weight.tracked_ips() == 4 and weight.forgotten == 1
    assert [weight.used(ip, T0) for ip in "abcde"] == [6, 0, 5, 5, 1]
    for i in range(1000):
        weight.charge(f"10.0.{i // 256}.{i % 256}", 1, T0)
    assert weight.tracked_ips() == 4 and weight.forgotten == 1001


def _ban(weight: RequestWeight, ip: str, now: int) -> None:
    """Past the limit, then on until the ban (429s first, then 418)."""
    while weight.charge(ip, 10, now).status != 418:
        pass


def test_a_ban_is_not_forgotten_however_many_other_addresses_come() -> None:
    """The probe's attack: 3 × 429 then 418, then 70,000 requests from other addresses; the
    bounded table had evicted the banned IP. Limited IPs are held apart, never evicted."""
    weight = RequestWeight(10, max_ips=8)
    _ban(weight, "1.2.3.4", T0)
    for i in range(70_000):
        weight.charge(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", 1, T0 + 1000)
    assert weight.tracked_ips() <= 8
    verdict = weight.charge("1.2.3.4", 1, T0 + 2000)
    assert verdict.status == 418
    # and an IP over its budget stays over it until its window ends
    weight.charge("5.6.7.8", 11, T0)  # 429
    for i in range(100):
        weight.charge(f"11.0.0.{i}", 1, T0 + 1)
    assert weight.charge("5.6.7.8", 1, T0 + 2).status in (429, 418)


def test_when_every_place_is_held_by_a_limited_ip_new_addresses_are_refused_until_one_is_released() -> None:
    weight = RequestWeight(10, max_ips=3, first_ban_ms=2 * MINUTE)
    for ip in ("a", "b", "c"):
        weight.charge(ip, 11, T0)  # each over its budget: 429
    assert weight.charge("d", 1, T0 + 10).status == 429  # no place for it
    assert weight.tracked_ips() == 3
    # the window ends: the limited are released, and a new address has a place again
    assert weight.charge("d", 1, T0 + MINUTE).status == 200
    assert weight.used("d", T0 + MINUTE) == 1


def test_ipv6_counts_per_64_block_and_a_mapped_ipv4_as_itself() -> None:
    weight = RequestWeight(10)
    weight.charge("2001:db8::1", 4, T0)
    weight.charge("2001:db8::ffff:2", 4, T0)  # the same /64
    assert weight.charge("2001:db8::3", 4, T0).status == 429
    assert weight.charge("2001:db8:0:1::1", 4, T0).status == 200  # the next /64
    weight.charge("10.0.0.1", 6, T0)
    assert weight.charge("::ffff:10.0.0.1", 6, T0).status == 429
    assert weight.used("2001:db8::abcd", T0) == 12


def test_a_client_is_its_ipv4_address_or_its_ipv6_slash_64() -> None:
    assert client_key("192.0.2.7") == "192.0.2.7"
    assert client_key("2001:db8::1") == client_key("2001:db8::ffff:1") == "2001:db8::/64"
    assert client_key("::ffff:192.0.2.7") == "192.0.2.7"  # an IPv4 address, mapped


def test_a_table_started_later_adopts_the_bans_and_the_minute_of_another() -> None:
    """A gateway restarted beside another takes in the other's table (``standings``,
    ``adopt``): an IP banned there is banned here until the same time, one refused this
    minute is refused, one charged this minute goes on from its weight, and one charged in
    an earlier minute is not handed over."""
    first = RequestWeight(10, ban_after_refusals=1, first_ban_ms=120_000)
    first.charge("old", 5, T0 - MINUTE)  # last minute's: counts for nothing now
    first.charge("busy", 7, T0 + 1_000)
    first.charge("refused", 10, T0 + 1_000)
    assert first.charge("refused", 1, T0 + 2_000).status == 429
    for _ in range(3):
        banned = first.charge("banned", 6, T0 + 3_000)
    assert banned.status == 418
    standings = first.standings(T0 + 4_000, most=100)
    assert [s.ip for s in standings] == ["banned", "refused", "busy"]  # limited first

    later = RequestWeight(10, ban_after_refusals=1, first_ban_ms=120_000)
    later.charge("busy", 2, T0 + 3_500)  # heard by both before the table came: not twice
    later.adopt(standings, T0 + 4_000)
    again = later.charge("banned", 1, T0 + 5_000)
    assert (again.status, again.banned_until_ms) == (418, banned.banned_until_ms)
    assert later.charge("refused", 1, T0 + 5_000).status == 418  # its second refusal this minute
    assert later.charge("busy", 1, T0 + 5_000).used == 8
    assert later.used("old", T0 + 5_000) == 0
    assert later.charge("banned", 1, banned.banned_until_ms + MINUTE).status == 200  # the ban ends here too


def test_the_standings_handed_over_are_bounded_and_keep_every_ban_first() -> None:
    weight = RequestWeight(1, ban_after_refusals=0, first_ban_ms=120_000)
    for n in range(50):
        weight.charge(f"good{n}", 1, T0)
    for n in range(3):
        weight.charge(f"bad{n}", 2, T0)
        weight.charge(f"bad{n}", 1, T0)
    standings = weight.standings(T0, most=10)
    assert len(standings) == 10 and {s.ip for s in standings[:3]} == {"bad0", "bad1", "bad2"}
    assert [s.ip for s in standings[3:]] == [f"good{n}" for n in range(49, 42, -1)]  # the latest charged
