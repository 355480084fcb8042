// The demo client: mediasoup-client v3 speaking mediasoup-demo's protocol over a WebSocket
// (requests, responses and notifications as in mediasoup_py.protocol).
'use strict';

const state = {
  socket: null,
  nextId: 1,
  pending: new Map(),
  device: null,
  sendTransport: null,
  recvTransport: null,
  producers: {},
  consumers: new Map(), // consumer id -> {consumer, peerId}
  dataConsumers: new Map(), // data consumer id -> {dataConsumer, peerId}
  chat: null, // our chat DataProducer
  bot: null, // our channel to the room's bot
  peers: new Map(), // peer id -> {displayName, tile}
};

const $ = (id) => document.getElementById(id);

function setStatus(text) { $('status').textContent = text; }

function request(method, data = {}) {
  const id = state.nextId++;
  state.socket.send(JSON.stringify({request: true, id, method, data}));
  return new Promise((resolve, reject) => state.pending.set(id, {resolve, reject}));
}

function tileFor(peerId, displayName) {
  let peer = state.peers.get(peerId);
  if (peer) return peer.tile;
  const tile = document.createElement('div');
  tile.className = 'tile';
  tile.dataset.peerId = peerId;
  tile.innerHTML = '<video autoplay playsinline></video><span class="name"></span>' +
    '<div class="stats"></div>';
  tile.querySelector('.name').textContent = displayName || peerId.slice(0, 8);
  tile.querySelector('video').srcObject = new MediaStream();
  $('tiles').appendChild(tile);
  state.peers.set(peerId, {displayName, tile});
  return tile;
}

function removePeer(peerId) {
  const peer = state.peers.get(peerId);
  if (peer) peer.tile.remove();
  state.peers.delete(peerId);
}

function addLayerPicker(tile, consumerId) {
  const select = document.createElement('select');
  select.title = 'preferred simulcast layer';
  for (const [value, label] of [[2, 'high'], [1, 'medium'], [0, 'low']]) {
    const option = document.createElement('option');
    option.value = value;
    option.textContent = label;
    select.appendChild(option);
  }
  select.onchange = () => request('setConsumerPreferredLayers',
    {consumerId, spatialLayer: Number(select.value), temporalLayer: 2});
  tile.appendChild(select);
}

function showChat(who, text) {
  const item = document.createElement('li');
  item.innerHTML = '<b></b> <span></span>';
  item.querySelector('b').textContent = who;
  item.querySelector('span').textContent = text;
  $('messages').appendChild(item);
  item.scrollIntoView({block: 'nearest'});
}

// Another peer's chat channel, on the stream the server chose.
async function onNewDataConsumer(message) {
  const {peerId, dataProducerId, id, sctpStreamParameters, label, protocol} = message.data;
  const dataConsumer = await state.recvTransport.consumeData(
    {id, dataProducerId, sctpStreamParameters, label, protocol});
  state.dataConsumers.set(dataConsumer.id, {dataConsumer, peerId});
  dataConsumer.on('message', (text) => {
    // peerId is null for the room's bot.
    const peer = peerId && state.peers.get(peerId);
    const who = peerId ? (peer && peer.displayName) || peerId.slice(0, 8) : 'bot';
    showChat(who, String(text));
  });
  return {response: true, id: message.id, ok: true, data: {}};
}

// "@bot ..." goes to the room's bot, anything else to everyone.
function say() {
  const text = $('message').value.trim();
  const toBot = text.startsWith('@bot ');
  const channel = toBot ? state.bot : state.chat;
  if (!text || !channel || channel.readyState !== 'open') return;
  channel.send(toBot ? text.slice(5) : text);
  showChat('me', text);
  $('message').value = '';
}

async function onServerRequest(message) {
  if (message.method === 'newDataConsumer') return onNewDataConsumer(message);
  if (message.method !== 'newConsumer') {
    return {response: true, id: message.id, ok: false, errorCode: 400,
      errorReason: `unknown method ${message.method}`};
  }
  const {peerId, producerId, id, kind, rtpParameters, type} = message.data;
  const consumer = await state.recvTransport.consume({id, producerId, kind, rtpParameters});
  state.consumers.set(consumer.id, {consumer, peerId});
  const tile = tileFor(peerId);
  const video = tile.querySelector('video');
  video.srcObject.addTrack(consumer.track);
  video.play().catch(() => {});
  if (kind === 'video' && type === 'simulcast') addLayerPicker(tile, consumer.id);
  consumer.on('trackended', () => state.consumers.delete(consumer.id));
  return {response: true, id: message.id, ok: true, data: {}};
}

