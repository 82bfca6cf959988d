/**
 * The site's service worker: after one visit, every page works with the network off.
 * Rendered by `pipeline build` (pipeline/build/webapp.py), which fills in VERSION and FILES.
 *
 * - install: precache every file of the build (FILES, relative to this script),
 *   bypassing the HTTP cache so a stale file never enters a new cache.
 * - activate: delete the caches of older builds of this site (same scope), then
 *   take over the open pages at once (skipWaiting + clients.claim; js/offline.js
 *   tells the visitor a new version is ready).
 * - fetch: same-origin GETs are answered from this build's cache, ignoring the
 *   ?v= cache-busting query (the cache holds exactly one build); anything not
 *   precached goes to the network.
 */
const VERSION = {{ version | tojson }}; // content hash of FILES: a new build, a new cache
const FILES = {{ files | tojson }};
// Several sites can share an origin (USER.github.io/REPO1/, /REPO2/): name caches by scope.
const PREFIX = `digit-pipeline ${self.registration.scope} `;
const CACHE = PREFIX + VERSION;

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(FILES.map((file) => new Request(file, { cache: 'reload' })));
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

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(cachedOrNetwork(request));
});

/** This build's copy of `request` (a folder URL means its index.html), else the network. */
async function cachedOrNetwork(request) {
  const url = new URL(request.url);
  url.search = '';
  url.hash = '';
  if (url.pathname.endsWith('/')) url.pathname += 'index.html';
  const cached = await caches.match(url.href, { cacheName: CACHE });
  return cached || fetch(request);
}
