// mediasoup-client 2.x keeps its RTCPeerConnections to itself; the page keeps a list of them
// (loaded before the client) to show what the browser decodes.
window.peerConnections = [];
window.RTCPeerConnection = class extends window.RTCPeerConnection {
  constructor(...args) {
    super(...args);
    window.peerConnections.push(this);
  }
};

// What this browser receives, by track: the inbound-rtp entries of every connection.
window.receivedStats = async () => {
  const entries = [];
  for (const pc of window.peerConnections) {
    if (pc.connectionState === 'closed') continue;
    const report = await pc.getStats();
    for (const entry of report.values()) {
      if (entry.type !== 'inbound-rtp') continue;
      entries.push({
        kind: entry.kind,
        ssrc: entry.ssrc,
        packetsReceived: entry.packetsReceived,
        packetsLost: entry.packetsLost,
        framesDecoded: entry.framesDecoded,
        frameWidth: entry.frameWidth,
        frameHeight: entry.frameHeight,
        totalSamplesReceived: entry.totalSamplesReceived,
        totalAudioEnergy: entry.totalAudioEnergy,
      });
    }
  }
  return entries;
};
