"""pipeline/build/webapp.py without a browser: the head partial, the import map, the CSP's refusals, the
precache list and its version, one content hash, the icons and their one design."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

from pipeline.build import webapp
from pipeline.build.site import render_pages
from pipeline.build.webapp import PageError, content_hash, draw_icon, module_graph, precache_files, write_service_worker
from tests.helpers import NODE_MODULES, ROOT

HEAD = '{%- from "_head.html" import app_head with context %}'
PAGE = ('<!doctype html>\n<html lang="en">\n<head>\n  <meta charset="utf-8">\n  ' + HEAD + "\n  HEAD_CALL\n"
        "  <title>t</title>\n</head>\n<body></body>\n</html>\n")
CONTEXT = {"asset_version": "v1"}


def render(tmp_path: Path, page: str, name: str = "page.html", head_call: str = "{{ app_head() }}",
           modules: dict[str, str] | None = None) -> str:
    """`page` (PAGE's HEAD_CALL filled with `head_call`) rendered as the build renders pages, beside
    the real head partial and js/offline.js, with `modules` ({path: source}) in the built site; returns
    the HTML. PageError as from the build."""
    template, out = tmp_path / "template", tmp_path / "out"
    for folder in (template, out):  # one page at a time
        shutil.rmtree(folder, ignore_errors=True)
    template.mkdir()
    shutil.copy(ROOT / "site_template" / webapp.HEAD_PARTIAL, template)
    (template / name).parent.mkdir(parents=True, exist_ok=True)
    (template / name).write_text(page.replace("HEAD_CALL", head_call))
    write_site(out, {webapp.OFFLINE_MODULE: (ROOT / "site_template" / webapp.OFFLINE_MODULE).read_text(), **(modules or {})})
    render_pages(template, out, CONTEXT, module_graph(out, NODE_MODULES), log=lambda _: None)
    return (out / name).read_text()


def page_import_map(html: str) -> str | None:
    """The text of the page's import map, as the page holds it."""
    found = re.search(r'<script type="importmap">(.*?)</script>', html, re.S)
    return found and found.group(1)


def policy(html: str) -> str:
    return re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html).group(1)


def test_the_partial_puts_the_policy_first_and_everything_once(tmp_path):
    html = render(tmp_path, PAGE)
    assert html.index('<meta charset="utf-8">') < html.index("Content-Security-Policy") < html.index("<title>")
    assert html.index("Content-Security-Policy") < html.index("<link") < html.index('src="js/offline.js"') < html.index("</head>")
    for tag in ("Content-Security-Policy", f'name="theme-color" content="{webapp.THEME_COLOUR}"', 'rel="manifest"', 'rel="apple-touch-icon"', "js/offline.js"):
        assert html.count(tag) == 1, tag


def test_a_page_in_a_folder_links_back_to_the_root(tmp_path):
    html = render(tmp_path, PAGE, name="docs/about.html")
    assert 'href="../manifest.webmanifest"' in html and 'src="../js/offline.js"' in html
    assert 'href="../icon.svg?v=v1"' in html


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
def test_what_the_csp_would_block_is_refused_by_name(tmp_path, body, problem):
    with pytest.raises(PageError, match=re.escape(f"lab.html: {problem}")):
        render(tmp_path, PAGE.replace("<body></body>", f"<body>{body}</body>"), name="lab.html")


# A page's modules the ways the site's load one another: a static import two modules deep, a dynamic import
# with and without the build's query, a module script that another imports too, and a worker that imports more.
PAGE_MODULES = {
    "js/main.js": "import { a } from './a.js';\nimport './lab/b.js';\nconst q = '?v=v1';\n"
                  "export const w = new Worker(new URL('./worker.js', import.meta.url));\n"
                  "export const later = () => [import(`./later.js${q}`), import('./lab/c.js')];",
    "js/a.js": "export * from './deep.js';",
    "js/deep.js": "export const a = 1;",
    "js/lab/b.js": "export { a } from '../a.js';",
    "js/later.js": "export const l = 1;",
    "js/lab/c.js": "export const c = 1;",
    "js/second.js": "import './main.js';",
    "js/worker.js": "import './worker-only.js';",
    "js/worker-only.js": "export const x = 1;",
    "js/unused.js": "export const u = 1;",
}
MODULE_SCRIPTS = '<script type="module" src="js/main.js?v={{ asset_version }}"></script>' \
                 '<script type="module" src="js/second.js?v={{ asset_version }}"></script>'


