"""The NATS bus over a real nats-server: batches in order and byte for byte, notices in
sequence, and a subscriber that sees a lost frame or a restarted publisher."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import pytest
from nats_servers import buses, nats_url, running_nats
from timing import eventually

from tickerplant.bus import StreamMessage
from tickerplant.bus.frames import Continuity, Framer, Notice, Verdict
from tickerplant.bus.nats import NatsBus
from tickerplant.market.instruments import Market

pytestmark = pytest.mark.loopback
__all__ = ["buses", "nats_url"]  # the fixtures: a real nats-server for the test, buses on it


def _batch(n: int, start: int = 0, size: int = 40) -> list[StreamMessage]:
    return [StreamMessage(f"s{i % 7}@trade", b"%d:" % i + b"x" * size) for i in range(start, start + n)]


async def test_batches_cross_in_order_byte_for_byte_per_market(buses: tuple[NatsBus, NatsBus]) -> None:
    publisher, subscriber = buses
    got: dict[Market, list[Sequence[StreamMessage]]] = {Market.UM: [], Market.CM: []}
    for market in Market:
        subscriber.subscribe(market, got[market].append)
    await subscriber.ready()
    um = [_batch(5, start) for start in range(0, 500, 5)]
    for batch in um:
        publisher.publish(Market.UM, batch)
    publisher.publish(Market.CM, _batch(3))
    publisher.publish(Market.UM, [])  # nothing to carry: no frame
    await eventually(lambda: len(got[Market.UM]) == len(um) and len(got[Market.CM]) == 1)
    assert got[Market.UM] == um
    assert got[Market.CM] == [_batch(3)]
    assert subscriber.sequencers[Market.UM].seq == len(um)


async def test_a_batch_larger_than_natss_limit_arrives_whole_and_in_order(
    buses: tuple[NatsBus, NatsBus],
) -> None:
    publisher, subscriber = buses
    got: list[StreamMessage] = []
    subscriber.subscribe(Market.UM, got.extend)
    await subscriber.ready()
    big = _batch(3000, size=1000)  # ~3 MB: several frames under the 1 MiB default
    publisher.publish(Market.UM, big)
    await eventually(lambda: len(got) == len(big))
    assert got == big
    assert subscriber.sequencers[Market.UM].gaps == 0


async def test_a_notice_follows_the_messages_published_before_it(buses: tuple[NatsBus, NatsBus]) -> None:
    publisher, subscriber = buses
    seen: list[object] = []
    subscriber.on_notice = lambda market, notice: seen.append((market, notice))
    subscriber.subscribe(Market.CM, lambda messages: seen.extend(messages))
    await subscriber.ready()
    publisher.publish(Market.CM, _batch(2))
    publisher.notify(Market.CM, Notice(["s0@trade"], "upstream lost"))
    await eventually(lambda: len(seen) == 3)
    assert seen == [*_batch(2), (Market.CM, Notice(["s0@trade"], "upstream lost"))]


async def test_the_subscriber_reports_a_lost_frame_and_a_restarted_publisher(
    buses: tuple[NatsBus, NatsBus], nats_url: str
) -> None:
    publisher, subscriber = buses
    losses: list[tuple[Market, Verdict]] = []
    got: list[StreamMessage] = []
    subscriber.on_loss = lambda market, verdict: losses.append((market, verdict))
    subscriber.subscribe(Market.UM, got.extend)
    await subscriber.ready()
    # frames as the publisher writes them, one of them never sent
    framer = Framer(epoch=42, limit=1 << 20)
    frames = [framer.frames(_batch(1, i))[0] for i in range(4)]
    for data in (frames[0], frames[1], frames[3]):
        await publisher.client.publish(subscriber.subject(Market.UM), data)
    await eventually(lambda: len(got) == 3)
    assert losses == [(Market.UM, Verdict(Continuity.FIRST, 0)), (Market.UM, Verdict(Continuity.GAP, 1))]
    assert got == [*_batch(1, 0), *_batch(1, 1), *_batch(1, 3)]
    # a publisher with a new epoch: the plant restarted
    restarted = await NatsBus.connect(nats_url, name="plant again")
    try:
        restarted.publish(Market.UM, _batch(1, 9))
        await eventually(lambda: len(got) == 4)
    finally:
        await restarted.close()
    assert losses[-1] == (Market.UM, Verdict(Continuity.RESTARTED, 0))


async def test_a_state_larger_than_natss_limit_answers_a_request_as_of_the_last_frame(
    buses: tuple[NatsBus, NatsBus],
) -> None:
    publisher, subscriber = buses
    state = b"s" * 3_000_000  # several parts under the 1 MiB default
    await publisher.answer_state(Market.CM, lambda: state)
    publisher.publish(Market.CM, _batch(2))
    publisher.publish(Market.CM, _batch(2))
    assert await subscriber.request_state(Market.CM, 10.0) == (publisher.epoch, 2, state)
    assert await subscriber.request_state(Market.UM, 0.2) is None  # nobody answers


async def test_a_state_asked_of_a_plant_that_died_with_it_is_asked_again_of_the_restarted_one(
    buses: tuple[NatsBus, NatsBus], nats_url: str
) -> None:
    """A plant killed after it took a gateway's request, before it answered: no "no
    responders" comes, and waiting for the answer would hold the market's frames until the
    request's timeout. The restarted plant's first frame sends the request again."""
    publisher, subscriber = buses
    subscriber.hold([Market.UM])  # as a gateway that lost frames holds the market
    await subscriber.ready()
    publisher.publish(Market.UM, _batch(1))
    await eventually(lambda: subscriber.delivered[Market.UM] + subscriber.received[Market.UM][0] > 0)
    taken: list[str] = []

    async def dies_before_answering(msg: Any) -> None:
        taken.append(msg.reply)

    dying = await publisher.client.subscribe(subscriber.state_subject(Market.UM), cb=dies_before_answering)
    await publisher.client.flush()
    asking = asyncio.ensure_future(subscriber.request_state(Market.UM, 30.0))
    await eventually(lambda: bool(taken))
    await dying.unsubscribe()
    restarted = await NatsBus.connect(nats_url, name="plant again")
    try:
        state = b"the restarted plant's state"
        await restarted.answer_state(Market.UM, lambda: state)
        restarted.publish(Market.UM, _batch(1, 5))
        async with asyncio.timeout(5):
            assert await asyncio.shield(asking) == (restarted.epoch, 1, state)
    finally:
        asking.cancel()
        await restarted.close()


async def test_a_state_asked_as_the_nats_server_went_is_asked_again_once_it_is_back() -> None:
    """The NATS server killed after the plant took the request, before its answer got
    through: the answer is lost with the server, and the request goes again once the
    connection is back."""
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(running_nats())
        port = int(url.rsplit(":", 1)[1])
        subscriber = await NatsBus.connect(url, name="gateway")
        plant = await NatsBus.connect(url, name="plant")
        try:
            taken: list[str] = []

            async def dies_before_answering(msg: Any) -> None:
                taken.append(msg.reply)

            await plant.client.subscribe(subscriber.state_subject(Market.UM), cb=dies_before_answering)
            await plant.client.flush()
            asking = asyncio.ensure_future(subscriber.request_state(Market.UM, 30.0))
            await eventually(lambda: bool(taken))
            stack.close()  # the NATS server goes, and comes back on its port
            stack.enter_context(running_nats(port=port))
            state = b"the state, asked again"
            answering = await NatsBus.connect(url, name="plant answering")
            try:
                await answering.answer_state(Market.UM, lambda: state)
                # answered by a plant that subscribed after the restart: the request went again.
                # Whether the silent plant hears it again too is a race between its own
                # reconnection and the ask, not the gateway's behaviour, so it is not asserted.
                async with asyncio.timeout(10):
                    assert await asyncio.shield(asking) == (answering.epoch, 0, state)
            finally:
                asking.cancel()
                await answering.close()
        finally:
            await plant.close()
            await subscriber.close()


async def test_a_released_market_skips_the_frames_its_state_holds(buses: tuple[NatsBus, NatsBus]) -> None:
    publisher, subscriber = buses
    got: list[StreamMessage] = []
    subscriber.subscribe(Market.UM, got.extend)
    subscriber.hold([Market.UM])
    await subscriber.ready()
    for i in range(4):
        publisher.publish(Market.UM, _batch(1, i))
    await eventually(lambda: subscriber.sequencers[Market.UM].seq == 4)
    assert got == []  # held
    subscriber.release(Market.UM, after=(publisher.epoch, 2))
    assert got == [*_batch(1, 2), *_batch(1, 3)]
    publisher.publish(Market.UM, _batch(1, 4))
    await eventually(lambda: len(got) == 3)


async def test_a_released_market_still_hands_on_the_listen_keys_events_in_the_frames_its_state_holds(
    buses: tuple[NatsBus, NatsBus],
) -> None:
    """A state holds the market's views, not a key's events, which only pass through: those in
    the frames it holds go to the key's connections (those opened since the loss), first."""
    publisher, subscriber = buses
    got: list[StreamMessage] = []
    subscriber.subscribe(Market.UM, got.extend)
    subscriber.hold([Market.UM])
    await subscriber.ready()
    key = "k" * 64
    event = StreamMessage(key, b'{"e":"ORDER_TRADE_UPDATE"}')
    publisher.publish(Market.UM, _batch(1, 0))
    publisher.publish(Market.UM, [*_batch(1, 1), event])
    publisher.publish(Market.UM, _batch(1, 2))
    await eventually(lambda: subscriber.sequencers[Market.UM].seq == 3)
    subscriber.release(Market.UM, after=(publisher.epoch, 2), unstated=lambda stream: stream == key)
    assert got == [event, *_batch(1, 2)]


