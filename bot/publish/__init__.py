"""Send a reply, a like or a repost to the network: policy-checked, exactly once.

- `base`: the `Publisher` protocol, `Target`, `Published`, `PublishError`;
- `x`, `mastodon`, `bluesky`: one adapter per network;
- `send`: the exactly-once machinery (`start_send` → commit → `deliver`; `reconcile`);
- `amplify`: like / repost an advocate's praise, audited;
- `build`: the publishers the settings allow, one per network.
"""

from bot.publish.amplify import AlreadyDone, AmplifyFailed, amplify
from bot.publish.base import Lookup, Published, Publisher, PublishError, Target
from bot.publish.build import build_publishers
from bot.publish.send import (
    DuplicateSend,
    PolicyRefused,
    Reconciled,
    deliver,
    idempotency_key,
    reconcile,
    start_send,
)

__all__ = [
    "AlreadyDone", "AmplifyFailed", "DuplicateSend", "Lookup", "PolicyRefused", "Published", "PublishError",
    "Publisher", "Reconciled", "Target", "amplify", "build_publishers", "deliver",
    "idempotency_key", "reconcile", "start_send",
]