def test_the_import_map_is_every_module_the_page_imports_and_its_policy_hashes_it(tmp_path):
    """The build writes the map from the module graph: every module the page's module scripts import, statically or
    by import(), to the end, with ?v=; a module script only when a module imports it too (main.js); not a worker nor
    what it imports (an import map does not reach workers), nor a module nothing imports; keys sorted, one a line."""
    page = PAGE.replace("</title>", "</title>\n  " + MODULE_SCRIPTS)
    html = render(tmp_path, page, modules=PAGE_MODULES)
    text = page_import_map(html)
    mapped = ["./js/a.js", "./js/deep.js", "./js/lab/b.js", "./js/lab/c.js", "./js/later.js", "./js/main.js"]
    assert text == "{\n  \"imports\": {\n" + ",\n".join(f'    "{key}": "{key}?v=v1"' for key in mapped) + "\n  }\n}"
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    assert re.search(rf"script-src 'self' 'wasm-unsafe-eval' 'sha256-{re.escape(digest)}';", policy(html))
    assert html.index('<script type="importmap">') < html.index('src="js/offline.js"'), "before any module loads"


def test_a_page_in_a_folder_maps_its_modules_relative_to_itself(tmp_path):
    page = PAGE.replace("</title>", '</title>\n  <script type="module" src="../js/lab/b.js?v=v1"></script>')
    html = render(tmp_path, page, name="docs/about.html", modules=PAGE_MODULES)
    assert json.loads(page_import_map(html)) == {"imports": {"../js/a.js": "../js/a.js?v=v1", "../js/deep.js": "../js/deep.js?v=v1"}}


def test_a_page_that_imports_no_module_has_no_map_and_the_bare_policy(tmp_path):
    html = render(tmp_path, PAGE)  # js/offline.js, from the partial, imports nothing
    assert page_import_map(html) is None
    assert "'sha256-" not in policy(html)


def test_a_module_the_build_does_not_have_is_refused_by_name(tmp_path):
    page = PAGE.replace("</title>", "</title>\n  " + MODULE_SCRIPTS)
    with pytest.raises(PageError, match=r"^js/a.js: imports js/deep.js, which is not in the build$"):
        render(tmp_path, page, modules={k: v for k, v in PAGE_MODULES.items() if k != "js/deep.js"})
    with pytest.raises(PageError, match=r"^gone.html: runs the module js/gone.js, which is not in the build$"):
        render(tmp_path, PAGE.replace("</title>", '</title><script type="module" src="js/gone.js"></script>'), name="gone.html")


def test_a_page_without_the_head_partial_is_refused(tmp_path):
    with pytest.raises(PageError, match=r"bare.html: 0 Content-Security-Policy <meta>s, not one: include the head partial"):
        render(tmp_path, PAGE, name="bare.html", head_call="")


def test_a_page_whose_policy_does_not_fit_it_is_refused(tmp_path):
    """An import map that the page adds itself is not in its policy: the build writes the only one."""
    own_map = '{{ app_head() }}\n  <script type="importmap">{"imports": {}}</script>'
    with pytest.raises(PageError, match=r"map.html: the Content-Security-Policy does not fit the page's import maps"):
        render(tmp_path, PAGE, name="map.html", head_call=own_map)


def test_anything_before_the_policy_is_refused(tmp_path):
    early = PAGE.replace('<meta charset="utf-8">', '<meta charset="utf-8">\n  <link rel="stylesheet" href="a.css">')
    with pytest.raises(PageError, match=r"early.html: a <link> comes before the Content-Security-Policy"):
        render(tmp_path, early, name="early.html")


def test_tfjs_comes_with_its_prelude_and_only_through_the_partial(tmp_path):
    html = render(tmp_path, PAGE, head_call='{{ app_head(vendor=["tf.min.js", "tf-backend-wasm.min.js"]) }}')
    assert re.search(r'<script src="js/tf-csp-prelude.js"></script>\s*<script src="vendor/tf.min.js\?v=v1" defer>', html)
    without = '{{ app_head() }}\n  <script src="vendor/tf.min.js"></script>'
    with pytest.raises(PageError, match=r"tf.html: vendor/tf.min.js without js/tf-csp-prelude.js just before it"):
        render(tmp_path, PAGE, name="tf.html", head_call=without)


