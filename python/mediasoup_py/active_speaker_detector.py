"""mediasoup v2's ActiveSpeakerDetector for a room: who is speaking, from the room's
``audiolevels`` reports (every 500 ms, loudest first). A producer becomes the active speaker
when it is the loudest in one report while nobody is, or in four reports in a row while
someone else is; it must be at -80 dBov or louder and neither paused nor closed. Silence
(an empty report) leaves nobody speaking. v3 applications have
``Router.create_active_speaker_observer`` (dominant speaker detection) instead."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mediasoup_py.events import EventEmitter

if TYPE_CHECKING:
    from mediasoup_py.producer import Producer
    from mediasoup_py.room import Room, RoomPeer

__all__ = ["ActiveSpeakerDetector"]

# The quietest level that counts as speaking, in dBov.
_MIN_LEVEL = -80
# Reports in a row a new loudest producer needs to take over from the current speaker.
_REPORTS_TO_TAKE_OVER = 4


class ActiveSpeakerDetector(EventEmitter):
    """Events: ``activespeakerchange`` (the peer and its producer, or ``None, None`` when
    nobody speaks), ``close``."""

    def __init__(self, room: Room) -> None:
        super().__init__()
        self._room = room
        self._speaker: Producer | None = None
        self._candidate: Producer | None = None
        self._candidate_reports = 0
        self._closed = False
        room.on("audiolevels", self._on_audio_levels)
        room.on("close", self.close)

    @property
    def closed(self) -> bool:
        """Whether it is closed."""
        return self._closed

    @property
    def active_speaker(self) -> Producer | None:
        """The producer speaking now, if anyone is."""
        return self._speaker

    def close(self) -> None:
        """Stops following the room."""
        if self._closed:
            return
        self._closed = True
        self._room.off("audiolevels", self._on_audio_levels)
        self._room.off("close", self.close)
        self.emit("close")

    def _on_audio_levels(self, levels: list[dict[str, Any]]) -> None:
        if self._speaker is not None and (self._speaker.closed or self._speaker.paused):
            self._change(None)
        loudest = next(
            (
                entry["producer"]
                for entry in levels
                if entry["audioLevel"] >= _MIN_LEVEL
                and not entry["producer"].paused
                and not entry["producer"].closed
            ),
            None,
        )
        if loudest is None:
            self._candidate, self._candidate_reports = None, 0
            self._change(None)
            return
        if loudest is self._speaker:
            self._candidate, self._candidate_reports = None, 0
            return
        if loudest is self._candidate:
            self._candidate_reports += 1
        else:
            self._candidate, self._candidate_reports = loudest, 1
        if self._speaker is None or self._candidate_reports >= _REPORTS_TO_TAKE_OVER:
            self._candidate, self._candidate_reports = None, 0
            self._change(loudest)

    def _change(self, speaker: Producer | None) -> None:
        if speaker is self._speaker:
            return
        self._speaker = speaker
        peer: RoomPeer | None = None if speaker is None else self._room._owner_of(speaker.id)
        self.emit("activespeakerchange", peer, speaker)
