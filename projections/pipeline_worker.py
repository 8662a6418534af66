"""The decoding helper of a big catch-up (``python -m coachledger.projections.pipeline_worker``).

It runs in its own process, started by ``pipeline.Helper``: it reads the events through its
own read-only connection, builds their view rows with ``runner.build`` and sends them to the
writer as MessagePack frames (see ``pipeline``). Kept apart from ``pipeline`` so that the
runner, which starts the helper, and the helper, which builds rows with the runner, import
each other in one direction only.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from typing import IO, Any

import msgspec

from coachledger.adapters.event_reads import EVENTS_BETWEEN_SQL
from coachledger.projections import runner
from coachledger.projections.read import read_decryptor
from coachledger.settings import Settings


def _serve(args: dict[str, Any], out: IO[bytes]) -> None:
    encode = msgspec.msgpack.Encoder().encode

    def send(frame: list[Any]) -> None:
        data = encode(frame)
        out.write(len(data).to_bytes(4, "little"))
        out.write(data)

    conn = sqlite3.connect(args["path"], isolation_level=None, timeout=60)
    conn.execute("PRAGMA query_only=ON")
    keys = runner.ClientKeys(conn)  # clients registered before ``start`` are in the committed view
    decrypt = None
    if args.get("encrypted"):  # the store's own key file, beside it, opened read-only here too
        decrypt = read_decryptor(Settings.from_values(args["path"], "coachledger"))
    start, end, chunk = args["start"], args["end"], args["chunk"]
    while start < end:
        rows = conn.execute(EVENTS_BETWEEN_SQL, (start, end, chunk)).fetchall()
        if not rows:
            break
        start = rows[-1][0]
        send(["chunk", start, len(rows), list(runner.build(rows, keys, decrypt))])
    send(["end", start])
    out.flush()
    conn.close()


def main() -> None:
    out = sys.stdout.buffer
    try:
        _serve(json.loads(sys.stdin.readline()), out)
    except BrokenPipeError:  # the writer stopped first (it failed, or was interrupted)
        os._exit(1)
    except BaseException as e:  # reported to the writer, which names it in its error
        try:
            data = msgspec.msgpack.encode(["error", f"decoding helper: {type(e).__name__}: {e}"])
            out.write(len(data).to_bytes(4, "little") + data)
            out.flush()
        except BrokenPipeError:
            pass
        os._exit(1)


if __name__ == "__main__":
    main()
