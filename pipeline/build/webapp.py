"""Make the built site an installable, offline-capable web app with a strict CSP.

Every page includes the head partial, site_template/_head.html:

  {%- from "_head.html" import app_head with context %}
  {{ app_head(vendor=["tf.min.js", ...]) }}

which writes, right after <meta charset>: the Content-Security-Policy <meta>
(GitHub Pages sets no headers) that `page_policy` computes from the page's
import map text, theme-color, the manifest and icon links, the import map, the
vendor scripts (js/tf-csp-prelude.js in front of tf.min.js: tfjs would need eval
otherwise) and <script type="module" src="js/offline.js">. The import map is the
build's, never a page's: `import_map` reads the page's module scripts and follows
the module graph (`module_graph`) from them.
`check_page` reads each rendered page back and refuses one without the partial,
or with inline script (other than an import map or a JSON data block), inline
event handlers or inline styles: the CSP would block them.

Written into the built site by `site.build`:

  icons/icon-192.png, icons/icon-512.png, icons/icon-maskable-512.png
                          drawn with Pillow from ICON_PATH and THEME_COLOUR
  icon.svg                rendered from site_template/icon.svg with the same design
  manifest.webmanifest    name, start_url ".", scope ".", standalone, colours, icons
  sw.js                   rendered from site_template/sw.js with every file of dist/ in three
                          groups (the drawing page's, precached on install: what it and its model
                          worker load, followed through the JavaScript module graph; what it loads
                          only once a visitor corrects a digit; the rest, cached when a lab page
                          opens), each with its URL and SHA-256, and the content hash of them all
                          (the cache's name)
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import io
import json
import posixpath
import shutil
import subprocess
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import jinja2
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

APP_NAME = "Draw a digit: handwritten digit recognition"
SHORT_NAME = "Digits"
DESCRIPTION = "Draw a digit; a small neural network trained on MNIST reads it, right in your browser, offline too."
THEME_COLOUR = "#0b57d0"  # the icon's and the page's accent (css --accent)
BACKGROUND_COLOUR = "#f6f6f3"  # the page's light background (css --bg): the splash screen
ICON_SIZES = (192, 512)  # px; Android wants 192 (home screen) and 512 (splash)
MANIFEST = "manifest.webmanifest"
SERVICE_WORKER = "sw.js"  # rendered from site_template/sw.js
ICON_SVG = "icon.svg"  # rendered from site_template/icon.svg
RENDERED_FILES = (SERVICE_WORKER, ICON_SVG)  # templates of this module, not copied as they are
HEAD_PARTIAL = "_head.html"  # in site_template/: the macro app_head every page calls
OFFLINE_MODULE = "js/offline.js"
TF_PRELUDE = "js/tf-csp-prelude.js"  # lets vendor/tf.min.js load under the CSP (no eval)
TOUCH_ICON = "icons/icon-192.png"  # apple-touch-icon: iOS ignores the manifest's icons
CONTENT_HASH_CHARS = 16  # hex digits of SHA-256 kept: the ?v= of every asset and the cache's name
DRAWING_PAGE = "index.html"  # its files are precached on install; the other pages' when they are opened
# What the drawing page fetches only when a visitor first corrects a digit (js/adapt.js and what it imports, the
# build's personal/ files) or first asks for a sample digit (js/samples.js, data/samples.json): cached then, by the
# service worker's fetch handler, never precached.
ON_DEMAND_FILES = ("personal/*", "js/adapt.js", "js/samples.js", "data/samples.json")
VIEW_PAGE = "network.html"  # the network view: cached with the drawing page's files when opened, not with the whole lab
VIEW_DATA = ("network/*",)  # what it fetches by URLs from the page's config (network.json and its digits)
MODULE_GRAPH = Path(__file__).with_name("modules.mjs")  # Node + acorn: which JavaScript file loads which
# A module graph: {path: {"imports": [path, ...], "workers": [path, ...]}} for every .js file of the site
# outside vendor/, paths relative to the site's root (module_graph).
ModuleGraph = dict[str, dict[str, list[str]]]
NODE_TIMEOUT_S = 120  # the module graph's limit; it takes about a second
# Files the site requests without ?v= (fnmatch globs); the pages' own links are read from the pages.
PLAIN_URLS = ("*.html", "vendor/*.wasm", "icons/*", "report/*", MANIFEST)
LINKS_LOADED = ("stylesheet", "icon", "manifest", "apple-touch-icon")  # <link rel> a page loads itself

# The policy, directive by directive. 'wasm-unsafe-eval' lets WebAssembly compile
# (tfjs's wasm backend) without allowing eval() of JavaScript. Hashes of inline
# import maps are added per page. frame-ancestors/report-uri are not allowed in a <meta>.
CSP_DIRECTIVES = {
    "default-src": ["'self'"],
    "script-src": ["'self'", "'wasm-unsafe-eval'"],
    "worker-src": ["'self'"],
    "connect-src": ["'self'"],
    "img-src": ["'self'", "data:", "blob:"],
    "style-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'none'"],
}
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json", "text/plain", "text/template"}  # not executed
JS_SCRIPT_TYPES = {"", "module", "text/javascript", "application/javascript", "text/ecmascript"}

# The icon, for icon.svg and the PNGs alike (viewBox 0 0 64 64): a rounded square of
# THEME_COLOUR and a white "2", one stroke 7 units wide with round caps and joins, as cubic Béziers.
ICON_CORNER = 12
ICON_STROKE = 7
ICON_PALETTE = 64  # colours of the PNG icons' palette (RGBA entries)
ICON_PATH = [  # (start, control 1, control 2, end) of each segment, icon units
    ((22, 18), (30, 12), (44, 14), (44, 25)),
    ((44, 25), (44, 34), (30, 39), (22, 52)),
    ((22, 52), (22, 52), (44, 52), (44, 52)),  # the base line, "h22"
]
MASKABLE_SCALE = 0.75  # the glyph inside the maskable icon's safe zone (the inner 80 % circle)


class PageError(Exception):
    """A rendered page that cannot work under the CSP. One line for the user."""


def template_globals() -> dict:
    """What site_template/_head.html reads besides the page's own context (root, asset_version)."""
    return {
        "csp": page_policy,
        "theme_colour": THEME_COLOUR,
        "manifest": MANIFEST,
        "touch_icon": TOUCH_ICON,
        "offline_module": OFFLINE_MODULE,
        "tf_prelude": TF_PRELUDE,
    }


