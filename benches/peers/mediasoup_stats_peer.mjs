// mediasoup 3.27.1 (Node, C++ worker) set up as benches/stats_side_by_side.py sets up
// mediasoup_py, so both can be given the same media and their getStats() compared:
// a comedia PlainTransport (RTCP on its own port, as ffmpeg sends it) producing VP8 and one
// producing opus, with the given SSRCs, and a PlainTransport sending both consumers to
// 127.0.0.1:<recv-port>.
// Prints one JSON ready line ({video: {port, rtcpPort}, audio: {...}}), then, after
// --seconds, one JSON line with the stats of the transports, producers and consumers, and
// exits.
// Run from a directory whose node_modules has mediasoup, with MEDIASOUP_WORKER_BIN set.
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';

const mediasoup = createRequire(path.join(process.cwd(), 'peer.js'))('mediasoup');

const { values: options } = parseArgs({
	options: {
		'recv-port': { type: 'string' },
		seconds: { type: 'string', default: '10' },
		'video-ssrc': { type: 'string' },
		'audio-ssrc': { type: 'string' },
	},
});

const LISTEN_INFO = { protocol: 'udp', ip: '127.0.0.1' };
const MEDIA_CODECS = [
	{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
	{ kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
];
const PARAMETERS = {
	video: (ssrc) => ({
		codecs: [
			{
				mimeType: 'video/VP8',
				payloadType: 101,
				clockRate: 90000,
				rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
			},
		],
		encodings: [{ ssrc }],
	}),
	audio: (ssrc) => ({
		codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }],
		encodings: [{ ssrc }],
	}),
};

const worker = await mediasoup.createWorker({ logLevel: 'error' });
const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
const egress = await router.createPlainTransport({ listenInfo: LISTEN_INFO, comedia: false, rtcpMux: true });
await egress.connect({ ip: '127.0.0.1', port: Number(options['recv-port']) });
const ssrcs = { video: Number(options['video-ssrc']), audio: Number(options['audio-ssrc']) };
const ingresses = {};
const producers = {};
const consumers = {};
const ready = {};
for (const kind of ['video', 'audio']) {
	ingresses[kind] = await router.createPlainTransport({ listenInfo: LISTEN_INFO, comedia: true, rtcpMux: false });
	producers[kind] = await ingresses[kind].produce({ kind, rtpParameters: PARAMETERS[kind](ssrcs[kind]) });
	consumers[kind] = await egress.consume({ producerId: producers[kind].id, rtpCapabilities: router.rtpCapabilities });
	ready[kind] = { port: ingresses[kind].tuple.localPort, rtcpPort: ingresses[kind].rtcpTuple.localPort };
}
console.log(JSON.stringify(ready));
await new Promise((resolve) => setTimeout(resolve, Number(options.seconds) * 1000));
const stats = { sendTransports: {}, recvTransport: await egress.getStats(), producers: {}, consumers: {} };
for (const kind of ['video', 'audio']) {
	stats.sendTransports[kind] = await ingresses[kind].getStats();
	stats.producers[kind] = await producers[kind].getStats();
	stats.consumers[kind] = await consumers[kind].getStats();
}
console.log(JSON.stringify(stats));
worker.close();
