"""What the recorded streams of one turn of the loop carried so far (``Replayer.step``'s
guard of the order across streams). The gateways' fan-out joins a turn's frames per stream
(``gateway/fanout.py``), so a stream that comes back after another within a turn must wait
for the next turn, or a connection carrying both would get its frames out of their
recorded order. One batch is one turn; an exact replay (each event time delivered on its
own, ``player.ReplaySource``) makes many deliveries in a turn, and carries this across them."""

from __future__ import annotations

__all__ = ["TurnStreams"]


class TurnStreams:
    __slots__ = ("last", "seen", "stopped")

    def __init__(self) -> None:
        self.seen: set[str] = set()  # the recorded streams delivered this turn
        self.last = ""  # the last of them: it may go on
        self.stopped = False  # a step stopped at a stream coming back: the turn ends there