def write_app_files(dist: Path, template_dir: Path) -> None:
    """The PNG icons, icon.svg (from site_template/icon.svg) and the manifest, into `dist`."""
    write_icons(dist)
    write_icon_svg(dist, template_dir / ICON_SVG)
    (dist / MANIFEST).write_text(json.dumps(manifest(), indent=2) + "\n")


# ------------------------------------------------------------------ manifest and icons


def manifest() -> dict:
    """The web app manifest; every URL relative to the manifest (the site's root)."""
    icons = [{"src": f"icons/icon-{size}.png", "sizes": f"{size}x{size}", "type": "image/png", "purpose": "any"} for size in ICON_SIZES]
    icons.append({"src": "icons/icon-maskable-512.png", "sizes": "512x512", "type": "image/png", "purpose": "maskable"})
    return {
        "name": APP_NAME,
        "short_name": SHORT_NAME,
        "description": DESCRIPTION,
        "lang": "en",
        "id": ".",
        "start_url": ".",
        "scope": ".",
        "display": "standalone",
        "orientation": "any",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": icons,
    }


def write_icons(dist: Path) -> None:
    """PNG icons into dist/icons/: 192 and 512 px (rounded, like icon.svg) and a full-bleed maskable 512."""
    (dist / "icons").mkdir(exist_ok=True)
    for size in ICON_SIZES:
        (dist / "icons" / f"icon-{size}.png").write_bytes(draw_icon(size, maskable=False))
    (dist / "icons" / "icon-maskable-512.png").write_bytes(draw_icon(512, maskable=True))


