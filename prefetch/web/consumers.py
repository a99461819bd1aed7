"""WebSocket relay of live run progress to signed-in browsers (`/ws/progress/`)."""

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from prefetch import progress


class ProgressConsumer(AsyncJsonWebsocketConsumer):
    """Joins the progress group and forwards each message as `{event, run}`; read-only."""

    group = None

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.group = progress.subscriber_group()
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"event": "connected"})

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("action") == "ping":
            await self.send_json({"event": "pong"})

    async def prefetch_progress(self, message):
        await self.send_json({"event": message["event"], "run": message["run"]})
