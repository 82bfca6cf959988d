/**
 * The site's service worker: after one visit to a page, that page works with the network off.
 * Rendered by `pipeline build` (pipeline/build/webapp.py), which fills in VERSION, PAGE, LATER and LAB.
 *
 * - install: precache the drawing page's own files (PAGE), each from the URL the page itself
 *   requests, through the HTTP cache: what the page has just downloaded is not downloaded again.
 *   Every file must have the SHA-256 the build wrote (a stale copy is fetched once more past the
 *   HTTP cache); if one still differs or fails, the install fails and the previous build's worker
 *   and cache stay. If the previous cache held the lab (or the view), it is precached too.
 * - message {type: 'cache-page', url}: a page asks for its own group; the network view (network.html)
 *   gets VIEW cached, a lab page (train.html, report.html) LAB, checked the same way. Answers {ok: true}
 *   or {ok: false, error}.
 * - activate: delete the caches of older builds of this site (same scope), then take over the
 *   open pages at once (skipWaiting + clients.claim; js/offline.js tells the visitor a new
 *   version is ready).
 * - fetch: same-origin GETs are answered from this build's cache, ignoring the ?v= cache-busting
 *   query (the cache holds one build). Anything else goes to the network; a file of this build
 *   that was not cached yet (the cpu fallback, say, or LATER: what the drawing page needs only
 *   once a visitor corrects a digit) is kept once it has passed the check.
 */
const VERSION = {{ version | tojson }}; // content hash of every file: a new build, a new cache
// [path, url as the pages request it, SHA-256 hex], paths and urls relative to this script.
const PAGE = {{ page | tojson }}; // the drawing page's own files
const LATER = {{ later | tojson }}; // the drawing page's files it fetches only when needed: never precached
const LAB = {{ lab | tojson }}; // every file but PAGE's (LATER's too): the lab's pages, data, tfjs and charts
// what network.html loads beyond PAGE (its modules, layers and digits): paths of LAB's entries
const VIEW = {{ view | tojson }}.map((path) => LAB.find(([file]) => file === path));
// Several sites can share an origin (USER.github.io/REPO1/, /REPO2/): name caches by scope.
const PREFIX = `digit-pipeline ${self.registration.scope} `;
const CACHE = PREFIX + VERSION;
const FILES = new Map([...PAGE, ...LATER, ...LAB].map((entry) => [key(entry[0]), entry])); // by cache key

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      try {
        const cache = await caches.open(CACHE);
        await store(cache, PAGE);
        if (await previousHad(LAB)) await store(cache, LAB);
        else if (await previousHad(VIEW)) await store(cache, VIEW);
      } catch (err) {
        await caches.delete(CACHE); // nothing half-checked stays; the old build keeps serving
        throw err;
      }
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const old = (await caches.keys()).filter((name) => name.startsWith(PREFIX) && name !== CACHE);
      await Promise.all(old.map((name) => caches.delete(name)));
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('message', (event) => {
  if (event.data?.type !== 'cache-page' || !event.ports[0]) return;
  const opened = (group) => group.some(([path]) => sameFile(path, event.data.url));
  const group = opened(VIEW) ? [...PAGE, ...VIEW] : opened(LAB) ? LAB : PAGE;
  const port = event.ports[0];
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => store(cache, group))
      .then(() => port.postMessage({ ok: true }), (err) => port.postMessage({ ok: false, error: String(err.message || err) })),
  );
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(cachedOrNetwork(event));
});

/** Put every entry of `group` not cached yet into `cache`, each checked; rejects naming the first file that fails. */
async function store(cache, group) {
  const missing = [];
  for (const entry of group) if (!(await cache.match(key(entry[0])))) missing.push(entry);
  const responses = await Promise.all(missing.map((entry) => checkedDownload(entry)));
  await Promise.all(responses.map((response, i) => cache.put(key(missing[i][0]), response)));
}

/** The file of `entry` from the network (or the HTTP cache), as a Response whose bytes have the build's SHA-256. */
async function checkedDownload([path, url, sha256]) {
  for (const cache of ['default', 'no-cache']) { // 'no-cache': past a stale copy in the HTTP cache
    const response = await fetch(new URL(url, self.location), { cache });
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    const checked = await checkedCopy(response, sha256);
    if (checked) return checked;
  }
  throw new Error(`${path}: what the server sent is not what the build wrote (SHA-256 differs)`);
}

/** A Response with the body of `response` if its SHA-256 is `sha256`, else null. */
async function checkedCopy(response, sha256) {
  const bytes = await response.arrayBuffer();
  if ((await hex(bytes)) !== sha256) return null;
  return new Response(bytes, { headers: { 'Content-Type': response.headers.get('Content-Type') || '' } });
}

async function hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The cache key of a file: its URL without query, a folder meaning its index.html. */
function key(url) {
  const u = new URL(url, self.location);
  u.search = '';
  u.hash = '';
  if (u.pathname.endsWith('/')) u.pathname += 'index.html';
  return u.href;
}

function sameFile(path, url) {
  return key(path) === key(url);
}

/** Whether the cache of the build before this one held a page of `group`: the visitor has opened it. */
async function previousHad(group) {
  const page = group.find(([path]) => path.endsWith('.html'));
  if (!page) return false;
  for (const name of await caches.keys()) {
    if (name.startsWith(PREFIX) && name !== CACHE && (await caches.match(key(page[0]), { cacheName: name }))) return true;
  }
  return false;
}

/** This build's copy of the request, else the network; a build file first seen here is kept once checked. */
async function cachedOrNetwork(event) {
  const cached = await caches.match(key(event.request.url), { cacheName: CACHE });
  if (cached) return cached;
  const response = await fetch(event.request);
  const entry = FILES.get(key(event.request.url));
  if (entry && response.ok) event.waitUntil(keep(entry, response.clone()));
  return response;
}

/** Put `response` into this build's cache as the file of `entry` if it passes the check. */
async function keep([path, , sha256], response) {
  const checked = await checkedCopy(response, sha256);
  if (checked) await (await caches.open(CACHE)).put(key(path), checked);
}
