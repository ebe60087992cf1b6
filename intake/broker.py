"""The Redis broker transport, with one change: a message given back after its worker
died goes to the front of its queue, not the back.

Kombu's Redis transport publishes with LPUSH and consumes with BRPOP, so the right end of
a list is its front. A task rejected with `requeue=True` — what Celery does with the task
of a pool process that died (`task_reject_on_worker_lost`) — is pushed back on the left,
behind every page published since: with hundreds of pages waiting, a page whose worker
was killed was read again minutes later. Here it is pushed on the right, so the next free
worker reads it first. (Messages of a whole node that vanished come back through the
visibility-timeout restore, which already puts them at the front.)
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis


class FrontRequeueQoS(redis.QoS):
    def reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        if requeue:
            self.restore_by_tag(delivery_tag, leftmost=False)  # RPUSH: the front
        else:
            self._remove_from_indices(delivery_tag).execute()
        super(redis.QoS, self).ack(delivery_tag)


class Channel(redis.Channel):
    QoS = FrontRequeueQoS


class Transport(redis.Transport):
    Channel = Channel


def transport_for(broker_url: str) -> type[redis.Transport] | None:
    """The transport class for `broker_url`, or None to let Celery choose (not Redis)."""
    return Transport if broker_url.startswith("redis://") else None