async def test_frames_a_state_holds_arriving_after_the_release_are_not_delivered_again(
    buses: tuple[NatsBus, NatsBus],
) -> None:
    """A state is answered ahead of the frames waiting in the plant's outbox, so frames it
    holds can arrive after it, once the market is released: a gateway that had seen a
    frame already (a late start, a gap, a restart) must drop them as stale."""
    publisher, subscriber = buses
    losses: list[Verdict] = []
    got: list[StreamMessage] = []
    subscriber.on_loss = lambda market, verdict: losses.append(verdict)
    subscriber.subscribe(Market.UM, got.extend)
    subscriber.hold([Market.UM])
    await subscriber.ready()
    framer = Framer(epoch=42, limit=1 << 20)
    frames = [framer.frames(_batch(1, i))[0] for i in range(5)]
    subject = subscriber.subject(Market.UM)
    await publisher.client.publish(subject, frames[0])
    await eventually(lambda: subscriber.sequencers[Market.UM].seq == 1)
    subscriber.release(Market.UM, after=(42, 3))  # a state as of frame 3: frame 1 is in it
    for data in frames[1:]:
        await publisher.client.publish(subject, data)
    await eventually(lambda: subscriber.sequencers[Market.UM].seq == 5)
    assert got == [*_batch(1, 3), *_batch(1, 4)]
    assert losses == [Verdict(Continuity.FIRST, 0)]