function onNotification({method, data}) {
  switch (method) {
    case 'newPeer':
      tileFor(data.id, data.displayName);
      break;
    case 'peerClosed':
      removePeer(data.peerId);
      break;
    case 'consumerClosed': {
      const entry = state.consumers.get(data.consumerId);
      if (!entry) break;
      entry.consumer.close();
      const peer = state.peers.get(entry.peerId);
      if (peer) peer.tile.querySelector('video').srcObject.removeTrack(entry.consumer.track);
      state.consumers.delete(data.consumerId);
      break;
    }
    case 'dataConsumerClosed': {
      const entry = state.dataConsumers.get(data.dataConsumerId);
      if (entry) entry.dataConsumer.close();
      state.dataConsumers.delete(data.dataConsumerId);
      break;
    }
    case 'consumerLayersChanged': {
      const entry = state.consumers.get(data.consumerId);
      if (entry) entry.layer = data.spatialLayer;
      break;
    }
    case 'consumerScore': {
      const entry = state.consumers.get(data.consumerId);
      if (entry) entry.score = data.score.score;
      break;
    }
    case 'activeSpeaker':
      for (const [peerId, peer] of state.peers) {
        peer.tile.classList.toggle('speaking', peerId === data.peerId);
      }
      break;
    default:
      break;
  }
}

async function connect(roomId, peerId) {
  const url = new URL('/ws', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('roomId', roomId);
  // A demo that wants join tokens is opened as /?token=...: the token names the peer.
  const token = new URLSearchParams(location.search).get('token');
  if (token) url.searchParams.set('token', token);
  else url.searchParams.set('peerId', peerId);
  state.socket = new WebSocket(url);
  state.socket.onmessage = async (event) => {
    const message = JSON.parse(event.data);
    if (message.response) {
      const pending = state.pending.get(message.id);
      if (!pending) return;
      state.pending.delete(message.id);
      if (message.ok) pending.resolve(message.data);
      else pending.reject(new Error(message.errorReason));
    } else if (message.request) {
      let response;
      try {
        response = await onServerRequest(message);
      } catch (error) {
        response = {response: true, id: message.id, ok: false, errorCode: 500,
          errorReason: String(error)};
      }
      state.socket.send(JSON.stringify(response));
    } else if (message.notification) {
      onNotification(message);
    }
  };
  state.socket.onclose = () => setStatus('disconnected');
  await new Promise((resolve, reject) => {
    state.socket.onopen = resolve;
    state.socket.onerror = reject;
  });
}

function wireTransport(transport) {
  transport.on('connect', ({dtlsParameters}, callback, errback) => {
    request('connectWebRtcTransport', {transportId: transport.id, dtlsParameters})
      .then(callback, errback);
  });
}

async function join() {
  const roomId = $('room').value.trim() || 'demo';
  const displayName = $('name').value.trim() || 'guest';
  const peerId = crypto.randomUUID();
  $('join').disabled = true;
  setStatus('connecting');
  await connect(roomId, peerId);
  const routerRtpCapabilities = await request('getRouterRtpCapabilities');
  state.device = new mediasoupClient.Device();
  await state.device.load({routerRtpCapabilities});
  // DataChannels (the chat); mediasoup-client 3.20+ no longer reports the streams, so the
  // page states mediasoup's defaults itself.
  const sctpCapabilities = state.device.sctpCapabilities || {numStreams: {OS: 1024, MIS: 1024}};
  const send = await request('createWebRtcTransport',
    {producing: true, consuming: false, sctpCapabilities});
  state.sendTransport = state.device.createSendTransport(send);
  wireTransport(state.sendTransport);
  state.sendTransport.on('produce', ({kind, rtpParameters, appData}, callback, errback) => {
    request('produce', {transportId: state.sendTransport.id, kind, rtpParameters, appData})
      .then(callback, errback);
  });
  state.sendTransport.on('producedata', (parameters, callback, errback) => {
    const {sctpStreamParameters, label, protocol, appData} = parameters;
    request('produceData', {transportId: state.sendTransport.id, sctpStreamParameters, label,
      protocol, appData}).then(callback, errback);
  });
  const recv = await request('createWebRtcTransport',
    {producing: false, consuming: true, sctpCapabilities});
  state.recvTransport = state.device.createRecvTransport(recv);
  wireTransport(state.recvTransport);
  const {peers} = await request('join', {
    displayName,
    device: {name: navigator.userAgent},
    rtpCapabilities: state.device.rtpCapabilities,
    sctpCapabilities,
  });
  for (const peer of peers) tileFor(peer.id, peer.displayName);
  if (send.sctpParameters) {
    state.chat = await state.sendTransport.produceData({ordered: true, label: 'chat'});
    state.bot = await state.sendTransport.produceData({ordered: true, label: 'bot'});
    $('messages').dataset.empty = 'Chat: say something (@bot ... to the bot)';
    $('message').disabled = false;
    $('say').disabled = false;
  } else {
    $('messages').dataset.empty = 'Chat unavailable (no DataChannels)';
  }
  setStatus(`in room "${roomId}" as ${displayName}`);
  state.roomId = roomId;
  $('record').disabled = false;
  if ($('send').checked) await sendMedia(displayName);
  setInterval(showStats, 2000);
}

async function sendMedia(displayName) {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: true, video: {width: {ideal: 1280}, height: {ideal: 720}}});
  const tile = tileFor('me', `${displayName} (me)`);
  const video = tile.querySelector('video');
  video.muted = true;
  video.srcObject = new MediaStream(stream.getVideoTracks());
  state.producers.audio = await state.sendTransport.produce({track: stream.getAudioTracks()[0]});
  state.producers.video = await state.sendTransport.produce({
    track: stream.getVideoTracks()[0],
    encodings: [
      {scaleResolutionDownBy: 4, maxBitrate: 150000},
      {scaleResolutionDownBy: 2, maxBitrate: 500000},
      {scaleResolutionDownBy: 1, maxBitrate: 1500000},
    ],
    codecOptions: {videoGoogleStartBitrate: 1000},
  });
  $('mic').disabled = false;
  $('cam').disabled = false;
}

