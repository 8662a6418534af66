"""The one writer of output files: 0600, whole or not at all, never through a link.

Real files in a temporary folder; the commands that write files (report, anchor, export)
run as a coach types them, with links planted where an attacker sharing the folder could
plant them: at the output path, and at the temporary name the old writers used
(``.NAME.PID.tmp``, predictable, opened without ``O_EXCL``).
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from coachledger.adapters.files import replacing, write_private
from conftest import Cli

VICTIM_TEXT = "another file the user may write\n"


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file elsewhere that a planted link points to: it must never change."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    path = folder / "victim.txt"
    path.write_text(VICTIM_TEXT)
    path.chmod(0o644)
    return path


def leftovers(folder: Path) -> list[str]:
    return sorted(n for n in os.listdir(folder) if n.endswith((".tmp", ".part")))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- the writer --------------------------------------------------------------------------------


def test_a_new_file_is_0600_whatever_the_umask(tmp_path: Path, umask_022: None) -> None:
    target = tmp_path / "out.txt"
    write_private(target, "hello ✓\n")
    assert target.read_bytes() == "hello ✓\n".encode()
    assert mode(target) == 0o600 and leftovers(tmp_path) == []


def test_an_existing_file_is_replaced_and_becomes_0600(tmp_path: Path, umask_022: None) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old, longer than the new content")
    target.chmod(0o644)
    write_private(target, b"new")
    assert target.read_bytes() == b"new" and mode(target) == 0o600


def test_a_link_at_the_target_is_replaced_and_its_file_left_alone(tmp_path: Path, victim: Path) -> None:
    target = tmp_path / "out.txt"
    target.symlink_to(victim)
    write_private(target, "report\n")
    assert not target.is_symlink() and target.read_text() == "report\n" and mode(target) == 0o600
    assert victim.read_text() == VICTIM_TEXT and mode(victim) == 0o644


def test_a_dangling_link_at_the_target_creates_nothing_where_it_points(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    nowhere = tmp_path / "created-by-the-link.txt"
    target.symlink_to(nowhere)
    write_private(target, "report\n")
    assert not target.is_symlink() and target.read_text() == "report\n"
    assert not nowhere.exists()


def test_a_failure_inside_the_block_keeps_the_old_file_and_removes_the_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), replacing(target) as sink:
        sink.write(b"half of the new")
        assert len(leftovers(tmp_path)) == 1  # the bytes go to a temporary file beside the target
        raise RuntimeError("interrupted")
    assert target.read_text() == "old\n" and leftovers(tmp_path) == []


def test_a_failed_rename_removes_the_temporary(tmp_path: Path) -> None:
    target = tmp_path / "a-folder"
    (target / "inside").mkdir(parents=True)  # a non-empty folder cannot be replaced by a file
    with pytest.raises(OSError):
        write_private(target, "x")
    assert target.is_dir() and leftovers(tmp_path) == []


def test_a_missing_folder_is_an_oserror_and_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_private(tmp_path / "no" / "out.txt", "x")
    assert not (tmp_path / "no").exists()


def test_the_file_and_its_folder_are_fsynced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[str] = []
    real = os.fsync

    def spy(fd: int) -> None:
        kind = os.fstat(fd).st_mode
        synced.append("folder" if stat.S_ISDIR(kind) else "file")
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    write_private(tmp_path / "out.txt", "x")
    assert synced == ["file", "folder"]


KILLED_WRITER = """
import sys, time
from coachledger.adapters.files import replacing
with replacing(sys.argv[1]) as sink:
    sink.write(b"new " * 100_000)
    sink.flush()
    print("writing", flush=True)
    time.sleep(60)
"""


def test_a_writer_killed_mid_write_leaves_the_old_file_intact(tmp_path: Path) -> None:
    target = tmp_path / "anchor.json"
    target.write_text("old\n")
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(target)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "writing\n"
        partial = leftovers(tmp_path)
        assert len(partial) == 1 and (tmp_path / partial[0]).stat().st_size == 400_000
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL
    assert target.read_text() == "old\n"


# -- every command that writes a file ---------------------------------------------------------------


@pytest.fixture
def ledger(tmp_path: Path) -> Cli:
    cli = Cli(str(tmp_path / "ledger.sqlite"))
    cli.run("client", "add", "ana-lopez", "--name", "Ana López")
    cli.run("goal", "add", "ana-lopez", "promotion", "--text", "Team lead within a year")
    return cli


def write_with(cli: Cli, command: str, out: Path) -> None:
    args = {
        "report": ("report", "ana-lopez", "--out", str(out)),
        "anchor": ("anchor", "--out", str(out)),
        "export": ("export", "--out", str(out)),
    }[command]
    cli.run(*args)


def check_written(command: str, out: Path) -> None:
    text = out.read_text(encoding="utf-8")
    if command == "report":
        assert text.startswith("# Progress report: Ana López")
    elif command == "anchor":
        assert json.loads(text)["events"] == 2
    else:
        assert len(text.splitlines()) == 3  # the header and two events
    assert not out.is_symlink() and mode(out) == 0o600


COMMANDS = ("report", "anchor", "export")


@pytest.mark.parametrize("command", COMMANDS)
def test_a_link_planted_at_out_is_replaced_not_written_through(
    ledger: Cli, tmp_path: Path, victim: Path, command: str
) -> None:
    out = tmp_path / "out.file"
    out.symlink_to(victim)
    write_with(ledger, command, out)
    check_written(command, out)
    assert victim.read_text() == VICTIM_TEXT


@pytest.mark.parametrize("command", COMMANDS)
def test_links_planted_at_predictable_temporary_names_are_not_followed(
    ledger: Cli, tmp_path: Path, victim: Path, command: str
) -> None:
    out = tmp_path / "out.file"
    out.write_text("old\n")
    planted = [tmp_path / f".out.file.{os.getpid()}.tmp", tmp_path / f".out.file.{os.getpid()}.part"]
    for link in planted:
        link.symlink_to(victim)
    write_with(ledger, command, out)  # the commands run in this process: the same pid
    check_written(command, out)
    assert victim.read_text() == VICTIM_TEXT and mode(victim) == 0o644
    assert all(link.is_symlink() and link.resolve() == victim for link in planted)
    assert leftovers(tmp_path) == sorted(link.name for link in planted)  # nothing else left behind


@pytest.mark.parametrize("command", COMMANDS)
def test_out_files_are_0600_under_umask_022(
    ledger: Cli, tmp_path: Path, umask_022: None, command: str
) -> None:
    out = tmp_path / "out.file"
    out.write_text("old\n")
    out.chmod(0o644)
    write_with(ledger, command, out)
    check_written(command, out)
