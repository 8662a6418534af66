"""A big catch-up on two cores: a helper process decodes events while this one writes.

Reading a million stored events, decoding them and building their view rows is Python
work that takes about as long as SQLite takes to write the rows, and SQLite writes on
one thread. So for a catch-up of at least ``PARALLEL_MIN`` events (a rebuild, a restore)
on a SQLite store, a helper (``python -m coachledger.projections.pipeline_worker``)
reads the events through its own read-only connection, builds the rows with the very
same code as a one-process catch-up (``runner.build``) and sends them through a pipe
(MessagePack frames: msgspec encodes a chunk's rows eight times faster than pickle). This process writes them in the same transactions, with the same tracked
positions, as a one-process catch-up would: the views come out identical, and a failure
of either process rolls back the transaction in progress. On an encrypted store the
helper opens the store's key file itself (read only) and decrypts as this process would.

The helper never writes and holds no lock: it reads events that were committed before
this process took the write lock, up to the head it was given. PostgreSQL catch-ups run
in one process.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from types import TracebackType
from typing import IO, Any

import msgspec

from coachledger.adapters.files import StoreError

PARALLEL_MIN = 50_000  # events to catch up from which a helper process decodes them
AVAILABLE = os.name == "posix"  # elsewhere a catch-up runs in one process
PIPE_BYTES = 1 << 20


HELPER_MODULE = "coachledger.projections.pipeline_worker"


class HelperFailed(StoreError):
    """The decoding helper stopped or reported an error."""


class Helper:
    """The helper process for events (start, end], as a context giving its chunks.

    Each chunk is (last seq, events in it, ``runner.build``'s messages for it).
    """

    def __init__(self, path: str, start: int, end: int, chunk: int, *, encrypted: bool = False) -> None:
        self.start, self.end = start, end
        self.args = {"path": path, "start": start, "end": end, "chunk": chunk, "encrypted": encrypted}
        self.process: subprocess.Popen[bytes] | None = None
        self.errors: IO[bytes] | None = None
        self.peak_rss_kib = 0
        self._finished = False

    def __enter__(self) -> Iterator[tuple[int, int, list[Any]]]:
        self.start_process()
        return self._messages()

    def start_process(self) -> None:
        """Start the helper now (entering the context starts it if this was not called)."""
        if self.process is not None:
            return
        self.errors = tempfile.TemporaryFile()  # noqa: SIM115 (closed by __exit__)
        self.process = subprocess.Popen(
            [sys.executable, "-m", HELPER_MODULE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.errors,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        _widen(self.process.stdout)
        with contextlib.suppress(BrokenPipeError):  # a helper that died at once: reading says why
            self.process.stdin.write(json.dumps(self.args).encode() + b"\n")
            self.process.stdin.close()

    def _messages(self) -> Iterator[tuple[int, int, list[Any]]]:
        assert self.process is not None and self.process.stdout is not None
        out = self.process.stdout
        decode = msgspec.msgpack.Decoder().decode
        while True:
            head = out.read(4)
            size = int.from_bytes(head, "little") if len(head) == 4 else -1
            frame = out.read(size) if size >= 0 else b""
            if size < 0 or len(frame) != size:
                raise HelperFailed(f"the decoding helper stopped: {self._stderr()}")
            kind, *value = decode(frame)
            if kind == "error":
                raise HelperFailed(value[0])
            if kind == "end":
                self._finished = True
                return
            yield value[0], value[1], value[2]

    def _stderr(self) -> str:
        assert self.process is not None and self.errors is not None
        self.process.wait()
        self.errors.seek(0)
        text = self.errors.read().decode(errors="replace").strip()
        return text.splitlines()[-1] if text else f"exit status {self.process.returncode}"

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.process is not None:
            if self.process.poll() is None and (kind is not None or not self._finished):
                self.process.kill()
            if self.process.stdout is not None:
                self.process.stdout.close()
            self.process.wait()
            self.peak_rss_kib = _children_peak_kib()
        if self.errors is not None:
            self.errors.close()


def _children_peak_kib() -> int:
    """The largest peak memory of this process's finished children (the helper, in the CLI)."""
    try:
        # here: Unix only (a catch-up elsewhere runs in one process)
        import resource
    except ImportError:  # not a Unix
        return 0
    return int(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)


def _widen(pipe: IO[bytes]) -> None:
    """Let the helper run a chunk or two ahead while this process commits (Linux: 1 MiB pipe)."""
    try:
        # here: Unix only (a catch-up elsewhere runs in one process)
        import fcntl

        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (ImportError, AttributeError, OSError):
        pass  # the default pipe (64 KiB) works, with less overlap
