"""The live view's transport, mounted beside Gradio on one FastAPI app: a server-sent-event stream per
episode (its scene, then batches of steps as the engine publishes them, then how it ended) and the page's
ES modules from app/static.

The stream only reads what the engine has published: a slow or vanished reader never holds the engine up,
and a reader that falls behind gets the steps it missed in one larger batch. Each event carries the index
of its last step as its id, so a browser that reconnects (EventSource does so by itself) resumes there.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import APIRouter, FastAPI, Header, HTTPException
from fastapi.responses import StreamingResponse
from fastapi.staticfiles import StaticFiles

from core.live import encode, end_message, scene_message, steps_message
from core.shards import Engine

STATIC = Path(__file__).resolve().parent / "static"
SEND_EVERY_S = 1 / 30  # a batch of new steps at most this often: the page interpolates between steps anyway
MAX_BATCH = 250  # steps per event when a reader catches up (Hopper: 2 s of real time)


def _event(kind: str, message: dict, last: int | None = None) -> str:
    head = f"event: {kind}\n" + (f"id: {last}\n" if last is not None else "")
    return f"{head}data: {encode(message)}\n\n"


def router(engine: Engine) -> APIRouter:
    r = APIRouter(prefix="/live")

    @r.get("/stream/{episode_id}")
    async def stream(episode_id: str, last_event_id: str | None = Header(default=None)) -> StreamingResponse:
        ep = engine.episode(episode_id)
        if ep is None:
            raise HTTPException(404, f"no episode {episode_id!r} (finished long ago, or never started)")
        resume = int(last_event_id) + 1 if last_event_id and last_event_id.isdigit() else 0

        async def events():
            sent = resume
            if sent == 0:
                yield _event("scene", scene_message(ep))
            while True:
                ended = ep.ended.is_set()  # read before the records, so no step published before the end is missed
                n = len(ep.records)
                while sent < n:
                    upto = min(n, sent + MAX_BATCH)
                    yield _event("steps", steps_message(ep.records[sent:upto]), upto - 1)
                    sent = upto
                if ended:
                    yield _event("end", end_message(ep))
                    return
                await asyncio.sleep(SEND_EVERY_S)

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)

    return r


def mount(app: FastAPI, engine: Engine) -> FastAPI:
    """Add the live routes and the page's modules to ``app`` (before Gradio is mounted at '/')."""
    app.include_router(router(engine))
    app.mount("/live/static", StaticFiles(directory=STATIC), name="live-static")
    return app
