"""Issue 12, hole 1, against a real server: a draft whose condition would freeze a worker is refused while the same
worker keeps answering /health within 100 ms (before the cost budget, it evaluated the condition 602 times, about
0.1 s each, holding Python's lock: /health waited a minute).

The 100 ms are the worker's own: the processor time the server spends while one /health waits for its answer. On a
loaded host (CI's two cores under three test processes) a /health also waits for a core, which says nothing of the
worker (one answer in 20 took 97 ms here at load 13 with no draft to blame); a worker frozen by the draft spends the
freeze's processor time inside that wait. Every answer must still come within the client's 2 s."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx

from tests.cli.test_serve import VENV_BIN, _children, _free_port, _healthy, _wait_until

DIGITS = "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"
PUT_TIMEOUT_SECONDS = 10  # the old code needed minutes: the test fails then, rather than hang the suite


def _cpu_seconds(pids: list[int]) -> float:
    """User and system processor time the processes have used so far (/proc/<pid>/stat, fields 14 and 15)."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _freezing_condition() -> str:
    body = "true"
    for level in range(5):
        body = f"{DIGITS}.all(v{level}, v{level} >= 0 && {body})"
    return body


def test_a_worker_answers_health_within_100_ms_while_a_freezing_draft_is_refused(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    demo = subprocess.run(
        [VENV_BIN / "coalition", "demo", "--json", "--database-url", url], check=True, capture_output=True, text=True
    )
    admin_key = json.loads(demo.stdout)["admin_key"]
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [VENV_BIN / "coalition", "serve", "--database-url", url, "--port", str(port), "--workers", "1"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: a worker stuck in the library is killed with it
    )
    try:
        _wait_until(lambda: _healthy(base))
        draft = {
            "rules": [
                {"code": f"r{n}", "condition": "basket.total_minor > 0", "effects": [{"discount": {"percent": "1"}}]}
                for n in range(3)
            ]
            + [{"code": "freeze", "condition": _freezing_condition(), "effects": [{"discount": {"percent": "5"}}]}]
        }
        answer: dict[str, object] = {}

        def save() -> None:
            try:
                answer["response"] = httpx.put(
                    f"{base}/v1/admin/rule-sets/draft",
                    json=draft,
                    headers={"Authorization": f"Bearer {admin_key}"},
                    timeout=PUT_TIMEOUT_SECONDS,
                )
            except httpx.TimeoutException as error:
                answer["error"] = error

        served = [server.pid, *_children(server.pid)]  # the server and its worker, if it runs one apart
        latencies: list[float] = []
        worked: list[float] = []  # the server's processor time during each /health
        with httpx.Client(timeout=2) as health:
            health.get(f"{base}/health")  # the connection is open before the draft arrives
            saving = threading.Thread(target=save)
            saving.start()
            while saving.is_alive() or len(latencies) < 20:
                started, cpu = time.perf_counter(), _cpu_seconds(served)
                try:
                    assert health.get(f"{base}/health").status_code == 200
                    latencies.append(time.perf_counter() - started)
                except httpx.TimeoutException:
                    latencies.append(float("inf"))
                worked.append(_cpu_seconds(served) - cpu)
                time.sleep(0.01)
            saving.join()
        assert max(worked) < 0.1, (sorted(worked)[-5:], sorted(latencies)[-5:])
        assert max(latencies) < float("inf"), sorted(latencies)[-5:]  # none waited the client's 2 s
        assert "error" not in answer, f"the draft was not answered within {PUT_TIMEOUT_SECONDS} s"
        response = answer["response"]
        assert isinstance(response, httpx.Response)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert problem["field"] == "rules[3].condition"
        assert "nest at most 3 deep" in problem["detail"]
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=20)
        log.close()
