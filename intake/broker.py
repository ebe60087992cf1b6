"""The Redis broker transport, arranged so that no clerk's batch waits behind another's:
a message given back after its worker died goes to the front of its queue, and each
batch's first pages come before the tail of batches published earlier.

Kombu's Redis transport publishes with LPUSH and consumes with BRPOP, so the right end of
a list is its front. A task rejected with `requeue=True` — what Celery does with the task
of a pool process that died (`task_reject_on_worker_lost`) — is pushed back on the left,
behind every page published since: with hundreds of pages waiting, a page whose worker
was killed was read again minutes later. Here it is pushed on the right, so the next free
worker reads it first. (Messages of a whole node that vanished come back through the
visibility-timeout restore, which already puts them at the front.) Either way it is
given the first priority.

Priorities: kombu keeps one list per priority (0 first) and pops them in order. A split
publishes its pages at priority min(9, position // 2) (`page_priority`): a new batch's
first pages go before every page at a later position of a batch published earlier, so a
500-page batch delays a later clerk's 10-page batch by a page or two per worker, not by
its 500 pages. Within one priority, order is first-published first (two 500-page batches
share the last level in the order they came).
"""

from __future__ import annotations

import contextlib
from typing import Any, Final

from kombu.transport import redis

PRIORITY_STEPS: Final = tuple(range(10))
REDELIVERED_PRIORITY: Final = 0


def page_priority(position: int) -> int:
    """The priority of the page at `position` (0-based) among those a split publishes."""
    return min(PRIORITY_STEPS[-1], position // 2)


def queue_keys(queue: str) -> list[str]:
    """The Redis lists holding `queue`'s waiting messages, first priority first."""
    return [queue] + [f"{queue}{redis.Channel.sep}{p}" for p in PRIORITY_STEPS if p]


class FrontRequeueQoS(redis.QoS):
    def reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        if requeue:
            self.restore_by_tag(delivery_tag, leftmost=False)  # RPUSH: the front
        else:
            self._remove_from_indices(delivery_tag).execute()
        super(redis.QoS, self).ack(delivery_tag)


class Channel(redis.Channel):
    QoS = FrontRequeueQoS

    def _do_restore_message(self, payload: Any, exchange: Any, routing_key: Any,
                            pipe: Any, leftmost: bool = False) -> None:
        with contextlib.suppress(KeyError, TypeError):
            payload["properties"]["priority"] = REDELIVERED_PRIORITY
        super()._do_restore_message(payload, exchange, routing_key, pipe, leftmost)


class Transport(redis.Transport):
    Channel = Channel


def transport_for(broker_url: str) -> type[redis.Transport] | None:
    """The transport class for `broker_url`, or None to let Celery choose (not Redis)."""
    return Transport if broker_url.startswith("redis://") else None
