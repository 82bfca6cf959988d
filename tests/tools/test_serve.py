"""pipeline/tools/serve.py: dist/ served as GitHub Pages serves it: gzip and max-age=600, files only (a
folder without index.html is a 404, never a listing), and a request the file system cannot name (a NUL byte)
is a 400, not a traceback in the server's thread; with a log of what was sent and a slow link shared by every
connection. Real HTTP over 127.0.0.1, to the server in this process and to the real `python -m pipeline serve`.
"""

from __future__ import annotations

import gzip
import http.client
import os
import signal
import time

import pytest

from pipeline.tools.serve import Link, MAX_AGE_S, body, serve_in_background
from tests.helpers import ctrl_c_reaches_child, start_cli


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


def logged(server, count: int) -> list:
    """server.sent once it holds `count` responses: the server's thread logs a response after its last byte
    is written, so a client that has read it all may get here first (10 s at most, then what there is)."""
    deadline = time.monotonic() + 10
    while len(server.sent) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return list(server.sent)


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
    # Logged in the order the responses finished: a client may read one before the server's thread logs it.
    entries = logged(server, 5)
    sent = {(s.path, s.status): s for s in entries}
    assert sorted((s.path, s.status) for s in entries) == sorted([
        ("/digits/", 200), ("/digits/w.wasm?v=1", 200), ("/digits/i.png", 200), ("/digits/index.html", 200), ("/digits/", 304)])
    # Bytes on the wire: the compressed body and the headers.
    assert len(page_body) < sent["/digits/", 200].bytes < len(page_body) + 500 < len(plain_body)


def test_body_is_what_a_browser_is_sent(site):
    """serve.body, which the benchmarks use to size a download without a server: the bytes of each response."""
    (site / "model.json").write_text('{"weights": ' + "[0.5]" * 300 + "}")
    (site / "group1-shard1of1.bin").write_bytes(bytes(range(256)) * 20)
    server, url = serve_in_background(site, base="/digits/")
    try:
        sent = {name: get(url, f"/digits/{name}", {"Accept-Encoding": "gzip"})
                for name in ("index.html", "w.wasm", "i.png", "model.json", "group1-shard1of1.bin")}
    finally:
        server.shutdown()
        server.server_close()
    assert {name: response_body for name, (_, response_body) in sent.items()} == {name: body(site / name) for name in sent}
    assert {name for name, (response, _) in sent.items() if response.getheader("Content-Encoding") == "gzip"} == {
        "index.html", "w.wasm", "model.json"}, "the weights and the PNG go as they are"


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
    assert elapsed >= 0.2 + logged(server, 1)[0].bytes / 10_000 * 0.95


@pytest.fixture
def server(tmp_path):
    """(port, process) of `pipeline serve --port 0 --base /repo/` on a small site; the process's stderr
    (its request log) is read by the test after stopping it."""
    site = tmp_path / "dist"
    (site / "assets" / "icons").mkdir(parents=True)
    (site / "index.html").write_text("<p>home</p>")
    (site / "assets" / "app.js").write_text("// app")
    (site / "guide").mkdir()
    (site / "guide" / "index.html").write_text("<p>guide</p>")
    process = start_cli("serve", "--dist", str(site), "--port", "0", "--base", "/repo/", cwd=tmp_path,
                    preexec_fn=ctrl_c_reaches_child)
    line = process.stdout.readline()  # "serving DIST at http://127.0.0.1:PORT/repo/ (Ctrl-C stops)", once it listens
    assert line.startswith("serving "), line + process.stderr.read()
    port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
    yield port, process
    if process.poll() is None:
        process.kill()
        process.communicate()


def get_from(port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", path)  # sent as written: http.client does not re-encode the path
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body


def stopped(process) -> str:
    """Ctrl-C the server; its stderr (the request log)."""
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    return err


def test_files_are_served_and_folders_are_not_listed(server):
    port, process = server
    assert get_from(port, "/repo/") == (200, b"<p>home</p>")
    assert get_from(port, "/repo/guide/") == (200, b"<p>guide</p>")
    assert get_from(port, "/repo/assets/app.js") == (200, b"// app")
    for folder in ("/repo/assets/", "/repo/assets/icons/"):
        status, body = get_from(port, folder)
        assert status == 404 and b"app.js" not in body and b"icons" not in body, body
    assert "Traceback" not in stopped(process)


@pytest.mark.parametrize("path", ["/repo/%00", "/repo/index.html%00.js", "/repo/assets/%00/", "/repo/a%2500b"])
def test_a_nul_byte_is_a_400_not_a_traceback(server, path):
    port, process = server
    status, _ = get_from(port, path)
    assert status == (404 if "%25" in path else 400)  # %2500 is the text "%00", a name that is merely absent
    assert get_from(port, "/repo/") == (200, b"<p>home</p>"), "the server still answers"
    log = stopped(process)
    assert "Traceback" not in log and "Exception occurred" not in log, log


def test_serve_a_folder_that_is_not_there(tmp_path):
    process = start_cli("serve", "--dist", str(tmp_path / "nothing"), "--port", "0", cwd=tmp_path)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2 and out == "" and len(err.splitlines()) == 1 and "--dist" in err


def test_only_regular_files_inside_the_site_are_served(server, tmp_path):
    """A FIFO in the folder held a server thread for ever (open() blocks); a link to a file outside the folder
    served that file. Both are 404s now, a request that climbs out with .. too, and the server goes on."""
    port, process = server
    site = tmp_path / "dist"
    (tmp_path / "secret.txt").write_text("a private file")
    (site / "leak.txt").symlink_to(tmp_path / "secret.txt")
    (site / "leak.js").symlink_to(tmp_path / "secret.txt")  # a gzip type: the other way a file is sent
    (site / "assets" / "home.html").symlink_to(site / "index.html")  # a link inside the site is served
    os.mkfifo(site / "pipe.js")
    for path in ("/repo/leak.txt", "/repo/leak.js", "/repo/pipe.js", "/repo/../secret.txt", "/repo/%2e%2e/secret.txt",
                 "/repo/assets/../../secret.txt"):
        status, body = get_from(port, path)
        assert status == 404 and b"private" not in body, (path, status)
    assert get_from(port, "/repo/assets/home.html") == (200, b"<p>home</p>")
    log = stopped(process)
    assert "Traceback" not in log and "Exception occurred" not in log, log


@pytest.mark.parametrize("since", ["nonsense", "Mon, 99 Foo 2026 25:61:61 GMT", "0" * 300, "Tue, 01 Jan 10000 00:00:00 GMT"])
def test_an_unreadable_if_modified_since_is_ignored(since, site):
    """A date the server cannot read broke the response (an exception in its thread, the connection dropped)."""
    server, url = serve_in_background(site)
    try:
        response, body = get(url, "/index.html", {"Accept-Encoding": "gzip", "If-Modified-Since": since})
        assert response.status == 200 and gzip.decompress(body) == (site / "index.html").read_bytes()
    finally:
        server.shutdown()
        server.server_close()
