"""The demo room's chat bot, as mediasoup-demo's server has one: a DataProducer of its own
(label ``bot``, on a DirectTransport of the room's router) that every peer with DataChannels
consumes, and a DataConsumer of each peer's ``bot`` channel; what a peer says to it, it
repeats to everyone, naming who said it. All in Python through the DirectTransport: no
browser or PeerConnection on the server side."""

from __future__ import annotations

import asyncio
import logging

from mediasoup_py import errors
from mediasoup_py.data_producer import DataProducer
from mediasoup_py.direct_transport import DirectTransport
from mediasoup_py.room import BOT_LABEL, Peer, Room

__all__ = ["ChatBot", "start_chat_bot"]

_logger = logging.getLogger("mediasoup_py.demo")
# The PPID of text messages: the bot answers text only.
_PPID_STRING = 51


class ChatBot:
    """The bot of one room (see :func:`start_chat_bot`)."""

    def __init__(self, room: Room, transport: DirectTransport, data_producer: DataProducer):
        self._room = room
        self._transport = transport
        self.data_producer = data_producer
        self._tasks: set[asyncio.Task[None]] = set()
        room.add_data_producer(data_producer)
        room.on("newdataproducer", self._on_new_data_producer)
        room.on("close", transport.close)

    def _on_new_data_producer(self, peer: Peer, data_producer: DataProducer) -> None:
        if data_producer.label == BOT_LABEL:
            task = asyncio.ensure_future(self._listen(peer, data_producer))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _listen(self, peer: Peer, data_producer: DataProducer) -> None:
        try:
            # A peer on another worker of the room: its channel is piped here.
            consumer = await self._room.consume_data(self._transport, data_producer)
        except errors.MediasoupError as error:
            _logger.warning("the chat bot cannot hear %s: %s", peer.id, error)
            return

        def reply(message: bytes, ppid: int | None) -> None:
            if ppid != _PPID_STRING or self.data_producer.closed:
                return
            text = message.decode("utf-8", "replace")
            self.data_producer.send(f'{peer.display_name} said me: "{text}"')

        consumer.on("message", reply)


async def start_chat_bot(room: Room) -> ChatBot:
    """The room's chat bot, on its home router."""
    transport = await room.router.create_direct_transport()
    data_producer = await transport.produce_data(label=BOT_LABEL)
    return ChatBot(room, transport, data_producer)
