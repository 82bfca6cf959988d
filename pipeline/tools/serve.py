"""A local preview of dist/ on 127.0.0.1, optionally under a sub-path like GitHub Pages'.

`pipeline serve --base /REPO/` serves dist/ at http://127.0.0.1:PORT/REPO/ so
that relative URLs are exercised exactly as on https://USER.github.io/REPO/.
Like GitHub Pages, it sends `Cache-Control: max-age=600` and gzips text and
WebAssembly for clients that accept it, so byte counts and HTTP caching in the
browser tests and benchmarks are those of the real host.

For the tests and benchmarks, the server also records what it sent (`server.sent`:
one `Sent` per response, bytes on the wire with headers) and can stand in for a
slow network (`link=Link(...)`): unlike the browser's own throttling, which applies
per page, it slows the page, its workers and its service worker alike.
Like GitHub Pages it lists no folders (a folder without index.html is a 404),
serves only regular files inside the folder (a FIFO would hold a thread for ever,
a link could reach any file of the machine: both are 404s), ignores an
If-Modified-Since it cannot read, and a path holding a NUL byte is a 400, not an
error in the server thread.
"""

from __future__ import annotations

import email.utils
import functools
import gzip
import http.server
import io
import mimetypes
import os
import stat
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from typing import NamedTuple

MIME_TYPES = {".wasm": "application/wasm", ".js": "text/javascript", ".mjs": "text/javascript", ".json": "application/json",
              ".webmanifest": "application/manifest+json"}
MAX_AGE_S = 600  # GitHub Pages' Cache-Control: max-age
GZIP_TYPES = ("text/", "application/javascript", "application/json", "application/manifest+json", "application/wasm",
              "image/svg+xml")  # content types sent gzip-encoded (prefixes), as GitHub Pages does; PNGs go as they are
GZIP_LEVEL = 6  # zlib's default, what web servers use on the fly


EXTENSION_TYPES = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}


def content_type(path: Path) -> str:
    """The Content-Type the server (and GitHub Pages) gives the file at `path`: SimpleHTTPRequestHandler's
    guess with MIME_TYPES first."""
    return EXTENSION_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def body(path: Path) -> bytes:
    """The response body for the file at `path` to a browser (one that accepts gzip): gzip-encoded when its
    type is one of GZIP_TYPES, as it is otherwise."""
    data = path.read_bytes()
    return gzip.compress(data, GZIP_LEVEL, mtime=0) if content_type(path).startswith(GZIP_TYPES) else data


class Sent(NamedTuple):
    """One response as it left the server."""

    path: str  # the request's path, query included, e.g. "/digits/model/model.json?v=..."
    status: int
    bytes: int  # status line, headers and body as sent (gzip-encoded where it was)


class Link:
    """A slow network shared by every connection: each response starts `latency_s` late, and all
    bodies together go out at `bits_per_s`."""

    def __init__(self, bits_per_s: float, latency_s: float):
        self.bytes_per_s = bits_per_s / 8
        self.latency_s = latency_s
        self._lock = threading.Lock()
        self._free_at = 0.0  # time.monotonic() when the link has sent everything queued so far

    def send(self, count: int) -> None:
        """Wait until `count` more bytes would have gone out."""
        with self._lock:
            now = time.monotonic()
            self._free_at = max(now, self._free_at) + count / self.bytes_per_s
            done_at = self._free_at
        time.sleep(max(0.0, done_at - time.monotonic()))


class _CountingWriter:
    """The handler's socket writer, counting bytes and pacing them through the server's Link."""

    def __init__(self, raw, link: Link | None):
        self.raw, self.link, self.count = raw, link, 0

    def write(self, data) -> int:
        if self.link:
            self.link.send(len(data))
        self.count += len(data)
        return self.raw.write(data)

    def __getattr__(self, name):  # flush, closed, ...: the socket writer's own
        return getattr(self.raw, name)


