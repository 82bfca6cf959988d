"""Make the built site an installable, offline-capable web app with a strict CSP.

Called by `site.build` on the staging folder once every page is rendered, so it
applies to every *.html page of the build (index.html and any page added later):

  icons/icon-192.png, icons/icon-512.png, icons/icon-maskable-512.png
                          drawn with Pillow from the design of site_template/icon.svg
  manifest.webmanifest    name, start_url ".", scope ".", standalone, colours, icons
  every *.html            gets, in <head>: the Content-Security-Policy <meta>
                          (GitHub Pages sets no headers), theme-color, the
                          manifest link, and <script type="module" src="js/offline.js">;
                          a page that loads vendor/tf.min.js itself also gets
                          js/tf-csp-prelude.js in front of it (tfjs would need eval otherwise)
  sw.js                   rendered from site_template/sw.js with the list of every
                          file of dist/ and their content hash (the cache's name)

A page with inline script (other than an import map or a JSON data block),
inline event handlers or inline styles is refused: the CSP would block it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import jinja2

APP_NAME = "Draw a digit: handwritten digit recognition"
SHORT_NAME = "Digits"
DESCRIPTION = "Draw a digit; a small neural network trained on MNIST reads it, right in your browser, offline too."
THEME_COLOUR = "#0b57d0"  # the icon's and the page's accent (css --accent)
BACKGROUND_COLOUR = "#f6f6f3"  # the page's light background (css --bg): the splash screen
ICON_SIZES = (192, 512)  # px; Android wants 192 (home screen) and 512 (splash)
MANIFEST = "manifest.webmanifest"
SERVICE_WORKER = "sw.js"
OFFLINE_MODULE = "js/offline.js"
TF_PRELUDE = "js/tf-csp-prelude.js"  # lets vendor/tf.min.js load under the CSP (no eval)
CACHE_VERSION_CHARS = 16  # hex digits of the SHA-256 of the precached files that name the cache

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
# A page that loads one of these vendor scripts gets more than the strict policy, and the build says so.
# Only the lab's page (train.html) does; the drawing page keeps the strict policy.
VENDOR_EXCEPTIONS = {
    "tfjs-vis": {  # the lab's live charts, vendor/tfjs-vis.umd.min.js 1.5.1
        # vega, inside tfjs-vis, compiles chart expressions with new Function (its CSP-safe
        # interpreter is not in this bundle): the charts throw without it.
        "script-src": ["'unsafe-eval'"],
        # glamor's <style> starts empty (its rules then go in through CSSOM, which CSP allows),
        # and vega-embed adds one fixed stylesheet: the hashes of exactly those two.
        "style-src": ["'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='", "'sha256-/gFjybzm2cU4MbaLSWpSqW5eLj+JZBii6jm4umpv1+A='"],
    },
}
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json", "text/plain", "text/template"}  # not executed
JS_SCRIPT_TYPES = {"", "module", "text/javascript", "application/javascript", "text/ecmascript"}

# site_template/icon.svg (viewBox 0 0 64 64): a rounded square of THEME_COLOUR and
# a white "2", one stroke 7 units wide with round caps and joins, as cubic Béziers.
ICON_CORNER = 12
ICON_STROKE = 7
ICON_PATH = [  # (start, control 1, control 2, end) of each segment, icon units
    ((22, 18), (30, 12), (44, 14), (44, 25)),
    ((44, 25), (44, 34), (30, 39), (22, 52)),
    ((22, 52), (22, 52), (44, 52), (44, 52)),  # the base line, "h22"
]
MASKABLE_SCALE = 0.75  # the glyph inside the maskable icon's safe zone (the inner 80 % circle)


class PageError(Exception):
    """A rendered page that cannot work under the CSP. One line for the user."""


def finish_site(dist: Path, template_dir: Path, log=print) -> str:
    """Icons, manifest, CSP and offline module in every page, then sw.js. Returns the cache version."""
    write_icons(dist)
    (dist / MANIFEST).write_text(json.dumps(manifest(), indent=2) + "\n")
    pages = sorted(dist.rglob("*.html"))
    for page in pages:
        html = page.read_text(encoding="utf-8")
        for name in vendor_exceptions(html):
            log(f"build: {page.relative_to(dist)} loads {name}: its CSP also allows "
                f"{' '.join(VENDOR_EXCEPTIONS[name]['script-src'])} and the hashes of {name}'s own styles")
        page.write_text(add_head_tags(html, page.relative_to(dist), page_name=str(page.relative_to(dist))), encoding="utf-8")
    version = write_service_worker(dist, template_dir / SERVICE_WORKER)
    log(f"build: CSP, manifest and offline module in {len(pages)} page(s); {SERVICE_WORKER} precaches "
        f"{len(precache_files(dist))} files as version {version}")
    return version


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
    """The icon as PNG bytes, size×size px, RGBA; drawn 4× larger and downscaled for anti-aliasing."""
    from PIL import Image, ImageDraw

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
    draw.line(points, fill="white", width=round(width))
    for x, y in points:  # a round pen stamped along the path: round caps and joins, no gaps
        draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill="white")
    out = io.BytesIO()
    image.resize((size, size), Image.LANCZOS).save(out, format="PNG", optimize=True)
    return out.getvalue()


def _bezier_points(segments, steps: int = 48) -> list[tuple[float, float]]:
    points = []
    for p0, p1, p2, p3 in segments:
        for i in range(0 if not points else 1, steps + 1):
            t = i / steps
            a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3
            points.append((a * p0[0] + b * p1[0] + c * p2[0] + d * p3[0], a * p0[1] + b * p1[1] + c * p2[1] + d * p3[1]))
    return points


# ------------------------------------------------------------------ CSP and head tags


def content_security_policy(import_maps: list[str], exceptions: tuple[str, ...] = ()) -> str:
    """The policy for a page whose inline import maps have the texts `import_maps` and that
    loads the VENDOR_EXCEPTIONS scripts named in `exceptions`."""
    directives = {name: list(sources) for name, sources in CSP_DIRECTIVES.items()}
    directives["script-src"] += [f"'sha256-{_sha256_b64(text)}'" for text in import_maps]
    for name in exceptions:
        for directive, sources in VENDOR_EXCEPTIONS[name].items():
            directives[directive] += sources
    return "; ".join(" ".join([name, *sources]) for name, sources in directives.items())


def _sha256_b64(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


def add_head_tags(html: str, rel_path: Path, page_name: str = "page") -> str:
    """`html` with the CSP <meta> (first thing after <meta charset>), theme colour and
    manifest link, and the offline module at the end of <head> (after any import map).
    Tags already there are not added twice. Raises PageError if the CSP would block the page."""
    import_maps = check_page(html, page_name)
    exceptions = vendor_exceptions(html)
    up = "../" * (len(rel_path.parts) - 1)  # from the page's folder to the site's root
    early = [
        f'<meta http-equiv="Content-Security-Policy" content="{content_security_policy(import_maps, exceptions)}">',
        f'<meta name="theme-color" content="{THEME_COLOUR}">',
        f'<link rel="manifest" href="{up}{MANIFEST}">',
        f'<link rel="apple-touch-icon" href="{up}icons/icon-192.png">',
    ]
    early = [tag for tag in early if tag.split('"')[1] not in _attribute_values(html)]
    late = f'<script type="module" src="{up}{OFFLINE_MODULE}"></script>'
    html = _add_tf_prelude(html, up)
    charset = re.search(r"<meta\s+charset=[^>]*>", html, re.I) or re.search(r"<head[^>]*>", html, re.I)
    end = html.lower().find("</head>")
    if charset is None or end < 0:
        raise PageError(f"{page_name}: no <head> to put the Content-Security-Policy in")
    if f'src="{up}{OFFLINE_MODULE}"' not in html:
        html = html[:end] + "  " + late + "\n" + html[end:]
    head = "".join(f"\n  {tag}" for tag in early)
    return html[: charset.end()] + head + html[charset.end():]


def vendor_exceptions(html: str) -> tuple[str, ...]:
    """The VENDOR_EXCEPTIONS scripts the page loads with <script src=...>, e.g. ("tfjs-vis",)."""
    sources = re.findall(r"""<script\b[^>]*\bsrc=["']([^"']+)["']""", html, re.I)
    return tuple(name for name in VENDOR_EXCEPTIONS if any(name in src for src in sources))


def _add_tf_prelude(html: str, up: str) -> str:
    """Put js/tf-csp-prelude.js in front of a page's own <script src=".../tf.min.js">: without it tfjs
    falls back to an eval the CSP refuses (see that file). Pages that run tfjs in a worker do not need it."""
    prelude = f'<script src="{up}{TF_PRELUDE}"></script>'
    if TF_PRELUDE in html:
        return html
    return re.sub(r"<script\b[^>]*\bsrc=[\"'][^\"']*tf\.min\.js[^>]*>", lambda m: prelude + m.group(0), html, count=1)


def _attribute_values(html: str) -> set[str]:
    return set(re.findall(r'(?:http-equiv|name|rel)="([^"]+)"', html))


class _InlineFinder(HTMLParser):
    """Collects what a strict CSP blocks: inline scripts (by type), event-handler attributes, inline styles."""

    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.problems: list[str] = []
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
        if tag == "script" and "src" not in attrs:
            self._script = {"type": (attrs.get("type") or "").strip().lower()}

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            if self._script["type"] in JS_SCRIPT_TYPES:
                self.problems.append("inline <script> (move it into a module in js/)")
            self._script = None


def check_page(html: str, page_name: str) -> list[str]:
    """The texts of the page's inline import maps (hashed into its CSP); PageError if anything inline would be blocked."""
    finder = _InlineFinder()
    finder.feed(html)
    if finder.problems:
        raise PageError(f"{page_name}: {finder.problems[0]}: the Content-Security-Policy blocks it")
    return [
        match.group(2)
        for match in re.finditer(r"<script\b([^>]*)>(.*?)</script>", html, re.S | re.I)
        if re.search(r"""\btype\s*=\s*["']?importmap\b""", match.group(1), re.I)
    ]


