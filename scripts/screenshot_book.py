"""Screenshots every page of the built book in headless Chromium with the network cut off, and fails if a figure
did not render.

    python scripts/screenshot_book.py book/_build/html shots/

For each HTML page of the build (folders starting with "_" and redirect stubs are skipped) it:

1. reads the page's HTML and fails it if the page would load anything from the network (a script, style sheet,
   image, frame or font with an http(s) address) or names a local file that is missing;
2. opens the page in Debian's Chromium (`--headless`, no sandbox, no GPU, no background networking or component
   updates, and every request sent to a proxy at 127.0.0.1:9 where nothing listens), lets its scripts run, and
   dumps the DOM (`--dump-dom`) and a PNG of the whole page (`--screenshot`, in a window as tall as the page);
3. fails the page when, in the rendered DOM, an inline figure (`<div class="enaslite-figure">`) holds no <svg>, a
   Vega-Embed chart holds no <svg> or <canvas>, a chart library reported an error, or a notebook output is a
   Python traceback.

Exit status 0 when every page passed, 1 when one failed (each failure is one line on stderr naming the page), and
2 when the command cannot run (no build folder, no Chromium: install the Debian package `chromium`).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

FIGURE_CLASS = "enaslite-figure"  # enaslite.charts.FIGURE_CLASS; not imported, so the script runs on any build
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
OFFLINE_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-sync", "--mute-audio",
    "--hide-scrollbars", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
# (tag, attribute) pairs that make a browser fetch something when the page loads.
FETCHING = {("script", "src"), ("img", "src"), ("iframe", "src"), ("embed", "src"), ("source", "src"),
            ("audio", "src"), ("video", "src"), ("object", "data"), ("use", "href"), ("image", "href")}
FETCHING_LINKS = {"stylesheet", "preload", "modulepreload", "icon", "shortcut icon", "manifest", "prefetch"}
JS_ERRORS = ("JavaScript Error", "Error loading script", "Javascript Error")


# -- a small DOM ------------------------------------------------------------------------------------------------------

@dataclass
class Node:
    tag: str
    attrs: dict
    children: list = field(default_factory=list)
    text: list = field(default_factory=list)

    def classes(self) -> set:
        return set((self.attrs.get("class") or "").split())

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()

    def has(self, *tags) -> bool:
        return any(node.tag in tags for node in self.walk() if node is not self)

    def all_text(self) -> str:
        return " ".join(t for node in self.walk() for t in node.text)


class _TreeBuilder(HTMLParser):
    """Builds a Node tree; tolerant of unclosed tags (an end tag closes up to its nearest open match)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        if data.strip():
            self.stack[-1].text.append(data.strip())


