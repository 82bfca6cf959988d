/**
 * Offline use: registers the service worker (sw.js at the site's root, made by
 * `pipeline build` with every file of the build, its URL and SHA-256), asks it
 * to keep this page's files, and tells the visitor when a newer build has
 * taken over.
 *
 * The head partial (_head.html) puts this module in every page, so every page
 * of the site works offline after one visit: the worker precaches the drawing
 * page's files when it installs, and the lab's (train.html, report.html: the
 * training data, tf.min.js) when a lab page asks here. Once the page
 * is controlled and its files are cached, <html data-offline="ready"> (or
 * "failed": the page still works online). How updates go (see sw.js): a new build
 * has a new cache name; its service worker installs in the background, takes
 * over at once (skipWaiting + clients.claim) and deletes the old cache. A page
 * that was already open keeps what it has loaded and shows a notice with a
 * Reload button; nothing reloads by itself, so a drawing is never lost.
 */
const SCRIPT = 'sw.js'; // at the site's root, so its scope covers every page
const ROOT = new URL('../', import.meta.url); // this module is ROOT/js/offline.js

/** Register sw.js for the site's folder, e.g. https://USER.github.io/REPO/. Skipped where unsupported (file://, old browsers). */
export async function registerServiceWorker() {
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return null;
  const updating = Boolean(navigator.serviceWorker.controller); // a build already served this page
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (updating) showUpdateNotice();
  });
  try {
    const registration = await navigator.serviceWorker.register(new URL(SCRIPT, ROOT), { scope: ROOT.pathname });
    keepThisPage(); // not awaited: it waits for the worker to install
    return registration;
  } catch (err) {
    // Private modes and some browser settings forbid service workers: the page still works online.
    console.warn(`Offline use is not available here: ${err.message}`);
    return null;
  }
}

/** Ask the active service worker to cache this page's group of files; marks <html data-offline>. */
async function keepThisPage() {
  const registration = await navigator.serviceWorker.ready;
  if (!navigator.serviceWorker.controller) {
    await new Promise((resolve) => navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }));
  }
  const channel = new MessageChannel();
  const answer = new Promise((resolve) => {
    channel.port1.onmessage = ({ data }) => resolve(data);
  });
  registration.active.postMessage({ type: 'cache-page', url: location.href }, [channel.port2]);
  const { ok, error } = await answer;
  if (!ok) console.warn(`This page will not work offline: ${error}`);
  document.documentElement.dataset.offline = ok ? 'ready' : 'failed';
}

/** "A new version is ready" with a Reload button, once, at the top of the page. */
function showUpdateNotice() {
  if (document.getElementById('update-notice')) return;
  const notice = document.createElement('p');
  notice.id = 'update-notice';
  notice.className = 'update-notice';
  notice.setAttribute('role', 'status');
  notice.textContent = 'A new version of this site is ready. ';
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = 'Reload';
  button.addEventListener('click', () => location.reload());
  notice.append(button);
  document.body.prepend(notice);
}

// After the page has loaded: precaching must not compete with the first load.
if (document.readyState === 'complete') registerServiceWorker();
else window.addEventListener('load', () => registerServiceWorker(), { once: true });
