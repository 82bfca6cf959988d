"""pipeline/webapp.py without a browser: head tags, the CSP's refusals, the precache list and its version, icons."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image

from pipeline.build.webapp import PageError, add_head_tags, cache_version, draw_icon, precache_files, write_service_worker
from tests.helpers import ROOT


PAGE = '<!doctype html>\n<html lang="en">\n<head>\n  <meta charset="utf-8">\n  <title>t</title>\n</head>\n<body></body>\n</html>\n'


def test_head_tags_come_in_order_and_once():
    html = add_head_tags(PAGE, Path("index.html"))
    assert html.index('<meta charset="utf-8">') < html.index("Content-Security-Policy") < html.index("<title>")
    assert html.index('src="js/offline.js"') < html.index("</head>")
    assert add_head_tags(html, Path("index.html")).count("Content-Security-Policy") == 1
    assert add_head_tags(html, Path("index.html")).count("js/offline.js") == 1


def test_a_page_in_a_folder_links_back_to_the_root():
    html = add_head_tags(PAGE, Path("docs/about.html"))
    assert 'href="../manifest.webmanifest"' in html and 'src="../js/offline.js"' in html


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("<script>alert(1)</script>", "inline <script>"),
        ('<script type="module">import "./x.js";</script>', "inline <script>"),
        ('<button onclick="go()">Go</button>', "<button onclick=...>"),
        ('<p style="color: red">x</p>', '<p style="...">'),
        ("<style>p { color: red }</style>", "<style> element"),
    ],
)
def test_what_the_csp_would_block_is_refused_by_name(body, problem):
    with pytest.raises(PageError, match=re.escape(f"lab.html: {problem}")):
        add_head_tags(PAGE.replace("<body></body>", f"<body>{body}</body>"), Path("lab.html"), page_name="lab.html")


def test_data_blocks_and_import_maps_are_allowed():
    body = '<script type="application/json" id="c">{"a": 1}</script><script type="importmap">{"imports": {}}</script>'
    html = add_head_tags(PAGE.replace("<body></body>", f"<body>{body}</body>"), Path("index.html"))
    assert re.search(r"script-src 'self' 'wasm-unsafe-eval' 'sha256-[A-Za-z0-9+/]+=*';", html)


def test_precache_lists_every_file_but_the_worker_and_dotfiles(tmp_path):
    for rel in ["index.html", "js/a.js", "model/w 1.bin", ".nojekyll", "sw.js"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(rel)
    assert [p.as_posix() for p in precache_files(tmp_path)] == ["index.html", "js/a.js", "model/w 1.bin"]
    version = write_service_worker(tmp_path, ROOT / "site_template" / "sw.js")
    script = (tmp_path / "sw.js").read_text()
    assert f'const VERSION = "{version}";' in script
    assert 'const FILES = ["index.html", "js/a.js", "model/w%201.bin"];' in script


def test_the_cache_version_changes_with_any_byte(tmp_path):
    (tmp_path / "a.txt").write_text("one")
    before = cache_version(tmp_path, precache_files(tmp_path))
    assert cache_version(tmp_path, precache_files(tmp_path)) == before, "deterministic"
    (tmp_path / "a.txt").write_text("two")
    assert cache_version(tmp_path, precache_files(tmp_path)) != before


@pytest.mark.parametrize(("size", "maskable"), [(192, False), (512, False), (512, True)])
def test_icons_are_square_pngs_with_the_glyph(size, maskable):
    with Image.open(io.BytesIO(draw_icon(size, maskable))) as image:
        assert image.format == "PNG" and image.size == (size, size)
        rgba = image.convert("RGBA")
        corner = rgba.getpixel((0, 0))
        assert (corner[3] == 255) == maskable, "only the maskable icon fills its corners"
        white = rgba.convert("L").point(lambda v: 255 if v > 240 else 0).histogram()[255]
        assert 0.05 < white / size**2 < 0.4, "the white digit is there"