async function toggle(kind, button, onLabel, offLabel) {
  const producer = state.producers[kind];
  if (!producer) return;
  if (producer.paused) {
    producer.resume();
    await request('resumeProducer', {producerId: producer.id});
    button.textContent = onLabel;
  } else {
    producer.pause();
    await request('pauseProducer', {producerId: producer.id});
    button.textContent = offLabel;
  }
}

async function showStats() {
  for (const entry of state.consumers.values()) {
    const stats = await entry.consumer.getStats();
    stats.forEach((report) => {
      if (report.type !== 'inbound-rtp') return;
      const now = report.timestamp;
      const bytes = report.bytesReceived;
      const rate = entry.last ? (8 * (bytes - entry.last.bytes)) / (now - entry.last.now) : 0;
      entry.last = {bytes, now};
      entry.text = `${report.kind}: ${Math.round(rate)} kbps, lost ${report.packetsLost}` +
        (report.frameWidth ? `, ${report.frameWidth}x${report.frameHeight}` : '') +
        (entry.layer !== undefined && entry.layer !== null ? `, layer ${entry.layer}` : '') +
        (entry.score !== undefined ? `, score ${entry.score}` : '');
    });
    const peer = state.peers.get(entry.peerId);
    if (peer) {
      const texts = [...state.consumers.values()]
        .filter((other) => other.peerId === entry.peerId && other.text)
        .map((other) => other.text);
      peer.tile.querySelector('.stats').textContent = texts.join(' | ');
    }
  }
}

$('name').value = `guest-${Math.floor(Math.random() * 1000)}`;
$('join').onclick = () => join().catch((error) => {
  setStatus(`error: ${error.message}`);
  $('join').disabled = false;
});
$('mic').onclick = () => toggle('audio', $('mic'), 'Mute', 'Unmute');
$('cam').onclick = () => toggle('video', $('cam'), 'Stop camera', 'Start camera');
// The record button: the server records the room's producers into its --record-dir.
$('record').onclick = async () => {
  const recording = $('record').textContent === 'Stop recording';
  const url = `/rooms/${encodeURIComponent(state.roomId)}/recording`;
  const response = await fetch(url, {method: recording ? 'DELETE' : 'POST'});
  const body = await response.json();
  if (!response.ok) {
    setStatus(`recording: ${body.error}`);
    return;
  }
  $('record').textContent = recording ? 'Record' : 'Stop recording';
  setStatus(recording ? `recorded ${body.path}` : `recording to ${body.path}`);
};
$('say').onclick = say;
$('message').onkeydown = (event) => {
  if (event.key === 'Enter') say();
};
