"""The built docs site renders offline: no external resource, and math typeset by KaTeX in a browser.

The site is built once per module into a temporary folder. The first test
reads every built page and stylesheet and fails on any script, stylesheet,
font or image that would be fetched from another host. The second opens the
pages in a real headless Chromium (Debian's build, driven by Playwright),
served from localhost, and checks that every image loaded and, on the pages
with math, that KaTeX typeset every formula, that none is a KaTeX error, that KaTeX's fonts loaded, and that no
request failed or tried to leave the machine. It is skipped, with the
reason, where Chromium or Playwright is missing (CI has neither); see
docs/contributing.md, "Checking the site in a real browser".
"""
from __future__ import annotations

import functools
import http.server
import os
import re
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)|@import\s+['"]([^'"]+)['"]""")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pytest.importorskip("mkdocs", reason="the docs build needs mkdocs (in the test extra)")
    pytest.importorskip("pymdownx.arithmatex", reason="the docs' math needs pymdown-extensions")
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    return out


class _Resources(HTMLParser):
    """The URLs a browser fetches to show a page (not the links a reader may follow)."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "img", "iframe", "source", "audio", "video", "embed") and a.get("src"):
            self.urls.append(a["src"])
        elif tag == "link" and a.get("href"):
            rel = set((a.get("rel") or "").lower().split())
            if rel & {"stylesheet", "preload", "modulepreload", "icon", "preconnect", "dns-prefetch",
                      "prefetch", "manifest"}:
                self.urls.append(a["href"])
        elif tag == "object" and a.get("data"):
            self.urls.append(a["data"])
        if a.get("style"):
            self.urls += [m[0] or m[1] for m in _CSS_URL.finditer(a["style"])]


def _external(url):
    return url.startswith("//") or urlparse(url).scheme not in ("", "data")


def test_the_site_fetches_nothing_from_another_host(site):
    problems, missing, checked = [], [], 0
    for page in sorted(site.rglob("*.html")):
        parser = _Resources()
        parser.feed(page.read_text(encoding="utf-8"))
        for url in parser.urls:
            checked += 1
            if _external(url):
                problems.append(f"{page.relative_to(site)}: {url}")
            elif not url.startswith("data:"):
                path = urlparse(url).path
                # 404.html names its resources from the site's root
                target = site / path.lstrip("/") if path.startswith("/") else page.parent / path
                if not target.resolve().exists():
                    missing.append(f"{page.relative_to(site)}: {url}")
    for css in sorted(site.rglob("*.css")):
        for m in _CSS_URL.finditer(css.read_text(encoding="utf-8")):
            url = m[1] or m[2]
            checked += 1
            if _external(url):
                problems.append(f"{css.relative_to(site)}: {url}")
            elif not url.startswith(("data:", "#")):
                if not (css.parent / urlparse(url).path).resolve().exists():
                    missing.append(f"{css.relative_to(site)}: {url}")
    assert checked > 100  # the parser saw the theme's and KaTeX's resources
    assert not problems, "resources fetched from another host:\n" + "\n".join(problems)
    assert not missing, "resources named but not in the site:\n" + "\n".join(missing)
    # KaTeX itself, and its fonts, are in the site
    assert (site / "assets" / "katex" / "katex.min.js").is_file()
    assert len(list((site / "assets" / "katex" / "fonts").glob("*.woff2"))) >= 15


def _math_pages(site):
    pages = [p for p in sorted(site.rglob("index.html")) if 'class="arithmatex"' in p.read_text(encoding="utf-8")]
    assert pages, "no page of the site has math (docs/contributing.md shows an example)"
    return pages


def _browser():
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM=...)")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="the browser check needs playwright (pip install playwright)")
    return sync_api


@pytest.fixture
def served(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_every_page_renders_offline_in_a_headless_browser_with_math_typeset(site, served):
    sync_api = _browser()
    math_pages = _math_pages(site)
    pages = sorted(site.rglob("index.html"))
    shot = os.environ.get("SITE_SCREENSHOT")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            failed, outside, errors = [], [], []
            page.on("requestfailed", lambda r: failed.append(f"{r.url}: {r.failure}"))
            page.on("pageerror", lambda e: errors.append(str(e)))

            def route(r):
                if r.request.url.startswith(served) or r.request.url.startswith("data:"):
                    r.continue_()
                else:
                    outside.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            for html in pages:
                url = urljoin(served, html.relative_to(site).parent.as_posix() + "/")
                response = page.goto(url, wait_until="load")
                assert response is not None and response.ok, url
                page.wait_for_function("() => document.fonts.status === 'loaded'")
                # let late requests (the favicon, the search index) finish before the next
                # page, or leaving the page aborts them and they would count as failed
                page.wait_for_load_state("networkidle")
                where = html.relative_to(site).as_posix()
                broken = page.evaluate("""() => [...document.images]
                    .filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)""")
                assert not broken, f"{where}: images that did not load: {broken}"
                if html not in math_pages:
                    continue
                counts = page.evaluate("""() => ({
                    math: document.querySelectorAll('.arithmatex').length,
                    typeset: document.querySelectorAll('.arithmatex > .katex, .arithmatex > .katex-display').length,
                    html: document.querySelectorAll('.arithmatex .katex-html').length,
                    errors: [...document.querySelectorAll('.katex-error')].map(e => e.title || e.textContent),
                    raw: [...document.querySelectorAll('.arithmatex')].filter(e => !e.querySelector('.katex'))
                           .map(e => e.textContent.slice(0, 80)),
                    font: document.fonts.check('16px KaTeX_Main'),
                    fontFaces: [...document.fonts].filter(f => f.family.startsWith('KaTeX')
                                                          && f.status === 'loaded').length,
                })""")
                assert counts["math"] > 0, where
                assert counts["typeset"] == counts["math"], f"{where}: formulas left as text: {counts['raw']}"
                assert counts["html"] == counts["math"], where
                assert not counts["errors"], f"{where}: KaTeX errors: {counts['errors']}"
                assert counts["font"] and counts["fontFaces"] > 0, f"{where}: KaTeX's fonts did not load"
                if shot and html == math_pages[0]:
                    page.locator(".arithmatex").first.scroll_into_view_if_needed()
                    page.screenshot(path=shot)
            assert not errors, f"script errors: {errors}"
            assert not outside, f"requests to another host: {outside}"
            assert not failed, f"failed requests: {failed}"
        finally:
            browser.close()


def test_each_page_with_code_links_its_notebook(site):
    import importlib.util

    spec = importlib.util.spec_from_file_location("docs_notebooks", ROOT / "docs" / "notebooks.py")
    nbs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(nbs)
    pages = nbs.notebook_pages()
    assert "backprop.md" in pages and "contributing.md" not in pages
    link = re.compile(r'<p class="notebook-note"><a download="[\w.-]+" href="([^"]+\.ipynb)">')
    for page in pages:
        stem = page[:-3]
        html = site / ("index.html" if stem == "index" else stem.removesuffix("/index") + "/index.html")
        text = html.read_text(encoding="utf-8")
        m = link.search(text)
        assert m, f"{page}: no notebook link under the title"
        assert text.index('class="notebook-note"') < text.find("<h2") % (len(text) + 1)  # under the title
        target = (html.parent / m[1]).resolve()
        assert target == (site / nbs.notebook_path(page)).resolve() and target.is_file(), page
        assert "form one program" in text
    assert 'class="notebook-note"' not in (site / "contributing" / "index.html").read_text(encoding="utf-8")
