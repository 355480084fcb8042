// What mediasoup's API costs a Node service per call, for benches/api_costs.py, which times
// the same operations on mediasoup_py: creating and closing a WebRtcTransport, producing and
// consuming VP8 on one (then closing both), and a transport's getStats. Each operation runs
// --calls times per round for --rounds rounds; prints one JSON line, microseconds per call for
// each round: {"create and close a WebRtcTransport": [..], ...}.
// Run from a directory whose node_modules has mediasoup, with MEDIASOUP_WORKER_BIN set:
//   node mediasoup_api_costs.mjs --calls 50 --rounds 5
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';

const mediasoup = createRequire(path.join(process.cwd(), 'peer.js'))('mediasoup');

const LISTEN_INFOS = [{ protocol: 'udp', ip: '127.0.0.1' }];
const MEDIA_CODECS = [
	{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
	{ kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
];
const VP8 = {
	codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 }],
	encodings: [{ ssrc: 1111 }],
};
// Bounds whatever the arguments say.
const MAX_CALLS = 10000;
const MAX_ROUNDS = 100;

const { values: options } = parseArgs({
	options: {
		calls: { type: 'string', default: '50' },
		rounds: { type: 'string', default: '5' },
	},
});
const calls = Math.min(Number(options.calls), MAX_CALLS);
const rounds = Math.min(Number(options.rounds), MAX_ROUNDS);

async function perCall(operation) {
	const start = process.hrtime.bigint();
	for (let index = 0; index < calls; index++) {
		await operation();
	}
	return Number(process.hrtime.bigint() - start) / 1000 / calls;
}

const worker = await mediasoup.createWorker({ logLevel: 'warn', rtcMinPort: 49000, rtcMaxPort: 49499 });
const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
const transport = await router.createWebRtcTransport({ listenInfos: LISTEN_INFOS });
const operations = {
	'create and close a WebRtcTransport': async () => {
		const created = await router.createWebRtcTransport({ listenInfos: LISTEN_INFOS });
		created.close();
	},
	'produce and consume VP8, close both': async () => {
		const producer = await transport.produce({ kind: 'video', rtpParameters: VP8 });
		const consumer = await transport.consume({
			producerId: producer.id,
			rtpCapabilities: router.rtpCapabilities,
		});
		consumer.close();
		producer.close();
	},
	"get a transport's stats": async () => {
		await transport.getStats();
	},
};
const results = {};
for (const [name, operation] of Object.entries(operations)) {
	results[name] = [];
	for (let round = 0; round < rounds; round++) {
		results[name].push(await perCall(operation));
	}
}
console.log(JSON.stringify(results));
worker.close();