async def _listening(subscriber: NatsBus) -> tuple[list[Verdict], list[StreamMessage]]:
    """What the subscriber is told of losses, and the messages it gets, on USDⓈ-M."""
    losses: list[Verdict] = []
    got: list[StreamMessage] = []
    subscriber.on_loss = lambda market, verdict: losses.append(verdict)
    subscriber.subscribe(Market.UM, got.extend)
    await subscriber.ready()
    return losses, got


async def test_a_full_outbox_drops_the_newest_frames_and_the_subscriber_sees_the_gap(
    buses: tuple[NatsBus, NatsBus],
) -> None:
    publisher, subscriber = buses
    losses, got = await _listening(subscriber)
    publisher.outbox.direct = False  # the public way, as while nats-py is away: through the outbox
    publisher.outbox.limit = 300  # two frames of one message wait at most
    for i in range(4):  # in one go: the writer has taken none yet
        publisher.publish(Market.UM, _batch(1, i, size=100))
    assert publisher.outbox.dropped == 2
    await publisher.flush()
    publisher.publish(Market.UM, _batch(1, 4, size=100))
    await eventually(lambda: len(got) == 3)
    assert got == [*_batch(1, 0, 100), *_batch(1, 1, 100), *_batch(1, 4, 100)]
    assert losses == [Verdict(Continuity.FIRST, 0), Verdict(Continuity.GAP, 2)]


async def test_frames_go_into_nats_pys_pending_writes_and_wait_in_order_when_they_are_full(
    buses: tuple[NatsBus, NatsBus],
) -> None:
    publisher, subscriber = buses
    losses, got = await _listening(subscriber)
    # the nats-py pyproject.toml allows has the private state the bus writes frames into:
    # a version without it would publish the slower public way, and this says so
    assert publisher.outbox.direct
    client: Any = publisher.client
    before = client._pending_data_size
    publisher.publish(Market.UM, _batch(1, 0, size=100))
    one = client._pending_data_size - before  # its PUB line, the frame and CRLF, not yet written
    assert one > 100 and publisher.outbox.queued_bytes == 0
    client._max_pending_size = client._pending_data_size  # full: the next frames must wait
    for i in range(1, 4):
        publisher.publish(Market.UM, _batch(1, i, size=100))
    assert publisher.outbox.queued_bytes > 0  # in the outbox, behind the one in nats-py's writes
    client._max_pending_size = 64 * 1024 * 1024
    await publisher.flush()
    publisher.publish(Market.UM, _batch(1, 4, size=100))  # the outbox empty: direct again
    await eventually(lambda: len(got) == 5)
    assert got == [message for i in range(5) for message in _batch(1, i, 100)]
    assert losses == [Verdict(Continuity.FIRST, 0)] and publisher.outbox.dropped == 0
