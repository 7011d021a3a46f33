"""Commands to the venue over a real nats-server (``bus/venue_link.py``): each answered to
its own asker, in any order; nobody there is told as such (b""); a command that waits too
long is told None and its late answer dropped; past the bound a command is refused at once,
and nothing waits for ever."""

from __future__ import annotations

import nats.errors
import pytest
from nats.aio.msg import Msg
from nats_servers import buses, nats_url
from timing import eventually

from tickerplant.bus import StreamMessage
from tickerplant.bus.frames import Continuity
from tickerplant.bus.nats import NatsBus
from tickerplant.bus.nats_writer import settle
from tickerplant.bus.venue_link import RUN, WHOLE, VenueRequests, answer, answer_parts, venue_subject
from tickerplant.market.instruments import Market

pytestmark = pytest.mark.loopback
__all__ = ["buses", "nats_url"]  # the fixtures: a real nats-server for the test, buses on it


async def test_each_command_is_answered_to_its_asker_and_nobody_there_is_told(
    buses: tuple[NatsBus, NatsBus],
) -> None:
    plant, gateway = buses
    requests = VenueRequests(gateway)
    await requests.start()
    got: dict[int, bytes | None] = {}
    assert requests.ask(Market.UM, b"nobody", lambda data: got.__setitem__(0, data))
    await eventually(lambda: 0 in got)
    assert got[0] == b""  # no plant subscribes: the server's no-responders status
    await answer(plant, Market.UM, lambda command: b"um:" + command)
    await answer(plant, Market.CM, lambda command: b"cm:" + command)
    for n in range(1, 201):
        market = Market.UM if n % 2 else Market.CM
        assert requests.ask(market, b"%d" % n, lambda data, n=n: got.__setitem__(n, data))
    await eventually(lambda: len(got) == 201)
    wrong = {n: got[n] for n in range(1, 201) if got[n] != (b"um:" if n % 2 else b"cm:") + b"%d" % n}
    assert not wrong
    assert requests.waiting == 0 and requests.unclaimed == 0
    await requests.close()


async def test_a_command_unanswered_in_time_is_told_none_and_the_bound_refuses_at_once(
    buses: tuple[NatsBus, NatsBus],
) -> None:
    plant, gateway = buses
    held: list[Msg] = []

    async def hold(msg: Msg) -> None:  # a plant that takes commands and answers when told
        held.append(msg)

    await plant.client.subscribe(venue_subject(plant, Market.UM), cb=hold)
    await settle(plant.client)
    requests = VenueRequests(gateway, limit=2, timeout_s=0.2)
    await requests.start()
    got: list[bytes | None] = []
    assert requests.ask(Market.UM, b"1", got.append)
    assert requests.ask(Market.UM, b"2", got.append)
    assert not requests.ask(Market.UM, b"3", got.append)  # two wait: refused, never called back
    await eventually(lambda: got == [None, None])  # their time ran out: the outcome unknown
    assert requests.timed_out == 2 and requests.waiting == 0
    for msg in held:  # the answers come late: dropped
        await msg.respond(b"late")
    await eventually(lambda: requests.unclaimed == 2)
    assert got == [None, None]
    assert requests.ask(Market.UM, b"4", got.append)  # room again
    await eventually(lambda: len(held) == 3)
    await requests.close()  # what waits is told None: nothing waits for ever
    assert got == [None, None, None]


