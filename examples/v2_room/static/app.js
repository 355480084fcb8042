// A participant: mediasoup-client 2.x's Room, its requests and notifications carried over a
// WebSocket (see server.py for the envelope), the camera and microphone sent, and a tile for
// every other participant.
const params = new URLSearchParams(location.search);
const statusLine = document.getElementById('status');

class Signaling {
  constructor(url) {
    this.socket = new WebSocket(url);
    this.pending = new Map();
    this.nextId = 1;
    this.onnotification = () => {};
    this.socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.notification) {
        this.onnotification(message.notification);
        return;
      }
      const waiting = this.pending.get(message.id);
      if (!waiting) return;
      this.pending.delete(message.id);
      if (message.ok) waiting.resolve(message.data);
      else waiting.reject(new Error(message.error));
    };
    this.opened = new Promise((resolve, reject) => {
      this.socket.onopen = resolve;
      this.socket.onerror = reject;
    });
  }

  request(request) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.send(JSON.stringify({ id, request }));
    });
  }

  notify(notification) {
    this.socket.send(JSON.stringify({ notification }));
  }
}

const tiles = new Map();

function tileFor(peerName) {
  let tile = tiles.get(peerName);
  if (!tile) {
    tile = document.createElement('div');
    tile.className = 'tile';
    tile.dataset.peer = peerName;
    const label = document.createElement('div');
    label.textContent = peerName;
    const video = document.createElement('video');
    video.autoplay = true;
    video.muted = true;
    video.playsInline = true;
    const audio = document.createElement('audio');
    audio.autoplay = true;
    tile.append(label, video, audio);
    document.getElementById('tiles').append(tile);
    tiles.set(peerName, tile);
  }
  return tile;
}

function removeTile(peerName) {
  const tile = tiles.get(peerName);
  if (tile) tile.remove();
  tiles.delete(peerName);
}

window.consumers = [];

async function join(roomName, peerName, { produce = true, simulcast = false } = {}) {
  const signaling = new Signaling(
    `ws://${location.host}/ws?room=${encodeURIComponent(roomName)}`);
  await signaling.opened;
  const room = new mediasoupClient.Room({ requestTimeout: 10000, turnServers: [] });
  room.on('request', (request, callback, errback) => {
    signaling.request(request).then(callback, errback);
  });
  room.on('notify', (notification) => signaling.notify(notification));
  signaling.onnotification = (notification) => room.receiveNotification(notification);

  const peers = await room.join(peerName, { displayName: peerName });
  const recvTransport = room.createTransport('recv');

  async function handleConsumer(consumer) {
    if (!consumer.supported) return;
    window.consumers.push(consumer);
    const track = await consumer.receive(recvTransport);
    const tile = tileFor(consumer.peer.name);
    const element = tile.querySelector(consumer.kind);
    element.srcObject = new MediaStream([track]);
    consumer.on('close', () => { element.srcObject = null; });
  }

  function handlePeer(peer) {
    tileFor(peer.name);
    for (const consumer of peer.consumers) handleConsumer(consumer);
    peer.on('newconsumer', handleConsumer);
    peer.on('close', () => removeTile(peer.name));
  }

  for (const peer of peers) handlePeer(peer);
  room.on('newpeer', handlePeer);

  if (produce) {
    // Three simulcast streams need 720p (browsers send fewer for smaller captures).
    const video = simulcast ? { width: 1280, height: 720 } : { width: 640, height: 360 };
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video });
    const sendTransport = room.createTransport('send');
    const audio = room.createProducer(stream.getAudioTracks()[0]);
    await audio.send(sendTransport);
    const camera = room.createProducer(stream.getVideoTracks()[0], { simulcast });
    await camera.send(sendTransport);
  }
  window.room = room;
  statusLine.textContent = `in room ${roomName} as ${peerName}`;
}

window.join = join;
window.tilePeers = () => Array.from(tiles.keys());

if (params.get('peer')) {
  join(params.get('room') || 'test', params.get('peer'),
    { simulcast: params.get('simulcast') === '1' }).catch((error) => {
    statusLine.textContent = `failed: ${error}`;
  });
}
