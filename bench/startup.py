"""Start-up: median wall time of `cms --help` against `python -c "import typer"`.

Budget (docs/development.md): cms --help within 1.5x of importing Typer. Alternating runs, so
that a busy moment of the machine weighs on both alike. Prints figures; asserts nothing.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 21


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    cms = shutil.which("cms", path=str(Path(sys.executable).parent)) or shutil.which("cms")
    if cms is None:
        sys.exit("cms is not installed in this environment (pip install -e .)")
    help_cmd = [cms, "--help"]
    typer_cmd = [sys.executable, "-c", "import typer"]
    for cmd in (help_cmd, typer_cmd):  # warm the file cache
        timed(cmd)
    cms_times, typer_times = [], []
    for _ in range(RUNS):
        cms_times.append(timed(help_cmd))
        typer_times.append(timed(typer_cmd))
    cms_median = statistics.median(cms_times)
    typer_median = statistics.median(typer_times)
    print(f"runs each                    {RUNS}")
    print(f"cms --help median            {cms_median * 1000:7.1f} ms")
    print(f'python -c "import typer"     {typer_median * 1000:7.1f} ms')
    print(f"ratio                        {cms_median / typer_median:7.2f}x  (budget 1.50x)")


if __name__ == "__main__":
    main()
