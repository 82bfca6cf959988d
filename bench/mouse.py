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

    def event(kind: str, x: float, y: float, buttons: int, **extra) -> dict:
        return {"type": kind, "x": x, "y": y, "button": "left" if buttons or kind != "mouseMoved" else "none",
                "buttons": buttons, **extra}

    async def draw() -> None:
        (x0, y0), (x1, y1) = points[0], points[-1]
        await core.send("Input.dispatchMouseEvent", event("mouseMoved", x0, y0, 0), None)
        await core.send("Input.dispatchMouseEvent", event("mousePressed", x0, y0, 1, clickCount=1), None)
        await asyncio.gather(*(core.send("Input.dispatchMouseEvent", event("mouseMoved", x, y, 1), None)
                               for x, y in points[1:]))
        await core.send("Input.dispatchMouseEvent", event("mouseReleased", x1, y1, 0, clickCount=1), None)

    session._sync(draw())
