"""Transport limits: one cap on request bodies and WebSocket messages, before anything parses them."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 512 * 1024


class BodySizeLimit:
    """Answers 413 to a body over the cap, whether announced by Content-Length or streamed;
    closes a WebSocket with 1009 (message too big) on a message over the same cap."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                await _too_large(send)
                return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracked_send)
        except _BodyTooLarge:
            if not started:
                await _too_large(send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        closed = False

        async def limited_receive() -> Message:
            nonlocal closed
            message = await receive()
            if message["type"] == "websocket.receive" and _message_bytes(message) > self.max_bytes:
                # The app sees the connection end; the client is told why.
                closed = True
                await send({"type": "websocket.close", "code": MESSAGE_TOO_BIG, "reason": "message too big"})
                return {"type": "websocket.disconnect", "code": MESSAGE_TOO_BIG}
            return message

        async def closed_send(message: Message) -> None:
            if not closed:  # after our close, whatever the app still sends has nowhere to go
                await send(message)

        await self.app(scope, limited_receive, closed_send)


MESSAGE_TOO_BIG = 1009  # RFC 6455


def _message_bytes(message: Message) -> int:
    text = message.get("text")
    return len(text.encode()) if text is not None else len(message.get("bytes") or b"")


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send) -> None:
    await send({"type": "http.response.start", "status": 413, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"request body too large"})
