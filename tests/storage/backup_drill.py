"""The point-in-time recovery drill of docs/backups.md, on a private throwaway PostgreSQL cluster.

`make backup-drill` (or `python -m tests.storage.backup_drill`) runs it; tests/storage/test_backup_pitr.py runs it
in the suite when the machine allows. It never touches another cluster: it creates one with initdb in a temporary
directory, on a free port, and removes it at the end.

  1. initdb; WAL archiving on (archive_mode, archive_command copying each segment to an archive directory)
  2. migrate, a network, members and purchases (round A)
  3. pg_basebackup (the base backup)
  4. purchases (round B) — then the recovery target time T — then purchases (round C)
  5. the cluster is lost; the base backup is started with recovery.signal, restore_command and
     recovery_target_time = T
  6. the restored cluster holds rounds A and B and nothing of C; `coalition verify` passes; balances and
     statements equal those seen at T.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import psycopg

from coalition.adapters.storage import migrate
from coalition.adapters.storage.verify import verify
from coalition.settings import Settings
from coalition.wiring import build_services
from tests.cli.backup_support import figures
from tests.support import buy, client, enrol, make_network

CARDS = [f"3300-{n:04d}" for n in range(1, 5)]
PURCHASES_PER_ROUND = 8
WAIT_SECONDS = 60.0


def binaries() -> Path | None:
    """The newest PostgreSQL server binaries on this machine (Debian's layout), or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


def cannot_run() -> str | None:
    """Why the drill cannot run here, or None."""
    if binaries() is None:
        return "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin"
    if os.geteuid() != 0 and pwd.getpwuid(os.geteuid()).pw_name != "postgres":
        return "the drill runs PostgreSQL as the postgres OS user: run it as root or as postgres"
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "there is no postgres OS user"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Drill:
    root: Path
    bin: Path
    say: Callable[[str], None]
    started: float = field(default_factory=time.monotonic)
    running: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def as_postgres(self, *command: str | Path) -> str:
        prefix: list[str | Path] = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        answer = subprocess.run(
            [*prefix, *command], cwd=self.root, capture_output=True, text=True, check=False, timeout=120
        )
        if answer.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {answer.stdout}{answer.stderr}")
        return answer.stdout

    def mark(self, step: str) -> None:
        self.timings[step] = round(time.monotonic() - self.started, 1)
        self.say(f"[{self.timings[step]:5.1f} s] {step}")

    def start(self, data: Path) -> None:
        # -t 300: a recovery replaying WAL takes minutes on a loaded host (the suite runs in three processes)
        self.as_postgres(self.bin / "pg_ctl", "-D", data, "-l", data / "server.log", "-w", "-t", "300", "start")
        self.running.append(data)

    def stop(self, data: Path, mode: str = "fast") -> None:
        self.as_postgres(self.bin / "pg_ctl", "-D", data, "-m", mode, "-w", "-t", "300", "stop")
        self.running.remove(data)


def _configure(data: Path, port: int, socket_dir: Path, lines: list[str]) -> None:
    settings = [
        f"port = {port}",
        "listen_addresses = '127.0.0.1'",
        f"unix_socket_directories = '{socket_dir}'",
        "shared_buffers = 16MB",
        "fsync = off  # a throwaway drill cluster; never on a real one",
        *lines,
    ]
    with (data / "postgresql.conf").open("a") as conf:
        conf.write("\n# the backup drill\n" + "\n".join(settings) + "\n")


def _url(port: int, database: str = "coalition") -> str:
    return f"postgresql://postgres@127.0.0.1:{port}/{database}"


async def _buy_round(url: str, keys: list[str], label: str, count: int) -> None:
    services = build_services(Settings(database_url=url, operator_token=None, public_url="http://t"))
    try:
        async with client(services) as http:
            for number in range(count):
                card = CARDS[number % len(CARDS)]
                answer = await buy(
                    http,
                    keys[number % 2],
                    card,
                    f"{1600 + number}.00",
                    redeem=2 if label != "A" else None,
                    receipt=f"{label}-{number}",
                )
                if answer.status_code != 201:
                    raise RuntimeError(f"purchase {label}-{number}: {answer.text}")
    finally:
        await services.close()


async def _set_up(url: str) -> tuple[int, list[str]]:
    services = build_services(Settings(database_url=url, operator_token=None, public_url="http://t"))
    try:
        network = await make_network(services, "drill")
        async with client(services) as http:
            for card in CARDS:
                await enrol(http, network.shop_key, card)
        return network.ref.id, [network.shop_key, network.cafe_key]
    finally:
        await services.close()


async def _state(url: str, network_id: int) -> dict[str, Any]:
    services = build_services(Settings(database_url=url, operator_token=None, public_url="http://t"))
    try:
        violations = await verify(services.engine)
        return {"figures": await figures(services, network_id, CARDS), "violations": violations}
    finally:
        await services.close()


def _receipts(url: str) -> set[str]:
    with psycopg.connect(url) as db:
        return {row[0] for row in db.execute("SELECT receipt FROM purchases")}


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


def run_drill(say: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the drill; the rounds found after recovery, the figures compared and how long each step took."""
    problem = cannot_run()
    if problem:
        raise RuntimeError(problem)
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL server binaries")
    root = Path(tempfile.mkdtemp(prefix="coalition-pitr-"))
    data, archive, restored = root / "data", root / "archive", root / "restored"
    archive.mkdir()
    if os.geteuid() == 0:
        postgres = pwd.getpwnam("postgres")
        for path in (root, archive):
            os.chown(path, postgres.pw_uid, postgres.pw_gid)
    drill = Drill(root, bin_dir, say)
    try:
        drill.as_postgres(
            bin_dir / "initdb",
            "-D",
            data,
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "--no-instructions",
            "-E",
            "UTF8",
        )
        port = _free_port()
        _configure(
            data,
            port,
            root,
            [
                "wal_level = replica",
                "archive_mode = on",
                f"archive_command = 'test ! -f {archive}/%f && cp %p {archive}/%f'",
            ],
        )
        drill.start(data)
        drill.mark(f"initdb and start: PostgreSQL {bin_dir.parent.name} on port {port}, archiving to {archive}")
        with psycopg.connect(_url(port, "postgres"), autocommit=True) as db:
            db.execute("CREATE DATABASE coalition")
        url = _url(port)
        migrate.upgrade(url)
        network_id, keys = anyio.run(_set_up, url)
        anyio.run(_buy_round, url, keys, "A", PURCHASES_PER_ROUND)
        drill.mark("migrated; a network, 4 members and round A of purchases")

        drill.as_postgres(
            bin_dir / "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "postgres",
            "-D",
            restored,
            "--checkpoint=fast",
            "--wal-method=stream",
        )
        drill.mark(f"pg_basebackup --checkpoint=fast --wal-method=stream -D {restored}")

        anyio.run(_buy_round, url, keys, "B", PURCHASES_PER_ROUND)
        at_target = anyio.run(_state, url, network_id)
        time.sleep(1.0)  # commit times are what recovery compares: keep the rounds clearly apart from T
        with psycopg.connect(url) as db:
            row = db.execute("SELECT clock_timestamp()").fetchone()
        if row is None:
            raise RuntimeError("the server did not say its time")
        target_time = row[0].isoformat()
        time.sleep(1.0)
        anyio.run(_buy_round, url, keys, "C", PURCHASES_PER_ROUND)
        with psycopg.connect(url, autocommit=True) as db:
            segment_row = db.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()
        if segment_row is None:
            raise RuntimeError("the server did not switch its WAL")
        segment = str(segment_row[0])
        _wait(lambda: (archive / segment).exists(), f"WAL segment {segment} in the archive")
        with psycopg.connect(url) as db:
            final = db.execute("SELECT COUNT(*), COALESCE(SUM(balance), 0) FROM member_balances").fetchone()
        drill.mark(f"round B, the target time {target_time}, round C; WAL switched and archived up to {segment}")
        drill.mark(f"after round C the {final[0] if final else 0} members hold {final[1] if final else 0} points")

        drill.stop(data, "immediate")  # the cluster is lost
        drill.mark("the original cluster is stopped (lost)")

        restored_port = _free_port()
        _configure(
            restored,
            restored_port,
            root,
            [
                f"restore_command = 'cp {archive}/%f %p'",
                f"recovery_target_time = '{target_time}'",
                "recovery_target_action = 'promote'",
                "archive_mode = off",
            ],
        )
        drill.as_postgres("touch", restored / "recovery.signal")
        drill.start(restored)

        def promoted() -> bool:
            try:
                with psycopg.connect(_url(restored_port), connect_timeout=2) as db:
                    answer = db.execute("SELECT pg_is_in_recovery()").fetchone()
                return answer is not None and answer[0] is False
            except psycopg.OperationalError:
                return False

        _wait(promoted, "the restored cluster to reach the target and promote")
        drill.mark(f"the base backup recovered to {target_time} and promoted, on port {restored_port}")

        restored_url = _url(restored_port)
        after = anyio.run(_state, restored_url, network_id)
        receipts = _receipts(restored_url)
        rounds = {label: sum(1 for r in receipts if r.startswith(f"{label}-")) for label in "ABC"}
        drill.mark(f"checked: purchases per round {rounds}; verify: {len(after['violations'])} violation(s)")
        log = (restored / "server.log").read_text()
        stop_line = next((line for line in log.splitlines() if "recovery stopping" in line), "")
        return {
            "rounds": rounds,
            "violations": after["violations"],
            "figures_equal": after["figures"] == at_target["figures"],
            "figures": after["figures"],
            "expected": at_target["figures"],
            "target_time": target_time,
            "recovery_log": stop_line.split("LOG:", 1)[-1].strip(),
            "timings": drill.timings,
        }
    finally:
        for data_dir in list(drill.running):
            try:
                drill.stop(data_dir, "immediate")
            except RuntimeError as error:  # pragma: no cover - best effort: say so and go on removing the rest
                say(f"could not stop {data_dir}: {error}")
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    import platform
    from datetime import UTC, datetime

    print(f"backup drill on {platform.node()} ({os.cpu_count()} cores), {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    result = run_drill()
    print(f"recovery: {result['recovery_log']}")
    print(f"purchases per round after recovery: {result['rounds']} (expected A and B whole, no C)")
    print(f"coalition verify: {'passes' if not result['violations'] else result['violations']}")
    for card in CARDS:
        expected = result["expected"]["members"][card]["points_balance"]
        found = result["figures"]["members"][card]["points_balance"]
        print(f"  member {card}: {expected} points at the target time, {found} after recovery")
    print(f"balances and statements equal those at the target time: {result['figures_equal']}")
    ok = (
        result["rounds"] == {"A": PURCHASES_PER_ROUND, "B": PURCHASES_PER_ROUND, "C": 0}
        and not result["violations"]
        and result["figures_equal"]
    )
    print("drill passed" if ok else "DRILL FAILED")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