def draw_icon(size: int, maskable: bool) -> bytes:
    """The icon as PNG bytes, size×size px, a palette of RGBA colours; drawn 4× larger and downscaled for anti-aliasing."""
    from PIL import Image, ImageDraw

    from pipeline.data import pen

    big = size * 4
    unit = big / 64  # px per icon unit
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if maskable:  # the platform cuts its own shape: fill everything, keep the glyph in the safe zone
        draw.rectangle((0, 0, big, big), fill=THEME_COLOUR)
        scale, offset = MASKABLE_SCALE * unit, big * (1 - MASKABLE_SCALE) / 2
    else:
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=ICON_CORNER * unit, fill=THEME_COLOUR)
        scale, offset = unit, 0.0
    width = ICON_STROKE * scale
    points = [(offset + x * scale, offset + y * scale) for x, y in _bezier_points(ICON_PATH)]
    glyph = pen.ink([points], big, width, stamped=True)  # the digit's ink: a round pen along a finely sampled curve
    image.paste("white", (0, 0, big, big), Image.fromarray(glyph))
    out = io.BytesIO()
    # A palette: two colours and their anti-aliased blends need few entries, and the 192 px icon comes with
    # every first visit (apple-touch-icon), a fifth of its RGBA size.
    image.resize((size, size), Image.LANCZOS).quantize(ICON_PALETTE, method=Image.Quantize.FASTOCTREE).save(
        out, format="PNG", optimize=True)
    return out.getvalue()


def write_icon_svg(dist: Path, template: Path) -> None:
    """Render `template` (site_template/icon.svg) into dist/icon.svg with the icon's design."""
    if not template.is_file():
        raise PageError(f"{template}: missing (the SVG icon's template)")
    svg = _render(template, corner=ICON_CORNER, colour=THEME_COLOUR, stroke=ICON_STROKE, path=svg_path(ICON_PATH))
    (dist / ICON_SVG).write_text(svg)


def svg_path(segments) -> str:
    """ICON_PATH as SVG path data in absolute commands: "M x y C x1 y1 x2 y2 x y ..."."""
    def xy(point) -> str:
        return f"{point[0]:g} {point[1]:g}"

    return f"M{xy(segments[0][0])}" + "".join(f"C{xy(c1)} {xy(c2)} {xy(end)}" for _, c1, c2, end in segments)


def _bezier_points(segments, steps: int = 48) -> list[tuple[float, float]]:
    points = []
    for p0, p1, p2, p3 in segments:
        for i in range(0 if not points else 1, steps + 1):
            t = i / steps
            a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3
            points.append((a * p0[0] + b * p1[0] + c * p2[0] + d * p3[0], a * p0[1] + b * p1[1] + c * p2[1] + d * p3[1]))
    return points


# ------------------------------------------------------------------ CSP and the head partial


def content_security_policy(import_maps: list[str]) -> str:
    """The policy for a page whose inline import maps have the texts `import_maps`: the same strict
    policy for every page, whatever vendor scripts it loads."""
    directives = {name: list(sources) for name, sources in CSP_DIRECTIVES.items()}
    directives["script-src"] += [f"'sha256-{_sha256_b64(text)}'" for text in import_maps]
    return "; ".join(" ".join([name, *sources]) for name, sources in directives.items())


def page_policy(import_map: str | None) -> Markup:
    """`csp` in _head.html: the policy of a page with this import map text (or none).
    Markup: the template writes it into the attribute as it is (no quotes in it)."""
    return Markup(content_security_policy([str(import_map)] if import_map else []))