def write_site(folder, files: dict[str, str]):
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)


def service_worker_groups(folder, startup=()) -> dict[str, list[list[str]]]:
    write_service_worker(folder, ROOT / "site_template" / "sw.js", "v1", module_graph(folder, NODE_MODULES), list(startup))
    script = (folder / "sw.js").read_text()
    return {name: json.loads(re.search(rf"const {name} = (\[.*?\])[;.]", script).group(1))
            for name in ("PAGE", "LATER", "LAB", "VIEW")}


# A drawing page whose modules load one another the ways the real ones do: a static import, a module imported only by
# another module, a worker started by its own URL, the worker's dynamic imports with the build's query, and an
# on-demand module that imports one more.
MODULES = {
    "index.html": '<link rel="stylesheet" href="css/a.css?v=v1"><script type="module" src="js/offline.js"></script>'
                  '<script type="module" src="js/main.js?v=v1"></script>',
    "css/a.css": "a",
    "js/offline.js": "export const o = 1;",
    "js/main.js": "import { m } from './model.js';\nimport * as d from './doubt.js';\nexport { m, d };",
    "js/doubt.js": "export * from './words.js';",
    "js/words.js": "export const w = 'w';",
    "js/model.js": "export const m = new Worker(new URL('./model-worker.js', import.meta.url));",
    "js/model-worker.js": "let q = '?v=1';\nasync function later() { await import(`./adapt.js${q}`); await import('./webgl.js'); }",
    "js/webgl.js": "export const g = 1;",
    "js/adapt.js": "import { seededRandom } from './random.js';\nexport { seededRandom };",
    "js/random.js": "export const seededRandom = 1;",
    "js/train/main.js": "import { seededRandom } from '../random.js';\nimport '../lab.js';",
    "js/lab.js": "export {};",
    "model/w 1.bin": "b", "model/model.json": "{}", "model/stray.bin": "x",
    "vendor/tfjs-digits.js": "t", "vendor/tfjs-backend-wasm-simd.wasm": "s", "train.html": "<p>lab</p>",
    "data/x.bin": "x", "personal/adapt.bin": "a", ".nojekyll": "", "sw.js": "old",
}
STARTUP = ["model/model.json", "model/w 1.bin", "vendor/tfjs-digits.js", "vendor/tfjs-backend-wasm-simd.wasm"]


def test_the_service_worker_lists_every_file_but_itself_and_dotfiles_in_three_groups(tmp_path):
    """The drawing page's files (what index.html links, every module those load to the end of the graph, and what
    its model worker fetches at start) are precached, each under the URL the page requests and with its SHA-256;
    what it needs only to learn a visitor's hand (personal/, js/adapt.js and what that imports) is kept when first
    fetched; a lab page caches every file the drawing page does not precache."""
    write_site(tmp_path, MODULES)
    assert ".nojekyll" not in {p.as_posix() for p in precache_files(tmp_path)}
    groups = service_worker_groups(tmp_path, STARTUP)
    script = (tmp_path / "sw.js").read_text()
    assert f'const VERSION = "{content_hash(tmp_path, precache_files(tmp_path))}";' in script
    sha = {rel: hashlib.sha256(text.encode()).hexdigest() for rel, text in MODULES.items()}

    def entry(path, url=None):
        return [path.replace(" ", "%20"), (url or f"{path}?v=v1").replace(" ", "%20"), sha[path]]

    assert groups["PAGE"] == [
        entry("css/a.css"), ["index.html", "./", sha["index.html"]],
        entry("js/doubt.js"),  # imported by main.js only
        entry("js/main.js"), entry("js/model-worker.js"), entry("js/model.js"),
        entry("js/offline.js", "js/offline.js"),  # as index.html writes it: no ?v=
        entry("js/webgl.js"),  # the worker's dynamic import
        entry("js/words.js"),  # re-exported by doubt.js: two modules away
        entry("model/model.json"), entry("model/w 1.bin"),
        entry("vendor/tfjs-backend-wasm-simd.wasm", "vendor/tfjs-backend-wasm-simd.wasm"), entry("vendor/tfjs-digits.js"),
    ]
    assert groups["LATER"] == [entry("js/adapt.js"), entry("js/random.js"), entry("personal/adapt.bin")]  # never precached
    assert groups["LAB"] == [entry("data/x.bin"), entry("js/adapt.js"), entry("js/lab.js"), entry("js/random.js"),
                             entry("js/train/main.js"), entry("model/stray.bin"), entry("personal/adapt.bin"),
                             entry("train.html", "train.html")]  # all but the page's: train/main.js imports random.js too


