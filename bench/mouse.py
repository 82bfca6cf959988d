"""Strokes drawn with Chromium's own mouse input, as fast as the page takes them.

`page.mouse.move` waits until the renderer has handled each event, and headless
Chromium handles mouse moves once per frame: a stroke of 60 points takes 60
frames, about a second, and the drawn-digit tests spent most of their time
there. `stroke` sends a stroke's moves without waiting for each one (the
DevTools protocol's Input.dispatchMouseEvent, all in flight at once, in order),
so the renderer coalesces the moves of one frame into one pointermove whose
getCoalescedEvents() holds every point, as a fast pen or a 1000 Hz mouse
delivers them. The events are the browser's own (trusted, with pointer
capture and coalescing), not events made up in the page.

Playwright's synchronous API has no way to have requests in flight together,
so this reaches into its asynchronous core (`_impl_obj`, `_sync`), written for
playwright 1.65 (pinned in requirements.lock); tests/browser/test_mouse.py
checks that every point arrives, in order, and fails if that ever changes.
"""

from __future__ import annotations

import asyncio
import weakref

_SESSIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # page -> its CDP session


def stroke(page, points) -> None:
    """Press at points[0], move through the others, release at the last: viewport CSS pixels, (x, y) pairs."""
    points = [(float(x), float(y)) for x, y in points]
    session = _SESSIONS.get(page)
    if session is None:
        session = _SESSIONS[page] = page.context.new_cdp_session(page)
    core = session._impl_obj

    def send(kind: str, x: float, y: float, buttons: int, button: str = "left", **extra):
        return core.send("Input.dispatchMouseEvent",
                         {"type": kind, "x": x, "y": y, "button": button, "buttons": buttons, **extra}, None)

    async def draw() -> None:
        (x0, y0), (x1, y1) = points[0], points[-1]
        await send("mouseMoved", x0, y0, 0, button="none")
        await send("mousePressed", x0, y0, 1, clickCount=1)
        await asyncio.gather(*(send("mouseMoved", x, y, 1) for x, y in points[1:]))
        await send("mouseReleased", x1, y1, 0, clickCount=1)

    session._sync(draw())