async def test_an_answer_past_a_message_s_limit_comes_in_parts_and_one_caller_has_a_share(
    buses: tuple[NatsBus, NatsBus],
) -> None:
    plant, gateway = buses
    big = bytes(range(256)) * (3 * plant.client.max_payload // 256 + 7)  # some 3 MiB, in 4 parts
    assert len(answer_parts(big, plant.client.max_payload - 1024)) == 4
    held: list[Msg] = []

    async def hold_or_answer(msg: Msg) -> None:
        if msg.data == b"hold":
            held.append(msg)
        else:
            # after the head a plant puts first: its run (no frames followed here)
            for part in answer_parts(RUN.pack(plant.epoch) + big, plant.client.max_payload - 1024):
                await plant.client.publish(msg.reply, part)

    await plant.client.subscribe(venue_subject(plant, Market.UM), cb=hold_or_answer)
    await settle(plant.client)
    requests = VenueRequests(gateway, limit=10, caller_limit=2)
    await requests.start()
    got: list[bytes | None] = []
    assert requests.ask(Market.UM, b"big", got.append, "1.2.3.4")
    await eventually(lambda: len(got) == 1)
    assert got == [big]  # joined, byte for byte
    assert requests.ask(Market.UM, b"hold", got.append, "1.2.3.4")
    assert requests.ask(Market.UM, b"hold", got.append, "1.2.3.4")
    assert not requests.ask(Market.UM, b"hold", got.append, "1.2.3.4")  # its share is taken
    assert requests.ask(Market.UM, b"hold", got.append, "5.6.7.8")  # another caller's is not
    await eventually(lambda: len(held) == 3)
    await held[0].respond(b"\x09not an answer of ours")
    await eventually(lambda: len(got) == 2)
    assert got[1] is None  # came, and does not read: its outcome unknown
    assert requests.ask(Market.UM, b"hold", got.append, "1.2.3.4")  # room again for that caller
    await requests.close()


async def test_a_subscription_settled_is_at_the_server_before_the_next_request(
    buses: tuple[NatsBus, NatsBus],
) -> None:
    """nats-py's ``flush`` writes its PING ahead of a SUB still queued for its flusher, so a
    request right after it can find nobody subscribed (with ``plant.client.flush()`` here
    instead, on uvloop, some of the 300 are told "no responders"); ``settle`` writes the
    SUB first."""
    plant, gateway = buses
    unanswered = 0
    for n in range(300):

        async def echo(msg: Msg) -> None:
            await msg.respond(msg.data)

        subscription = await plant.client.subscribe(f"settled.{n}", cb=echo)
        await settle(plant.client)
        try:
            await gateway.client.request(f"settled.{n}", b"x", timeout=5)
        except nats.errors.NoRespondersError:
            unanswered += 1
        await subscription.unsubscribe()
    assert unanswered == 0


async def test_a_restarted_plants_answer_waits_for_the_gateway_to_meet_its_run(
    buses: tuple[NatsBus, NatsBus], nats_url: str
) -> None:
    """Frames and answers come on different subscriptions, so a restarted plant's first answer
    can overtake its first frame: the gateway hands it on only once it has met the new run
    (``on_loss`` told: the old run's stream connections closed 1012), so no client hears of an
    order the new run took while its key's connection still waits on the old run's events.
    An answer of a run met goes on at once, its events as their frames come."""
    plant, gateway = buses
    seen: list[object] = []  # frames' messages, losses and answers, as the gateway meets them
    gateway.subscribe(Market.UM, lambda messages: seen.extend(m.stream for m in messages))
    gateway.on_loss = lambda market, verdict: seen.append(verdict.continuity)
    await gateway.ready()
    requests = VenueRequests(gateway, timeout_s=10)
    await requests.start()
    plant.publish(Market.UM, [StreamMessage("one", b"1")])
    await eventually(lambda: seen == [Continuity.FIRST, "one"])
    await answer(plant, Market.UM, lambda command: b"first:" + command)
    assert requests.ask(Market.UM, b"order", lambda data: seen.append(data))
    await eventually(lambda: seen[-1] == b"first:order")  # its run met: at once
    assert requests.early == 0

    restarted = await NatsBus.connect(nats_url, name="plant again")
    try:
        await answer(restarted, Market.UM, lambda command: b"again:" + command)
        await plant.client.close()  # the first plant is gone (its subscription with it)
        assert requests.ask(Market.UM, b"order", lambda data: seen.append(data))
        await eventually(lambda: requests.early == 1)  # come before the new run's first frame
        assert seen[-1] == b"first:order"
        restarted.heartbeat()  # its first frame
        await eventually(lambda: seen[-1] == b"again:order")
        assert seen[-2:] == [Continuity.RESTARTED, b"again:order"]
        assert (requests.unmet, requests.timed_out) == (0, 0)
    finally:
        await restarted.close()
    await requests.close()


async def test_an_answer_whose_run_is_never_met_is_handed_on_when_its_time_runs_out(
    buses: tuple[NatsBus, NatsBus],
) -> None:
    plant, gateway = buses
    gateway.subscribe(Market.UM, lambda messages: None)
    await gateway.ready()

    async def unmet(msg: Msg) -> None:  # a run whose frames never come
        await msg.respond(bytes((WHOLE,)) + RUN.pack(plant.epoch + 1) + b"placed")

    await plant.client.subscribe(venue_subject(plant, Market.UM), cb=unmet)
    await settle(plant.client)
    requests = VenueRequests(gateway, timeout_s=0.2)
    await requests.start()
    got: list[bytes | None] = []
    assert requests.ask(Market.UM, b"order", got.append)
    await eventually(lambda: got == [b"placed"])  # the outcome known: told, not None
    assert (requests.early, requests.unmet, requests.timed_out, requests.waiting) == (1, 1, 0, 0)
    # nobody waits on the bus any more: the wait cancelled as the answer was handed on leaves
    # the bus's list when its task next runs, a loop turn or so after the answer is told
    await eventually(lambda: gateway._meeting[Market.UM] == [])
    await requests.close()
