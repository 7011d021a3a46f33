"""The union of the gateways' announced streams (``market.demand.Announcements``), sans-I/O:
each announcer's whole set replaces its last, the union counts who holds each name and
changes its version only when a name comes or goes, an announcer unheard for its looks
goes with its names, and what is kept and what an announcement costs are bounded: known
names only, so many unknown ones an announcement, so many announcers."""

from __future__ import annotations

from tickerplant.market.demand import Announcements, Heard

LISTED = frozenset({"btcusdt@kline_1m", "btcusdt@depth@100ms", "ethusdt@aggTrade", "!miniTicker@arr"})


def _known(name: str) -> str | None:
    return name if name in LISTED else None


def test_the_union_holds_each_name_while_some_announcer_does() -> None:
    heard = Announcements(_known)
    assert heard.hear(1, ["btcusdt@kline_1m", "btcusdt@depth@100ms"]) is Heard.NEW
    assert heard.hear(2, ["btcusdt@kline_1m", "ethusdt@aggTrade"]) is Heard.NEW
    assert dict(heard.streams) == {"btcusdt@kline_1m": 2, "btcusdt@depth@100ms": 1, "ethusdt@aggTrade": 1}
    assert heard.hear(1, ["ethusdt@aggTrade"]) is Heard.AGAIN  # its whole set: the others released
    assert dict(heard.streams) == {"btcusdt@kline_1m": 1, "ethusdt@aggTrade": 2}
    assert heard.hear(2, []) is Heard.AGAIN
    assert dict(heard.streams) == {"ethusdt@aggTrade": 1}
    assert heard.announcers == {1: {"ethusdt@aggTrade"}, 2: frozenset()}


def test_the_version_changes_when_the_unions_membership_does_and_only_then() -> None:
    heard = Announcements(_known)
    versions = [heard.streams.version]

    def hear(announcer: int, *names: str) -> None:
        heard.hear(announcer, names)
        versions.append(heard.streams.version)

    hear(1, "btcusdt@kline_1m")  # comes
    hear(1, "btcusdt@kline_1m")  # the same set again (a heartbeat)
    hear(2, "btcusdt@kline_1m")  # held by a second: the union is the same
    hear(1)  # one lets go, the other holds it
    hear(2)  # goes
    assert versions == [0, 1, 1, 1, 1, 2]


def test_names_not_known_are_dropped_and_counted() -> None:
    heard = Announcements(_known)
    heard.hear(1, ["btcusdt@kline_1m", "BTCUSDT@kline_1m", "nosuch@trade", "x" * 10_000, "btcusdt@kline_1m"])
    assert set(heard.streams) == {"btcusdt@kline_1m"}
    assert heard.dropped == 3


def test_the_known_names_own_strings_are_kept_not_the_announcements() -> None:
    canonical = {name: name for name in LISTED}
    heard = Announcements(canonical.get)
    announced = "".join(["btcusdt@", "kline_1m"])  # an equal string of its own, as decoded
    heard.hear(1, [announced])
    (kept,) = heard.announcers[1]
    assert kept is canonical["btcusdt@kline_1m"] and kept is not announced


def test_an_announcer_unheard_for_its_looks_goes_with_its_names() -> None:
    heard = Announcements(_known, silent_looks=3)
    heard.hear(1, ["btcusdt@kline_1m", "ethusdt@aggTrade"])
    heard.hear(2, ["ethusdt@aggTrade"])
    assert heard.look() == []
    heard.hear(2, ["ethusdt@aggTrade"])  # 2 goes on announcing, 1 is silent
    assert heard.look() == []
    heard.hear(2, ["ethusdt@aggTrade"])
    version = heard.streams.version
    assert heard.look() == [1]  # three looks without 1
    assert dict(heard.streams) == {"ethusdt@aggTrade": 1}
    assert heard.streams.version == version + 1
    assert list(heard.announcers) == [2]
    assert heard.look() == []
    assert heard.look() == [2]  # three looks since it was last heard
    assert dict(heard.streams) == {} and heard.announcers == {}
    assert heard.hear(1, ["btcusdt@kline_1m"]) is Heard.NEW  # heard again: a new start


def test_looks_and_not_time_decide_so_a_held_up_loop_is_one_look() -> None:
    """However long between two looks (a loop held up), an announcer goes only after its
    looks: what it announced meanwhile is heard before the look that would count it gone."""
    heard = Announcements(_known, silent_looks=2)
    heard.hear(1, ["btcusdt@kline_1m"])
    assert heard.look() == []
    heard.hear(1, ["btcusdt@kline_1m"])  # what came while the loop was held
    assert heard.look() == []
    assert heard.look() == [1]


def test_announcers_past_the_bound_are_refused_until_one_goes() -> None:
    heard = Announcements(_known, most_announcers=2, silent_looks=1)
    heard.hear(1, ["btcusdt@kline_1m"])
    heard.hear(2, ["ethusdt@aggTrade"])
    assert heard.hear(3, ["!miniTicker@arr"]) is Heard.CROWDED
    assert "!miniTicker@arr" not in heard.streams and 3 not in heard.announcers
    assert heard.hear(2, ["btcusdt@depth@100ms"]) is Heard.AGAIN  # those kept are heard on
    heard.look()
    assert heard.hear(3, ["!miniTicker@arr"]) is Heard.NEW
    assert set(heard.streams) == {"!miniTicker@arr"}


def test_an_announcement_naming_more_unknown_names_than_its_bound_is_ignored() -> None:
    """Finding a name unknown is the costly look: an announcement stops being read past
    ``most_unknown`` of them, and its announcer's last set stands, its silence counted on."""
    looked: list[str] = []

    def known(name: str) -> str | None:
        looked.append(name)
        return _known(name)

    heard = Announcements(known, most_unknown=3, silent_looks=2)
    heard.hear(1, ["btcusdt@kline_1m"])
    heard.look()
    looked.clear()
    forged = ["ethusdt@aggTrade", *(f"no{i}@trade" for i in range(1000))]
    assert heard.hear(1, forged) is Heard.UNKNOWN
    assert len(looked) == 1 + 4  # the known one, then unknown ones until one too many
    assert heard.announcers == {1: {"btcusdt@kline_1m"}} and set(heard.streams) == {"btcusdt@kline_1m"}
    assert heard.dropped == 4
    assert heard.hear(2, forged) is Heard.UNKNOWN and 2 not in heard.announcers
    assert heard.hear(3, ["ethusdt@aggTrade", "no@trade", "no@depth", "no@kline_1m"]) is Heard.NEW  # three
    assert heard.look() == [1]  # the ignored announcement was no sign of 1


def test_what_is_kept_is_bounded_by_the_listing_however_many_names_come() -> None:
    heard = Announcements(_known, most_announcers=4)
    for announcer in range(100):
        heard.hear(announcer, [f"sym{i}@trade" for i in range(60)] + sorted(LISTED))
    assert len(heard.announcers) == 4
    assert set(heard.streams) == LISTED
    assert all(names == LISTED for names in heard.announcers.values())
