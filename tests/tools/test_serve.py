"""pipeline/tools/serve.py: dist/ served as GitHub Pages serves it (gzip, max-age=600), with a log of what was sent
and a slow link shared by every connection. Real HTTP over 127.0.0.1."""

from __future__ import annotations

import gzip
import http.client
import time

import pytest

from pipeline.tools.serve import Link, MAX_AGE_S, serve_in_background


@pytest.fixture
def site(tmp_path):
    (tmp_path / "index.html").write_text("<p>" + "digit " * 500 + "</p>")
    (tmp_path / "w.wasm").write_bytes(b"\0asm" + bytes(4000))
    (tmp_path / "i.png").write_bytes(b"\x89PNG" + bytes(2000))
    return tmp_path


def get(url: str, path: str, headers: dict | None = None):
    host, port = url.split("//")[1].split("/")[0].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response, body


def test_text_and_wasm_go_gzip_with_pages_cache_header_and_everything_sent_is_logged(site):
    server, url = serve_in_background(site, base="/digits/")
    try:
        page, page_body = get(url, "/digits/", {"Accept-Encoding": "gzip"})
        wasm, wasm_body = get(url, "/digits/w.wasm?v=1", {"Accept-Encoding": "gzip"})
        png, png_body = get(url, "/digits/i.png", {"Accept-Encoding": "gzip"})
        plain, plain_body = get(url, "/digits/index.html")  # a client that does not ask for gzip
        again, _ = get(url, "/digits/", {"Accept-Encoding": "gzip", "If-Modified-Since": page.getheader("Last-Modified")})
    finally:
        server.shutdown()
        server.server_close()
    assert page.getheader("Content-Encoding") == "gzip" and gzip.decompress(page_body) == (site / "index.html").read_bytes()
    assert wasm.getheader("Content-Type") == "application/wasm" and gzip.decompress(wasm_body) == (site / "w.wasm").read_bytes()
    assert png.getheader("Content-Encoding") is None and png_body == (site / "i.png").read_bytes()
    assert plain.getheader("Content-Encoding") is None and plain_body == (site / "index.html").read_bytes()
    assert again.status == 304
    assert {r.getheader("Cache-Control") for r in (page, wasm, png, plain, again)} == {f"max-age={MAX_AGE_S}"}
    assert [(s.path, s.status) for s in server.sent] == [
        ("/digits/", 200), ("/digits/w.wasm?v=1", 200), ("/digits/i.png", 200), ("/digits/index.html", 200), ("/digits/", 304)]
    # Bytes on the wire: the compressed body and the headers.
    assert len(page_body) < server.sent[0].bytes < len(page_body) + 500 < len(plain_body)


def test_a_link_delays_every_response_and_paces_the_bytes(site):
    server, url = serve_in_background(site, base="/", link=Link(bits_per_s=80_000, latency_s=0.2))  # 10 kB/s
    try:
        start = time.monotonic()
        response, body = get(url, "/i.png")
        elapsed = time.monotonic() - start
    finally:
        server.shutdown()
        server.server_close()
    assert response.status == 200 and body == (site / "i.png").read_bytes()
    # At least the latency and ~2 kB at 10 kB/s: a lower bound only, so a slow machine cannot fail it.
    assert elapsed >= 0.2 + server.sent[0].bytes / 10_000 * 0.95