# The network view beside the drawing page: its page, its own modules, a module the drawing page loads too, the data
# it fetches by URL (network/), and a stylesheet only the report links.
VIEW = {
    "network.html": '<link rel="stylesheet" href="css/network.css?v=v1"><script type="module" src="js/network/main.js?v=v1"></script>',
    "css/network.css": "n",
    "js/network/main.js": "import { w } from '../words.js';\nimport { v } from './view.js';\nexport { w, v };",
    "js/network/view.js": "export const v = 1;",
    "network/network.json": "{}", "network/network.png": "p",
    "report.html": '<link rel="stylesheet" href="css/report.css?v=v1">', "css/report.css": "r",
}


def test_the_network_view_s_files_are_what_it_loads_and_the_page_does_not(tmp_path):
    """Opening the network view caches its page, what it links, its modules to the end of the graph and its data,
    all but what the drawing page has precached already (js/words.js); the paths only, the entries being LAB's. A
    file linked by another page (the report's stylesheet) joins neither the drawing page's files nor the view's."""
    write_site(tmp_path, {**MODULES, **VIEW})
    groups = service_worker_groups(tmp_path, STARTUP)
    assert groups["VIEW"] == ["css/network.css", "js/network/main.js", "js/network/view.js", "network/network.json",
                              "network/network.png", "network.html"]  # in the order of the site's files
    lab = {path: url for path, url, _ in groups["LAB"]}
    assert {path: lab[path] for path in groups["VIEW"]} == {
        "css/network.css": "css/network.css?v=v1", "js/network/main.js": "js/network/main.js?v=v1",
        "js/network/view.js": "js/network/view.js?v=v1", "network.html": "network.html",
        "network/network.json": "network/network.json?v=v1", "network/network.png": "network/network.png?v=v1"}
    assert "css/report.css" in lab and "css/report.css" not in {path for path, _, _ in groups["PAGE"]}
    assert "js/words.js" not in groups["VIEW"]


def test_without_the_network_view_no_file_is_the_view_s(tmp_path):
    write_site(tmp_path, MODULES)
    assert service_worker_groups(tmp_path, STARTUP)["VIEW"] == []


def test_a_startup_file_the_build_lacks_is_refused_by_name(tmp_path):
    write_site(tmp_path, MODULES)
    with pytest.raises(PageError, match=r"^model/gone.bin: loaded by the drawing page but not in the build$"):
        service_worker_groups(tmp_path, [*STARTUP, "model/gone.bin"])


def test_a_module_that_imports_a_computed_url_or_a_missing_file_is_refused(tmp_path):
    """The service worker can cache only what the build can name: an import() of a URL made at run time, or of a file
    the build does not have, stops the build in one line naming the module (and the line)."""
    write_site(tmp_path / "computed", {**MODULES, "js/model-worker.js": "const name = 'adapt';\nimport(`./${name}.js`);"})
    with pytest.raises(PageError, match=r"^js/model-worker.js, line 2: import\(`./\$\{name\}.js`\) imports a URL the build cannot tell"):
        service_worker_groups(tmp_path / "computed", STARTUP)
    write_site(tmp_path / "missing", {**MODULES, "js/doubt.js": "export * from './gone.js';"})
    with pytest.raises(PageError, match=r"^js/doubt.js: loads js/gone.js, which is not in the build$"):
        service_worker_groups(tmp_path / "missing", STARTUP)
    write_site(tmp_path / "broken", {**MODULES, "js/doubt.js": "export const = ;"})
    with pytest.raises(PageError, match=r"^modules.mjs: js/doubt.js: not JavaScript the build can read \(Unexpected token"):
        service_worker_groups(tmp_path / "broken", STARTUP)