def parse_html(text: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root


# -- checks -----------------------------------------------------------------------------------------------------------

def _is_remote(url: str) -> bool:
    scheme = urlsplit(url.strip()).scheme.lower()
    return url.strip().startswith("//") or scheme in ("http", "https", "ftp", "ws", "wss")


def static_problems(page: Path, html: str) -> list[str]:
    """What the page's HTML would fetch from the network, and the local files it names that are missing."""
    problems = []
    for node in parse_html(html).walk():
        refs = [node.attrs.get(attr, "") for tag, attr in FETCHING if node.tag == tag]
        if node.tag == "use" or node.tag == "image":
            refs.append(node.attrs.get("xlink:href", ""))
        if node.tag == "link" and (node.attrs.get("rel") or "").lower() in FETCHING_LINKS:
            refs.append(node.attrs.get("href", ""))
        if node.tag == "style":
            css = node.all_text()
            refs += re.findall(r"""url\(\s*['"]?([^'")\s]+)""", css)
            refs += re.findall(r"""@import\s+['"]([^'"]+)['"]""", css)
        refs += re.findall(r"""url\(\s*['"]?([^'")\s]+)""", node.attrs.get("style", ""))
        for ref in filter(None, refs):
            if _is_remote(ref):
                problems.append(f"loads {ref} from the network (<{node.tag}>)")
            elif not ref.startswith(("#", "data:", "about:", "blob:", "javascript:")):
                target = (page.parent / unquote(urlsplit(ref).path)).resolve()
                if not target.exists():
                    problems.append(f"names a missing file {ref} (<{node.tag}>)")
    return problems


def dom_problems(dom: str) -> list[str]:
    """Figures that did not render, chart errors and tracebacks in the DOM after the page's scripts ran."""
    problems = []
    tree = parse_html(dom)
    figures = [n for n in tree.walk() if FIGURE_CLASS in n.classes()]
    empty = [i for i, n in enumerate(figures, start=1) if not n.has("svg")]
    if empty:
        problems.append(f"figure {', '.join(map(str, empty))} of {len(figures)} has no <svg>")
    embed_ids = set(re.findall(r"""vegaEmbed\(\s*['"]#([^'"]+)['"]""", dom))
    for node in tree.walk():
        if "vega-embed" in node.classes() or node.attrs.get("id") in embed_ids:
            if not node.has("svg", "canvas"):
                problems.append(f"chart #{node.attrs.get('id', '?')} did not render (no <svg> or <canvas>)")
        if node.tag in ("div", "p", "pre", "span") and ("error" in node.classes() or node.attrs.get("role") == "alert"):
            text = node.all_text()
            if any(e in text for e in JS_ERRORS):
                problems.append(f"chart error: {text[:200]}")
        if any("traceback" in c for c in node.classes()):
            problems.append(f"a notebook output is a traceback: {node.all_text()[:200]}")
    return problems


def is_redirect_stub(html: str) -> bool:
    """Jupyter Book's index.html that only redirects to the root page."""
    return bool(re.search(r"""http-equiv=["']refresh["']""", html, re.I)) and len(html) < 2000


# -- chromium ---------------------------------------------------------------------------------------------------------

def find_chromium(explicit: str | None = None) -> str | None:
    if explicit:
        return shutil.which(explicit) or (explicit if Path(explicit).is_file() else None)
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


def _chromium(chromium: str, profile: Path, args: list, timeout: float,
              attempts: int = 2) -> subprocess.CompletedProcess:
    """One headless Chromium run. A run that outlasts `timeout` is killed and started again, up to `attempts` runs in
    all: headless Chromium now and then hangs on a page it renders in a second the next time (seen once in about 30
    page loads here)."""
    cmd = [chromium, *OFFLINE_FLAGS, f"--user-data-dir={profile}", *args]
    for attempt in range(1, attempts + 1):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            if attempt == attempts:
                raise


def page_height(chromium: str, profile: Path, page: Path, width: int, timeout: float) -> int | None:
    """The page's full height at `width`, read by loading it in an iframe of a local wrapper page."""
    wrapper = profile.parent / "measure.html"
    wrapper.write_text(
        '<!DOCTYPE html><html><head><title>pending</title></head><body style="margin:0">'
        f'<iframe id="f" src="{page.resolve().as_uri()}" style="width:{width}px;height:800px;border:0"></iframe>'
        "<script>document.getElementById('f').addEventListener('load', function () {"
        " try { var d = this.contentDocument;"
        " document.title = 'height=' + Math.max(d.documentElement.scrollHeight, d.body.scrollHeight); }"
        " catch (e) { document.title = 'error'; } });</script></body></html>", encoding="utf-8")
    result = _chromium(chromium, profile, ["--allow-file-access-from-files", f"--window-size={width},800",
                                           "--virtual-time-budget=5000", "--dump-dom", wrapper.as_uri()], timeout)
    match = re.search(r"<title>height=(\d+)</title>", result.stdout)
    return int(match.group(1)) if match else None


def render(chromium: str, profile: Path, page: Path, png: Path, width: int, height: int,
           timeout: float) -> tuple[str, str]:
    """Loads the page once: returns (DOM after scripts, chromium's stderr) and writes the screenshot."""
    result = _chromium(chromium, profile, [f"--window-size={width},{height}", "--virtual-time-budget=5000",
                                           "--run-all-compositor-stages-before-draw", f"--screenshot={png}",
                                           "--dump-dom", page.resolve().as_uri()], timeout)
    return result.stdout, result.stderr


# -- main -------------------------------------------------------------------------------------------------------------

def book_pages(html_dir: Path) -> list[Path]:
    """Every .html under `html_dir` outside folders whose name starts with "_" or "."."""
    return sorted(p for p in html_dir.rglob("*.html")
                  if not any(part.startswith(("_", ".")) for part in p.relative_to(html_dir).parts[:-1]))


def png_name(html_dir: Path, page: Path) -> str:
    return "__".join(page.relative_to(html_dir).with_suffix(".png").parts)


def check_book(html_dir: Path, out_dir: Path, chromium: str, width: int = 1280, max_height: int = 16000,
               timeout: float = 90, log=print) -> list[str]:
    """Screenshots and checks every page; returns the failures, one line each, naming the page."""
    failures = []
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="screenshot-book-") as tmp:
        profile = Path(tmp) / "profile"
        for page in book_pages(html_dir):
            name = page.relative_to(html_dir).as_posix()
            html = page.read_text(encoding="utf-8", errors="replace")
            if is_redirect_stub(html):
                log(f"{name}: skipped (a redirect)")
                continue
            problems = static_problems(page, html)
            height = page_height(chromium, profile, page, width, timeout) or 2000
            png = out_dir / png_name(html_dir, page)
            png.unlink(missing_ok=True)
            dom, stderr = render(chromium, profile, page, png, width, min(height, max_height), timeout)
            if not dom.strip():
                problems.append(f"Chromium rendered nothing: {stderr.strip().splitlines()[-1:] or ['no output']}")
            problems += dom_problems(dom)
            if not png.is_file() or png.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n":
                problems.append("no screenshot was written")
            figures = len(re.findall(rf'class="[^"]*\b{FIGURE_CLASS}\b', dom))
            log(f"{name}: {figures} figure(s), {min(height, max_height)} px -> {png}"
                + (f"; FAILED: {'; '.join(problems)}" if problems else ""))
            failures += [f"{name}: {p}" for p in problems]
    return failures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("html_dir", help="the built book, e.g. book/_build/html")
    parser.add_argument("out_dir", help="folder for the PNG screenshots (created)")
    parser.add_argument("--width", type=int, default=1280, help="window width in px (default 1280)")
    parser.add_argument("--max-height", type=int, default=16000, help="cap on the screenshot height in px")
    parser.add_argument("--chromium", help="the browser binary (default: chromium on PATH)")
    parser.add_argument("--timeout", type=float, default=90, help="seconds per browser run")
    args = parser.parse_args(argv)
    html_dir = Path(args.html_dir)
    if not html_dir.is_dir() or not book_pages(html_dir):
        print(f"error: argument `html_dir`: expected a built book (a folder of .html pages), received "
              f"{args.html_dir!r}", file=sys.stderr)
        return 2
    chromium = find_chromium(args.chromium)
    if chromium is None:
        print("error: no Chromium found: install the Debian package `chromium` (apt-get install chromium)",
              file=sys.stderr)
        return 2
    failures = check_book(html_dir, Path(args.out_dir), chromium, args.width, args.max_height, args.timeout)
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
