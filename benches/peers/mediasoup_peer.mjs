// mediasoup (Node, C++ worker) as a plain-RTP benchmark peer, set up exactly as
// benches/rtpload_peer.py sets up mediasoup_py, so the load tool does the same work with both.
//
// Scenarios:
//   fanout      one comedia PlainTransport producer (VP8, or opus with --kind audio) and
//               --consumers PlainTransports, each consuming it and sending to
//               127.0.0.1:<recv-base + i>
//   conference  --participants peers, each with one comedia PlainTransport producing VP8
//               (SSRC VIDEO_SSRC + i) and opus (AUDIO_SSRC + i) (opus only with --audio-only),
//               and one PlainTransport to 127.0.0.1:<recv-base + i> consuming every other
//               participant's producers
//   datachannels  (--webrtc only) one WebRtcTransport with a DataProducer (SCTP stream
//               DATA_PRODUCER_STREAM_ID, ordered, reliable) and --consumers WebRtcTransports,
//               each with a DataConsumer of it; the ready line adds dataProducerStreamId and
//               dataConsumerStreamIds (in consumer-transport order)
// Consumers use the router's full RTP capabilities (header extensions included).
//
// With --webrtc --client-fingerprint sha-256:AB:CD:... every transport is a WebRtcTransport
// instead (UDP on 127.0.0.1, one port each), connected at once with DTLS role "client" and
// that fingerprint (the load tool's certificate), so mediasoup is the DTLS server; the ready
// line then also lists each transport's port, ICE credentials and certificate fingerprint
// (webrtcTransports: producers in producer-transport order, consumers in receive-port order).
//
// Prints one JSON ready line, then runs until SIGTERM/SIGINT or --max-seconds.
// Run from a directory whose node_modules has mediasoup, with MEDIASOUP_WORKER_BIN set:
//   node mediasoup_peer.mjs --scenario fanout --consumers 10 --recv-base 41000 --max-seconds 60
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';

// mediasoup resolves from the working directory, not from this file's.
const mediasoup = createRequire(path.join(process.cwd(), 'peer.js'))('mediasoup');

