"""Screenshots TensorBoard's time series of a run directory, and an architecture diagram, in headless Chromium.

    python scripts/screenshot_tensorboard.py runs/search/macro-reinforce-s0-2f1eaa0081 docs/img/tensorboard.png \
        --tags "controller|shared_weights"
    python scripts/screenshot_tensorboard.py --svg docs/img/arc.svg docs/img/arc.png

The first form starts `tensorboard --logdir RUN_DIR/tensorboard` on a free local port, waits until it serves the
run, and saves a PNG of its time-series dashboard with the tag filter `--tags` (a regex). The second renders an SVG
file (e.g. from `python -m enaslite show`) to PNG. Chromium runs as in `screenshot_book.py`: Debian's package,
headless, every request outside the local TensorBoard sent to a proxy where nothing listens.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--disable-extensions",
         "--no-first-run", "--disable-background-networking", "--proxy-server=127.0.0.1:9")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    sys.exit("error: no Chromium found (install the Debian package `chromium`)")


def shoot(url: str, png: Path, width: int, height: int, bypass: str = "<-loopback>", budget_ms: int = 20000) -> None:
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        run = subprocess.run([chromium(), *FLAGS, f"--proxy-bypass-list={bypass}", f"--user-data-dir={profile}",
                              f"--window-size={width},{height}", f"--virtual-time-budget={budget_ms}",
                              f"--screenshot={png}", url], capture_output=True, text=True, timeout=120)
    if run.returncode != 0 or not png.is_file():
        sys.exit(f"error: Chromium could not screenshot {url}: {run.stderr[-500:]}")


def tensorboard(run_dir: Path, png: Path, tags: str, width: int, height: int) -> None:
    logdir = run_dir / "tensorboard"
    if not logdir.is_dir():
        sys.exit(f"error: argument `run_dir`: expected a run directory with TensorBoard logs, received {run_dir} "
                 f"(make them with: python -m enaslite tensorboard {run_dir})")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir), "--port", str(port),
                               "--host", "127.0.0.1", "--load_fast=false"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while True:  # the dashboard is ready once the data endpoint lists the run's folders
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/data/runs", timeout=2) as r:
                    if json.loads(r.read()):
                        break
            except OSError:
                pass
            if time.time() > deadline:
                sys.exit("error: TensorBoard did not start within 60 s")
            time.sleep(1)
        query = urllib.parse.urlencode({"darkMode": "false", "tagFilter": tags})
        shoot(f"http://127.0.0.1:{port}/?{query}#timeseries", png, width, height, bypass=f"127.0.0.1:{port}")
    finally:
        server.terminate()
        server.wait(timeout=30)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source", help="a run directory, or with --svg an SVG file")
    ap.add_argument("png", type=Path)
    ap.add_argument("--svg", action="store_true", help="render the SVG file `source` instead")
    ap.add_argument("--tags", default="controller|shared_weights", help="TensorBoard tag filter (a regex)")
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--height", type=int, default=1000)
    args = ap.parse_args(argv)
    source = Path(args.source)
    if args.svg:
        if not source.is_file():
            sys.exit(f"error: argument `source`: expected an SVG file, received {source}")
        shoot(source.absolute().as_uri(), args.png, args.width, args.height)
    else:
        tensorboard(source, args.png, args.tags, args.width, args.height)
    print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
