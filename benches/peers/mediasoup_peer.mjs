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
// Consumers use the router's full RTP capabilities (header extensions included).
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
	},
});

function rtpParameters(kind, ssrc) {
	const codec =
		kind === 'video'
			? { mimeType: 'video/VP8', payloadType: VIDEO_PAYLOAD_TYPE, clockRate: 90000 }
			: { mimeType: 'audio/opus', payloadType: AUDIO_PAYLOAD_TYPE, clockRate: 48000, channels: 2 };
	return { codecs: [codec], encodings: [{ ssrc }] };
}

async function egressTo(router, port) {
	const transport = await router.createPlainTransport({ listenInfo: LISTEN_INFO, comedia: false });
	await transport.connect({ ip: '127.0.0.1', port });
	return transport;
}

async function fanout(router, consumers, recvBase, kind) {
	const ingress = await router.createPlainTransport({ listenInfo: LISTEN_INFO, comedia: true });
	const producer = await ingress.produce({ kind, rtpParameters: rtpParameters(kind, VIDEO_SSRC) });
	for (let index = 0; index < consumers; index++) {
		const egress = await egressTo(router, recvBase + index);
		await egress.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
	}
	return {
		producerPort: ingress.tuple.localPort,
		ssrc: VIDEO_SSRC,
		payloadType: kind === 'video' ? VIDEO_PAYLOAD_TYPE : AUDIO_PAYLOAD_TYPE,
	};
}

async function conference(router, participants, recvBase, audioOnly) {
	const kinds = audioOnly ? ['audio'] : ['audio', 'video'];
	const ingressPorts = [];
	const producers = [];
	for (let index = 0; index < participants; index++) {
		const ingress = await router.createPlainTransport({ listenInfo: LISTEN_INFO, comedia: true });
		ingressPorts.push(ingress.tuple.localPort);
		for (const kind of kinds) {
			const ssrc = (kind === 'video' ? VIDEO_SSRC : AUDIO_SSRC) + index;
			const producer = await ingress.produce({ kind, rtpParameters: rtpParameters(kind, ssrc) });
			producers.push({ owner: index, producer });
		}
	}
	for (let index = 0; index < participants; index++) {
		const egress = await egressTo(router, recvBase + index);
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

async function main() {
	const recvBase = Number(options['recv-base']);
	const maxSeconds = Math.min(Number(options['max-seconds']), LONGEST_RUN_SECONDS);
	const worker = await mediasoup.createWorker({ logLevel: 'warn', rtcMinPort: 20000, rtcMaxPort: 29999 });
	worker.on('died', (error) => {
		console.error('mediasoup worker died:', error);
		process.exit(1);
	});
	const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
	let setup;
	if (options.scenario === 'fanout') {
		setup = await fanout(router, Number(options.consumers), recvBase, options.kind);
	} else if (options.scenario === 'conference') {
		setup = await conference(router, Number(options.participants), recvBase, options['audio-only']);
	} else {
		throw new Error(`unknown scenario ${options.scenario}`);
	}
	console.log(
		JSON.stringify({
			ready: true,
			...setup,
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
