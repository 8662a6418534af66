"""Which client a stream belongs to, for a person reading ``verify``'s verdict.

A stream id is a hash of the client's id (coachledger.ids; keyed by the ledger's secret on
encrypted ledgers): it cannot be turned back into the id. The read side's ``clients`` view knows the id of every client it has caught up
with; where it does not (no read has run yet, or the view is behind), the stream's own
registration event names the client, checked against the stream id so that a tampered
registration cannot put another name forward. A forgotten client is never named again.
"""

from __future__ import annotations

from typing import Any

from coachledger.adapters.chain import FORGOTTEN_CLIENT, UNKNOWN_CLIENT
from coachledger.domain.events import Forgotten, Registered
from coachledger.settings import Settings


def client_from_events(tx: Any, stream: str, settings: Settings) -> str:
    """The client id of ``stream`` from its own events, or a placeholder saying why there is none.

    ``tx`` is the read transaction verify works in (an adapters.eventstore.EventTransaction).
    """
    try:
        events = tx.stream_events(stream)
    except Exception:  # a damaged store: nothing more to say about the client
        return UNKNOWN_CLIENT
    if any(topic == Forgotten.TOPIC for _, topic, _ in events):
        return FORGOTTEN_CLIENT
    first = next(((t, s) for v, t, s in events if v == 1 and t == Registered.TOPIC), None)
    if first is None:
        return UNKNOWN_CLIENT
    try:
        # lazy: the codec and the key store only to name the client of a bad event
        from coachledger.adapters import codec
        from coachledger.adapters.ciphers import ledger_keys

        keys = ledger_keys(settings)
        state = keys.decrypt(stream, Registered.TOPIC, bytes(first[1]))
        slug = None if state is None else codec.decode_payload(Registered.TOPIC, state).slug
        if isinstance(slug, str) and keys.ids.stream_of(slug) == stream:
            return slug
    except Exception:  # changed bytes, a missing key file or secret, an undecodable event: not nameable
        pass
    return UNKNOWN_CLIENT
