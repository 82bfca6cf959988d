"""`pipeline serve`, as GitHub Pages serves: files only (a folder without index.html is a 404, never a
listing), and a request the file system cannot name (a NUL byte) is a 400, not a traceback in the
server's thread. Real HTTP requests to the real `python -m pipeline serve` on 127.0.0.1.
"""

from __future__ import annotations

import http.client
import signal

import pytest

from tests.helpers import ctrl_c_reaches_child, start_cli


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


def get(port: int, path: str) -> tuple[int, bytes]:
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
    assert get(port, "/repo/") == (200, b"<p>home</p>")
    assert get(port, "/repo/guide/") == (200, b"<p>guide</p>")
    assert get(port, "/repo/assets/app.js") == (200, b"// app")
    for folder in ("/repo/assets/", "/repo/assets/icons/"):
        status, body = get(port, folder)
        assert status == 404 and b"app.js" not in body and b"icons" not in body, body
    assert "Traceback" not in stopped(process)


@pytest.mark.parametrize("path", ["/repo/%00", "/repo/index.html%00.js", "/repo/assets/%00/", "/repo/a%2500b"])
def test_a_nul_byte_is_a_400_not_a_traceback(server, path):
    port, process = server
    status, _ = get(port, path)
    assert status == (404 if "%25" in path else 400)  # %2500 is the text "%00", a name that is merely absent
    assert get(port, "/repo/") == (200, b"<p>home</p>"), "the server still answers"
    log = stopped(process)
    assert "Traceback" not in log and "Exception occurred" not in log, log


def test_serve_a_folder_that_is_not_there(tmp_path):
    process = start_cli("serve", "--dist", str(tmp_path / "nothing"), "--port", "0", cwd=tmp_path)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2 and out == "" and len(err.splitlines()) == 1 and "--dist" in err