# ------------------------------------------------------------------ service worker


def precache_files(dist: Path) -> list[Path]:
    """Every file of the built site the service worker caches: all but sw.js itself and dotfiles (.nojekyll)."""
    return sorted(
        path.relative_to(dist)
        for path in dist.rglob("*")
        if path.is_file() and path.name != SERVICE_WORKER and not any(part.startswith(".") for part in path.relative_to(dist).parts)
    )


def cache_version(dist: Path, files: list[Path]) -> str:
    """Hex SHA-256 of the files' paths and bytes (first CACHE_VERSION_CHARS digits): changes with any file."""
    digest = hashlib.sha256()
    for rel in files:
        digest.update(rel.as_posix().encode() + b"\0")
        digest.update(hashlib.sha256((dist / rel).read_bytes()).digest())
    return digest.hexdigest()[:CACHE_VERSION_CHARS]


def write_service_worker(dist: Path, template: Path) -> str:
    """Render `template` (site_template/sw.js) into dist/sw.js with VERSION and FILES; returns VERSION."""
    if not template.is_file():
        raise PageError(f"{template}: missing (the service worker template)")
    files = precache_files(dist)
    version = cache_version(dist, files)
    urls = [quote(rel.as_posix()) for rel in files]
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    script = env.from_string(template.read_text()).render(version=version, files=urls)
    (dist / SERVICE_WORKER).write_text(script)
    return version