def _sha256_b64(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


class _PageReader(HTMLParser):
    """What check_page needs from a rendered page: what a strict CSP blocks (inline scripts by type,
    event-handler attributes, inline styles), the CSP <meta>s and whether anything loads before
    them, the texts of the import maps, the scripts' src in document order (and the module scripts'
    apart), the <link>s."""

    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.problems: list[str] = []
        self.policies: list[str] = []  # content of each <meta http-equiv="Content-Security-Policy">
        self.loaded_first: str | None = None  # a <script>, <link> or <style> before the policy
        self.import_maps: list[str] = []
        self.sources: list[str] = []
        self.modules: list[str] = []  # src of each <script type="module">
        self.links: list[dict] = []
        self._script: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        handlers = [name for name in attrs if name.startswith("on")]
        if handlers:
            self.problems.append(f"<{tag} {handlers[0]}=...> (inline event handler; use addEventListener in a module)")
        if "style" in attrs:
            self.problems.append(f'<{tag} style="..."> (inline style; use a class in css/)')
        if tag == "style":
            self.problems.append("<style> element (inline style; use a file in css/)")
        if tag == "meta" and (attrs.get("http-equiv") or "").lower() == "content-security-policy":
            self.policies.append(attrs.get("content") or "")
        if tag in ("script", "link", "style") and not self.policies:
            self.loaded_first = self.loaded_first or f"<{tag}>"
        if tag == "link":
            self.links.append(attrs)
        if tag == "script" and "src" in attrs:
            self.sources.append(attrs["src"] or "")
            if (attrs.get("type") or "").strip().lower() == "module":
                self.modules.append(attrs["src"] or "")
        elif tag == "script":
            self._script = {"type": (attrs.get("type") or "").strip().lower(), "text": ""}

    def handle_data(self, data):
        if self._script is not None:
            self._script["text"] += data

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            if self._script["type"] in JS_SCRIPT_TYPES:
                self.problems.append("inline <script> (move it into a module in js/)")
            elif self._script["type"] == "importmap":
                self.import_maps.append(self._script["text"])
            self._script = None


def check_page(html: str, page_name: str) -> None:
    """Refuse (PageError) a rendered page that the CSP would break or that does not include the head
    partial with its import map and vendor scripts."""
    page = _PageReader()
    page.feed(html)
    if page.problems:
        raise PageError(f"{page_name}: {page.problems[0]}: the Content-Security-Policy blocks it")
    partial = f'include the head partial, {{% from "{HEAD_PARTIAL}" import app_head with context %}}{{{{ app_head(...) }}}}'
    if len(page.policies) != 1:
        raise PageError(f"{page_name}: {len(page.policies)} Content-Security-Policy <meta>s, not one: {partial}")
    if page.loaded_first:
        raise PageError(f"{page_name}: a {page.loaded_first} comes before the Content-Security-Policy <meta>, "
                        f"which then does not cover it: {partial} right after <meta charset>")
    if page.policies[0] != content_security_policy(page.import_maps):
        raise PageError(f"{page_name}: the Content-Security-Policy does not fit the page's import maps: "
                        f"the build writes the page's import map (app_head); a page adds none of its own")
    paths = [src.split("?")[0] for src in page.sources]
    if not any(link.get("rel") == "manifest" for link in page.links) or not any(p.endswith(OFFLINE_MODULE) for p in paths):
        raise PageError(f"{page_name}: no manifest link or {OFFLINE_MODULE}: {partial}")
    for i, path in enumerate(paths):
        if path.split("/")[-1] == "tf.min.js" and not (i and paths[i - 1].endswith(TF_PRELUDE)):
            raise PageError(f"{page_name}: vendor/tf.min.js without {TF_PRELUDE} just before it (tfjs then needs eval, "
                            f"which the CSP blocks): load it through app_head(vendor=[...])")


# ------------------------------------------------------------------ service worker


def precache_files(dist: Path) -> list[Path]:
    """Every file of the built site the service worker may cache: all but sw.js itself and dotfiles (.nojekyll)."""
    return sorted(
        path.relative_to(dist)
        for path in dist.rglob("*")
        if path.is_file() and path.name != SERVICE_WORKER and not any(part.startswith(".") for part in path.relative_to(dist).parts)
    )


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of the file's bytes: what sw.js checks each download against."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def content_hash(root: Path, files: Iterable[Path] | None = None) -> str:
    """Hex SHA-256 (first CONTENT_HASH_CHARS digits) of `files` (paths relative to `root`; default: every
    file under it), their paths and bytes: changes with any of them. The build's ?v= and the cache's name."""
    if files is None:
        files = sorted(path.relative_to(root) for path in root.rglob("*") if path.is_file())
    digest = hashlib.sha256()
    for rel in files:
        digest.update(rel.as_posix().encode() + b"\0")
        digest.update(bytes.fromhex(file_sha256(root / rel)))
    return digest.hexdigest()[:CONTENT_HASH_CHARS]


def page_urls(html: str) -> list[str]:
    """The site-relative URLs a rendered page loads by itself, as it writes them (query included):
    its scripts, stylesheets, icons, manifest and the targets of its import map."""
    page = _PageReader()
    page.feed(html)
    urls = list(page.sources) + [link.get("href") or "" for link in page.links if link.get("rel") in LINKS_LOADED]
    for text in page.import_maps:
        urls += json.loads(text).get("imports", {}).values()
    return [url.removeprefix("./") for url in urls if _site_relative(url)]


def _site_relative(url: str) -> bool:
    """Whether `url`, as a page writes it, names a file of the site (not another origin, an absolute path, data:)."""
    return bool(url) and "//" not in url and not url.startswith(("/", "data:"))


def import_map(page: str, html: str, dist: Path, graph: ModuleGraph, asset_version: str) -> Markup | None:
    """The import map of the page at `page` (its path in the site, e.g. "index.html"), read from `html`, the page
    rendered without one: every module that the page's <script type="module">s import, statically or by import(),
    directly or not (followed through `graph`, see module_graph), mapped to its URL with ?v=`asset_version`, so a
    browser never mixes cached modules of two builds and never fetches one without ?v= beside the service
    worker's copy with it. A module script itself is in it only when a module imports it too: its <script> already
    carries ?v=. A worker the page starts is not, nor what the worker imports: a page's import map does not reach
    workers (a worker's URL and its imports carry ?v= themselves). Modules under vendor/ are mapped, not followed
    (the graph does not read them).

    Returns the exact text (Markup: it goes into the page as it is, and its SHA-256 into the page's CSP): JSON,
    one module a line, keys sorted, URLs relative to the page; None for a page that imports no module. PageError
    naming a module script or an import that the build (`dist`) does not have.
    """
    folder = posixpath.dirname(page)
    reader = _PageReader()
    reader.feed(html)
    scripts = [posixpath.normpath(posixpath.join(folder, src.split("?")[0].split("#")[0]))
               for src in reader.modules if _site_relative(src)]
    for path in scripts:
        if path not in graph and not (dist / path).is_file():
            raise PageError(f"{page}: runs the module {path}, which is not in the build")
    imported: set[str] = set()
    done, todo = set(), list(scripts)
    while todo:
        path = todo.pop()
        if path in done or path not in graph:
            continue
        done.add(path)
        for target in graph[path]["imports"]:
            if target not in graph and not (dist / target).is_file():
                raise PageError(f"{path}: imports {target}, which is not in the build")
            imported.add(target)
            todo.append(target)
    if not imported:
        return None

    def url(path: str) -> str:
        relative = quote(posixpath.relpath(path, folder or "."))
        return relative if relative.startswith("../") else f"./{relative}"

    imports = {url(path): f"{url(path)}?v={quote(asset_version)}" for path in sorted(imported)}
    return htmlsafe_json_dumps({"imports": imports}, indent=2, sort_keys=True)


def module_graph(dist: Path, node_modules: Path) -> ModuleGraph:
    """{path: {"imports": [...], "workers": [...]}} for every .js file of `dist` outside vendor/: the site files
    it loads as JavaScript, paths relative to `dist`; "imports" its static and dynamic imports, "workers" the
    scripts it starts as workers by their own URL (modules.mjs, with acorn from `node_modules`). PageError naming
    a module that imports a URL the build cannot tell."""
    files = sorted(p.relative_to(dist).as_posix() for p in dist.rglob("*.js")
                   if p.is_file() and p.relative_to(dist).parts[0] != "vendor" and p.name != SERVICE_WORKER)
    node = shutil.which("node")
    if node is None:
        raise PageError("node: not found (Node.js reads the site's module graph for the service worker; install it)")
    try:
        done = subprocess.run([node, str(MODULE_GRAPH), str(node_modules), str(dist), *files],
                              capture_output=True, text=True, timeout=NODE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise PageError(f"{MODULE_GRAPH.name}: reading the module graph took over {NODE_TIMEOUT_S} s") from None
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit code {done.returncode}"]
        raise PageError(f"{MODULE_GRAPH.name}: {lines[-1]}")
    graph = json.loads(done.stdout)
    for path, found in graph.items():
        if found["computed"]:
            first = found["computed"][0]
            raise PageError(f"{path}, line {first['line']}: {first['code'][:80]} imports a URL the build cannot tell, so the "
                            "service worker would not cache it for offline use; import a literal path ('./x.js' or `./x.js${query}`)")
    return {path: {"imports": found["imports"], "workers": found["workers"]} for path, found in graph.items()}


def loads(graph: ModuleGraph, path: str) -> list[str]:
    """The site files `path` loads as JavaScript, imports and workers alike ([] for a file that is not a module)."""
    found = graph.get(path, {})
    return [*found.get("imports", []), *found.get("workers", [])]


def cache_groups(dist: Path, asset_version: str, graph: ModuleGraph, startup: Iterable[str]) -> dict[str, list[list[str]]]:
    """What sw.js caches: {"page": [[path, url, sha256], ...], "later": [...], "view": [path, ...], "lab": [...]},
    paths relative to `dist`.

    "page" is what the drawing page loads to read a drawing, precached on install: DRAWING_PAGE, what it links
    (scripts, styles, icons, import map), `startup` (what its model worker fetches by URLs from the page's
    config: the model, the runtime), and every JavaScript file any of these load, followed through `graph`
    (module_graph) to the end. "later" is ON_DEMAND_FILES and what they load that the page does not, kept when
    first fetched; "view" is what VIEW_PAGE loads (and VIEW_DATA) that the page does not, cached with the page's
    when the view is opened (paths only: their entries are in "lab" too); "lab" is every file but the page's, cached when a lab page is first opened (the later files
    too: a lab page may load them, as train.html loads js/random.js). Each url is the one the
    page itself requests (the ?v= included), so the HTTP cache serves the service worker what the page has just
    downloaded: no file comes down twice. PageError if a file loads one the build does not have.
    """
    files = [rel.as_posix() for rel in precache_files(dist)]
    urls = {path: f"{path}?v={asset_version}" for path in files}
    urls.update({path: path for path in files if any(fnmatch.fnmatchcase(path, glob) for glob in PLAIN_URLS)})
    urls[DRAWING_PAGE] = "./"
    linked = set()
    for html in sorted(dist.glob("*.html")):
        for url in page_urls(html.read_text()):
            path = url.split("?")[0]
            if path in urls:
                urls[path] = url
                linked |= {path} if html.name == DRAWING_PAGE else set()

    def on_demand(path: str) -> bool:
        return any(fnmatch.fnmatchcase(path, glob) for glob in ON_DEMAND_FILES)

    def loaded_from(roots: Iterable[str], stop=lambda path: False) -> set[str]:
        """`roots` and every file they load, directly or not, but not past a file for which `stop` is true."""
        found, todo = set(), list(roots)
        while todo:
            path = todo.pop()
            if path in found or stop(path):
                continue
            if path not in urls:
                raise PageError(f"{path}: loaded by the drawing page but not in the build")
            found.add(path)
            for target in loads(graph, path):
                if target not in urls:
                    raise PageError(f"{path}: loads {target}, which is not in the build")
                todo.append(target)
        return found

    page = loaded_from([DRAWING_PAGE, *linked, *startup], stop=on_demand)
    later = loaded_from(path for path in files if on_demand(path)) - page
    view = set()
    if (dist / VIEW_PAGE).is_file():
        view_linked = {url.split("?")[0] for url in page_urls((dist / VIEW_PAGE).read_text())} & urls.keys()
        view_data = [path for path in files if any(fnmatch.fnmatchcase(path, glob) for glob in VIEW_DATA)]
        view = loaded_from([VIEW_PAGE, *view_linked, *view_data]) - page

    def entry(path: str) -> list[str]:
        return [quote(path), quote(urls[path], safe="/?="), file_sha256(dist / path)]

    return {"page": [entry(p) for p in files if p in page], "later": [entry(p) for p in files if p in later],
            "view": [quote(p) for p in files if p in view], "lab": [entry(p) for p in files if p not in page]}


def write_service_worker(dist: Path, template: Path, asset_version: str, graph: ModuleGraph,
                         startup: Iterable[str]) -> str:
    """Render `template` (site_template/sw.js) into dist/sw.js with VERSION and the cache groups (`asset_version`:
    the pages' ?v=; `graph`: the site's module_graph; `startup`: see cache_groups); returns VERSION."""
    if not template.is_file():
        raise PageError(f"{template}: missing (the service worker template)")
    version = content_hash(dist, precache_files(dist))
    groups = cache_groups(dist, asset_version, graph, startup)
    (dist / SERVICE_WORKER).write_text(_render(template, version=version, **groups))
    return version


def _render(template: Path, **values) -> str:
    """A non-HTML template of site_template/ (sw.js, icon.svg) rendered with `values`."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    return env.from_string(template.read_text()).render(**values)