const VIDEO_SSRC = 0x11223344;
const AUDIO_SSRC = 0x22334455;
const VIDEO_PAYLOAD_TYPE = 101;
const AUDIO_PAYLOAD_TYPE = 100;
const DATA_PRODUCER_STREAM_ID = 0;
const LISTEN_INFO = { protocol: 'udp', ip: '127.0.0.1' };
const MEDIA_CODECS = [
	{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
	{ kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
];
// Far above any benchmark run; a stray peer still ends.
const LONGEST_RUN_SECONDS = 3600;

const { values: options } = parseArgs({
	options: {
		scenario: { type: 'string', default: 'fanout' },
		consumers: { type: 'string', default: '4' },
		participants: { type: 'string', default: '4' },
		kind: { type: 'string', default: 'video' },
		'audio-only': { type: 'boolean', default: false },
		'recv-base': { type: 'string', default: '40000' },
		'max-seconds': { type: 'string', default: '300' },
		webrtc: { type: 'boolean', default: false },
		'client-fingerprint': { type: 'string' },
	},
});

function rtpParameters(kind, ssrc) {
	const codec =
		kind === 'video'
			? { mimeType: 'video/VP8', payloadType: VIDEO_PAYLOAD_TYPE, clockRate: 90000 }
			: { mimeType: 'audio/opus', payloadType: AUDIO_PAYLOAD_TYPE, clockRate: 48000, channels: 2 };
	return { codecs: [codec], encodings: [{ ssrc }] };
}

// Makes the scenario's transports: plain RTP, or WebRTC connected to the load tool
// (clientFingerprint set), listing what the load tool needs to reach each one.
class Transports {
	constructor(router, clientFingerprint, enableSctp = false) {
		this.router = router;
		this.clientFingerprint = clientFingerprint;
		this.enableSctp = enableSctp;
		this.producers = [];
		this.consumers = [];
	}

	// A transport the load tool sends to, and its port.
	async ingress() {
		if (!this.clientFingerprint) {
			const transport = await this.router.createPlainTransport({ listenInfo: LISTEN_INFO, comedia: true });
			return { transport, port: transport.tuple.localPort };
		}
		const transport = await this.webrtcTransport(this.producers);
		return { transport, port: this.producers.at(-1).port };
	}

	// A transport whose consumers reach the load tool's port.
	async egressTo(port) {
		if (!this.clientFingerprint) {
			const transport = await this.router.createPlainTransport({ listenInfo: LISTEN_INFO, comedia: false });
			await transport.connect({ ip: '127.0.0.1', port });
			return transport;
		}
		return this.webrtcTransport(this.consumers);
	}

	async webrtcTransport(listed) {
		const transport = await this.router.createWebRtcTransport({
			listenInfos: [LISTEN_INFO],
			enableSctp: this.enableSctp,
		});
		await transport.connect({
			dtlsParameters: { role: 'client', fingerprints: [this.clientFingerprint] },
		});
		const [candidate] = transport.iceCandidates;
		const fingerprint = transport.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256');
		listed.push({
			port: candidate.port,
			usernameFragment: transport.iceParameters.usernameFragment,
			password: transport.iceParameters.password,
			fingerprint: { algorithm: fingerprint.algorithm, value: fingerprint.value },
		});
		return transport;
	}

	readyFields() {
		if (!this.clientFingerprint) return {};
		return { webrtcTransports: { producers: this.producers, consumers: this.consumers } };
	}
}

async function fanout(transports, consumers, recvBase, kind) {
	const router = transports.router;
	const { transport: ingress, port: ingressPort } = await transports.ingress();
	const producer = await ingress.produce({ kind, rtpParameters: rtpParameters(kind, VIDEO_SSRC) });
	for (let index = 0; index < consumers; index++) {
		const egress = await transports.egressTo(recvBase + index);
		await egress.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
	}
	return {
		producerPort: ingressPort,
		ssrc: VIDEO_SSRC,
		payloadType: kind === 'video' ? VIDEO_PAYLOAD_TYPE : AUDIO_PAYLOAD_TYPE,
	};
}

async function conference(transports, participants, recvBase, audioOnly) {
	const router = transports.router;
	const kinds = audioOnly ? ['audio'] : ['audio', 'video'];
	const ingressPorts = [];
	const producers = [];
	for (let index = 0; index < participants; index++) {
		const { transport: ingress, port: ingressPort } = await transports.ingress();
		ingressPorts.push(ingressPort);
		for (const kind of kinds) {
			const ssrc = (kind === 'video' ? VIDEO_SSRC : AUDIO_SSRC) + index;
			const producer = await ingress.produce({ kind, rtpParameters: rtpParameters(kind, ssrc) });
			producers.push({ owner: index, producer });
		}
	}
	for (let index = 0; index < participants; index++) {
		const egress = await transports.egressTo(recvBase + index);
		for (const { owner, producer } of producers) {
			if (owner !== index) {
				await egress.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
			}
		}
	}
	return {
		producerPorts: ingressPorts,
		videoSsrc: VIDEO_SSRC,
		audioSsrc: AUDIO_SSRC,
		videoPayloadType: VIDEO_PAYLOAD_TYPE,
		audioPayloadType: AUDIO_PAYLOAD_TYPE,
	};
}

async function datachannels(transports, consumers) {
	const ingress = await transports.webrtcTransport(transports.producers);
	const producer = await ingress.produceData({
		sctpStreamParameters: { streamId: DATA_PRODUCER_STREAM_ID, ordered: true },
		label: 'bench',
	});
	const streamIds = [];
	for (let index = 0; index < consumers; index++) {
		const egress = await transports.webrtcTransport(transports.consumers);
		const consumer = await egress.consumeData({ dataProducerId: producer.id });
		streamIds.push(consumer.sctpStreamParameters.streamId);
	}
	return { dataProducerStreamId: DATA_PRODUCER_STREAM_ID, dataConsumerStreamIds: streamIds };
}

// --client-fingerprint ALGORITHM:HEX as dtlsParameters' fingerprint, with --webrtc.
function clientFingerprint() {
	if (!options.webrtc) return undefined;
	const text = options['client-fingerprint'] ?? '';
	const separator = text.indexOf(':');
	if (separator < 1) throw new Error('--webrtc needs --client-fingerprint ALGORITHM:HEX');
	return { algorithm: text.slice(0, separator), value: text.slice(separator + 1) };
}

async function main() {
	const recvBase = Number(options['recv-base']);
	const maxSeconds = Math.min(Number(options['max-seconds']), LONGEST_RUN_SECONDS);
	const worker = await mediasoup.createWorker({ logLevel: 'warn', rtcMinPort: 20000, rtcMaxPort: 29999 });
	worker.on('died', (error) => {
		console.error('mediasoup worker died:', error);
		process.exit(1);
	});
	const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
	const transports = new Transports(router, clientFingerprint(), options.scenario === 'datachannels');
	let setup;
	if (options.scenario === 'datachannels') {
		if (!options.webrtc) throw new Error('--scenario datachannels needs --webrtc');
		setup = await datachannels(transports, Number(options.consumers));
	} else if (options.scenario === 'fanout') {
		setup = await fanout(transports, Number(options.consumers), recvBase, options.kind);
	} else if (options.scenario === 'conference') {
		setup = await conference(transports, Number(options.participants), recvBase, options['audio-only']);
	} else {
		throw new Error(`unknown scenario ${options.scenario}`);
	}
	console.log(
		JSON.stringify({
			ready: true,
			...setup,
			...transports.readyFields(),
			workerPid: worker.pid,
			cpuPid: worker.pid,
			mediasoupVersion: mediasoup.version,
		})
	);

	let stopping = false;
	const stop = () => {
		if (stopping) return;
		stopping = true;
		worker.close();
		process.exit(0);
	};
	process.on('SIGTERM', stop);
	process.on('SIGINT', stop);
	setTimeout(stop, maxSeconds * 1000);
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
