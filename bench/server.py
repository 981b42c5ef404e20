"""cms serve and its client, on 12,000 offerings (SQLite).

Prints (d) `cms offering import` of 12,000 rows as a client (uploaded, checked and
written by the server; budget: >= 8,000 rows/s), then (a) the client's start-up: `cms offering show ID --json` against a local `cms
serve`, whole process, median of 7, beside `python -c "import typer"` (budget: within
1.5x); (b) authenticated `GET /api/v1/offerings/{id}` with 2 server workers and 16
connections, requests per second over 5 s (budget: >= 500/s); (c) `GET
/api/v1/offerings` of 12,000 rows, median of 5 (budget: <= 0.5 s).
Prints figures; asserts nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import cms, median

RUNS = 7
#: What any client of this stack imports before its first line of work: Typer, httpx
#: (the fixed client library) and pydantic's models (the wire format, and settings).
CLIENT_STACK = "import typer, httpx, pydantic_settings"
CONNECTIONS = 16
SECONDS = 5.0


def main() -> None:
    import httpx

    sys.path.insert(0, os.path.dirname(__file__))
    import offerings as seed
    from servers import free_port

    work = Path(tempfile.mkdtemp(prefix="cms-bench-server-"))
    server = None
    try:
        db = work / "big.db"
        token = seed.seed_catalog(f"sqlite:///{db}")
        sheet = work / "offerings.csv"
        seed.write_csv(sheet)
        env = {"CMS_DATABASE_URL": f"sqlite:///{db}", "CMS_TOKEN": token, "CMS_HOME": str(work)}
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [cms(), "serve", "--port", str(port), "--workers", "2"],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        client_env = {"CMS_SERVER_URL": url, "CMS_TOKEN": token, "CMS_HOME": str(work / "c")}
        clean = {k: v for k, v in os.environ.items() if k != "CMS_DATABASE_URL"}
        begun = time.perf_counter()
        imported = subprocess.run(
            [cms(), "offering", "import", str(sheet), "--json"],
            env={**clean, **client_env},
            capture_output=True,
            text=True,
        )
        took = time.perf_counter() - begun
        if imported.returncode != 0:
            sys.exit(f"import through the server failed: {imported.stderr}")
        rows = seed.ROWS
        print(
            f"(d) offering import of {rows} rows through the server: {took:5.2f} s, "
            f"{rows / took:6.0f} rows/s (budget >= 8,000 rows/s)"
        )
        starts, floors, stacks = [], [], []
        for _ in range(RUNS):
            begun = time.perf_counter()
            subprocess.run(
                [cms(), "offering", "show", "1", "--json"],
                env={**clean, **client_env},
                capture_output=True,
                check=True,
            )
            starts.append(time.perf_counter() - begun)
            begun = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import typer"], check=True)
            floors.append(time.perf_counter() - begun)
            begun = time.perf_counter()
            subprocess.run([sys.executable, "-c", CLIENT_STACK], check=True)
            stacks.append(time.perf_counter() - begun)
        start, floor, stack = median(starts), median(floors), median(stacks)
        print(
            f"(a) client: offering show --json {start * 1000:6.0f} ms; import typer "
            f"{floor * 1000:4.0f} ms: {start / floor:4.1f}x (budget 1.5x); the client's stack "
            f"alone ({CLIENT_STACK!r}) {stack * 1000:4.0f} ms: {start / stack:4.2f}x"
        )
        headers = {"Authorization": f"Bearer {token}"}
        ab = shutil.which("ab")
        if ab:  # Apache Bench: a load generator that does not share Python's GIL with us
            out = subprocess.run(
                [
                    ab,
                    "-q",
                    "-k",
                    "-c",
                    str(CONNECTIONS),
                    "-t",
                    str(int(SECONDS)),
                    "-n",
                    "1000000",
                    "-H",
                    f"Authorization: Bearer {token}",
                    f"{url}/api/v1/offerings/101",
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            rate = next(
                line.split(":")[1].split()[0]
                for line in out.splitlines()
                if line.startswith("Requests per second")
            )
            failed = next(
                line.split(":")[1].strip()
                for line in out.splitlines()
                if line.startswith("Non-2xx") or line.startswith("Failed requests")
            )
            print(
                f"(b) GET /api/v1/offerings/{{id}}, 2 workers, {CONNECTIONS} connections (ab): "
                f"{float(rate):6.0f} requests/s, failed {failed} (budget >= 500/s)"
            )
        done = [0] * CONNECTIONS
        stop = time.monotonic() + SECONDS

        def hammer(slot: int) -> None:
            with httpx.Client(base_url=url, headers=headers) as client:
                while time.monotonic() < stop:
                    client.get(f"/api/v1/offerings/{slot * 100 + 1}").raise_for_status()
                    done[slot] += 1

        threads = [threading.Thread(target=hammer, args=(i,)) for i in range(CONNECTIONS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(
            f"(b) the same from {CONNECTIONS} Python threads (httpx): "
            f"{sum(done) / SECONDS:6.0f} requests/s"
        )
        times = []
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            for _ in range(5):
                begun = time.perf_counter()
                rows = client.get("/api/v1/offerings").json()
                times.append(time.perf_counter() - begun)
        print(
            f"(c) GET /api/v1/offerings, {len(rows)} rows: {median(times):5.2f} s "
            "(median of 5; budget <= 0.5 s)"
        )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=15)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