def test_the_real_drawing_page_precaches_every_module_it_imports(tmp_path):
    """The site's own modules, as the build copies them: whatever js/main.js and the model worker load, directly or
    not, is precached, so a module added to the graph cannot be forgotten."""
    shutil.copytree(ROOT / "site_template" / "js", tmp_path / "js")
    write_site(tmp_path, {"index.html": '<script type="module" src="js/main.js?v=v1"></script>'})
    page = {path for path, _, _ in service_worker_groups(tmp_path)["PAGE"]}
    assert {"js/doubt.js", "js/personal.js", "js/model-worker.js", "js/drawing.js", "js/segment.js", "js/ui.js"} <= page
    assert "js/adapt.js" not in page and "js/train/main.js" not in page


def test_the_content_hash_changes_with_any_byte_or_name(tmp_path):
    (tmp_path / "a.txt").write_text("one")
    before = content_hash(tmp_path)
    assert content_hash(tmp_path) == before == content_hash(tmp_path, precache_files(tmp_path)), "deterministic; all files by default"
    assert re.fullmatch(r"[0-9a-f]{16}", before)
    (tmp_path / "a.txt").write_text("two")
    assert content_hash(tmp_path) != before
    (tmp_path / "a.txt").rename(tmp_path / "b.txt")
    (tmp_path / "b.txt").write_text("one")
    assert content_hash(tmp_path) != before, "the names count too"


def test_the_build_has_one_content_hash():
    """The site's ?v= and the service worker's cache name come from webapp.content_hash alone."""
    import pipeline.build.site as site

    assert "hashlib" not in (ROOT / "pipeline" / "build" / "site.py").read_text()
    assert not hasattr(site, "_content_hash") and not hasattr(webapp, "cache_version")


@pytest.mark.parametrize(("size", "maskable"), [(192, False), (512, False), (512, True)])
def test_icons_are_square_pngs_with_the_glyph(size, maskable):
    with Image.open(io.BytesIO(draw_icon(size, maskable))) as image:
        assert image.format == "PNG" and image.size == (size, size)
        rgba = image.convert("RGBA")
        corner = rgba.getpixel((0, 0))
        assert (corner[3] == 255) == maskable, "only the maskable icon fills its corners"
        white = rgba.convert("L").point(lambda v: 255 if v > 240 else 0).histogram()[255]
        assert 0.05 < white / size**2 < 0.4, "the white digit is there"


def test_the_svg_icon_the_pngs_the_theme_and_the_css_share_one_design(tmp_path):
    webapp.write_app_files(tmp_path, ROOT / "site_template")
    svg = ET.parse(tmp_path / "icon.svg").getroot()
    ns = {"svg": "http://www.w3.org/2000/svg"}
    rect, path = svg.find("svg:rect", ns), svg.find("svg:path", ns)
    assert rect.get("fill") == webapp.THEME_COLOUR and float(rect.get("rx")) == webapp.ICON_CORNER
    assert float(path.get("stroke-width")) == webapp.ICON_STROKE
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path.get("d"))]
    start, *curves = path.get("d").split("C")
    assert start.startswith("M") and len(curves) == len(webapp.ICON_PATH)
    expected = [*webapp.ICON_PATH[0][0]] + [v for _, c1, c2, end in webapp.ICON_PATH for v in (*c1, *c2, *end)]
    assert numbers == expected, "icon.svg draws ICON_PATH, the path the PNGs are drawn from"
    with Image.open(tmp_path / "icons" / "icon-512.png") as png:
        centre = png.convert("RGB").getpixel((256, 256))
    assert "#%02x%02x%02x" % centre == webapp.THEME_COLOUR, "the PNG's background is the theme colour"
    css = (ROOT / "site_template" / "css" / "style.css").read_text()
    light = css[css.index(":root {"):css.index("}", css.index(":root {"))]  # the first :root block: the light theme
    assert re.search(r"--accent:\s*([^;]+);", light).group(1).strip() == webapp.THEME_COLOUR
    assert re.search(r"--bg:\s*([^;]+);", light).group(1).strip() == webapp.BACKGROUND_COLOUR