class _Handler(http.server.SimpleHTTPRequestHandler):
    base = "/"

    def send_head(self):
        if not self.path.startswith(self.base):  # like GitHub Pages: nothing outside the project path
            self.send_error(404, "outside the served base path")
            return None
        if "\x00" in urllib.parse.unquote(self.path):  # the file system cannot name it: os.stat would raise
            self.send_error(400, "a NUL byte in the path")
            return None
        path = self.translate_path(self.path)
        if os.path.isdir(path) and self.path.split("?")[0].endswith("/"):
            path = os.path.join(path, "index.html")
        if os.path.lexists(path) and not os.path.isdir(path) and not self._servable(path):
            self.send_error(404, "not a file of the site")
            return None
        ctype = content_type(Path(path))
        if os.path.isfile(path) and ctype.startswith(GZIP_TYPES) and "gzip" in self.headers.get("Accept-Encoding", ""):
            return self._send_gzip(path, ctype)
        return super().send_head()

    def guess_type(self, path) -> str:  # for the responses SimpleHTTPRequestHandler sends as they are
        return content_type(Path(path))

    def _servable(self, path: str) -> bool:
        """Whether `path` is a regular file inside the served folder, links followed."""
        real, root = os.path.realpath(path), os.path.realpath(self.directory)
        return os.path.commonpath([real, root]) == root and stat.S_ISREG(os.stat(real).st_mode)

    def _send_gzip(self, path: str, ctype: str):
        """The file at `path` gzip-encoded, or 304 when the client's copy is current (If-Modified-Since)."""
        modified = int(os.stat(path).st_mtime)
        try:
            since = email.utils.parsedate_to_datetime(self.headers.get("If-Modified-Since") or "")
        except (TypeError, ValueError, IndexError, OverflowError):  # absent or unreadable: send the file
            since = None
        if since and since.timestamp() >= modified:
            self.send_response(304)
            self.end_headers()
            return None
        encoded = body(Path(path))
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(encoded)))
        self.send_header("Last-Modified", self.date_time_string(modified))
        self.send_header("Vary", "Accept-Encoding")
        self.end_headers()
        return io.BytesIO(encoded)

    def setup(self):
        super().setup()
        self.wfile = _CountingWriter(self.wfile, self.server.link)

    def handle_one_request(self):
        before, self.status = self.wfile.count, 0
        super().handle_one_request()
        if self.status:
            self.server.sent.append(Sent(self.path, self.status, self.wfile.count - before))

    def send_response(self, code, message=None):
        self.status = int(code)
        if self.server.link:  # the request's way here and the response's way back
            time.sleep(self.server.link.latency_s)
        super().send_response(code, message)

    def end_headers(self):
        self.send_header("Cache-Control", f"max-age={MAX_AGE_S}")
        super().end_headers()

    def list_directory(self, path):
        self.send_error(404, "no index.html here (folders are not listed)")
        return None

    def translate_path(self, path):
        return super().translate_path("/" + path[len(self.base):])

    def log_message(self, format, *args):
        if self.server.verbose:
            super().log_message(format, *args)


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        """A browser that hangs up mid-response (a page closed, a fetch aborted) is not the server's error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def make_server(root: Path, host: str = "127.0.0.1", port: int = 0, base: str = "/", verbose=False, link: Link | None = None):
    """A threaded HTTP server for `root` under the URL prefix `base` ('/' or '/name/'), as fast as the
    machine or as slow as `link`. Port 0 picks a free port; read it from `server.server_address[1]`.
    `server.sent` lists every response (Sent), in the order they finished.
    """
    base = "/" + base.strip("/") + "/" if base.strip("/") else "/"
    handler = functools.partial(type("Handler", (_Handler,), {"base": base}), directory=str(root))
    server = _Server((host, port), handler)
    server.verbose = verbose
    server.base = base
    server.link = link
    server.sent = []
    return server


def serve_in_background(root: Path, base: str = "/", link: Link | None = None):
    """Start `make_server` in a daemon thread; returns (server, url). Call server.shutdown() to stop."""
    server = make_server(root, base=base, link=link)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    return server, f"http://{host}:{port}{server.base}"
