"""A local preview of dist/ on 127.0.0.1, optionally under a sub-path like GitHub Pages'.

`pipeline serve --base /REPO/` serves dist/ at http://127.0.0.1:PORT/REPO/ so
that relative URLs are exercised exactly as on https://USER.github.io/REPO/.
Like GitHub Pages it lists no folders (a folder without index.html is a 404),
and a path holding a NUL byte is a 400, not an error in the server thread.
"""

from __future__ import annotations

import functools
import http.server
import threading
import urllib.parse
from pathlib import Path

MIME_TYPES = {".wasm": "application/wasm", ".js": "text/javascript", ".mjs": "text/javascript", ".json": "application/json"}


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}
    base = "/"

    def send_head(self):
        if not self.path.startswith(self.base):  # like GitHub Pages: nothing outside the project path
            self.send_error(404, "outside the served base path")
            return None
        if "\x00" in urllib.parse.unquote(self.path):  # the file system cannot name it: os.stat would raise
            self.send_error(400, "a NUL byte in the path")
            return None
        return super().send_head()

    def list_directory(self, path):
        self.send_error(404, "no index.html here (folders are not listed)")
        return None

    def translate_path(self, path):
        return super().translate_path("/" + path[len(self.base):])

    def log_message(self, format, *args):
        if self.server.verbose:
            super().log_message(format, *args)


def make_server(root: Path, host: str = "127.0.0.1", port: int = 0, base: str = "/", verbose=False):
    """A threaded HTTP server for `root` under the URL prefix `base` ('/' or '/name/').

    Port 0 picks a free port; read it from `server.server_address[1]`.
    """
    base = "/" + base.strip("/") + "/" if base.strip("/") else "/"
    handler = functools.partial(type("Handler", (_Handler,), {"base": base}), directory=str(root))
    server = http.server.ThreadingHTTPServer((host, port), handler)
    server.verbose = verbose
    server.base = base
    return server


def serve_in_background(root: Path, base: str = "/"):
    """Start `make_server` in a daemon thread; returns (server, url). Call server.shutdown() to stop."""
    server = make_server(root, base=base)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    return server, f"http://{host}:{port}{server.base}"
