// mediasoup (Node, C++ worker) set up for recording as benches/av_sync_check.py sets up
// mediasoup_py, the way mediasoup's recording FAQ does: per kind (video VP8, audio opus) a
// comedia PlainTransport that ffmpeg sends to (with its own RTCP port unless --rtcp-mux, so the
// sender's reports reach the producer) and a PlainTransport consuming that producer, paused,
// sending to 127.0.0.1:<the recorder's port for that kind>.
//
// Prints one JSON ready line (each kind's producer ports and its consumer's RTP parameters),
// resumes the consumers when a line "resume" comes on stdin, and runs until SIGTERM/SIGINT,
// end of stdin or --max-seconds.
// Run from a directory whose node_modules has mediasoup, with MEDIASOUP_WORKER_BIN set:
//   node mediasoup_recording_peer.mjs --video-port 41000 --audio-port 41002
import { createRequire } from 'node:module';
import path from 'node:path';
import readline from 'node:readline';
import { parseArgs } from 'node:util';

// mediasoup resolves from the working directory, not from this file's.
const mediasoup = createRequire(path.join(process.cwd(), 'peer.js'))('mediasoup');

const LISTEN_INFO = { protocol: 'udp', ip: '127.0.0.1' };
const MEDIA_CODECS = [
	{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
	{ kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
];

const { values: options } = parseArgs({
	options: {
		'video-port': { type: 'string' },
		'audio-port': { type: 'string' },
		// The producers' RTP parameters, as mediasoup_py.ffmpeg.producer_parameters gives them.
		'video-parameters': { type: 'string' },
		'audio-parameters': { type: 'string' },
		'rtcp-mux': { type: 'boolean', default: false },
		'max-seconds': { type: 'string', default: '300' },
	},
});

async function main() {
	const worker = await mediasoup.createWorker({ logLevel: 'warn', rtcMinPort: 20000, rtcMaxPort: 29999 });
	worker.on('died', (error) => {
		console.error('mediasoup worker died:', error);
		process.exit(1);
	});
	const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
	const consumers = [];
	const kinds = {};
	for (const kind of ['video', 'audio']) {
		const ingress = await router.createPlainTransport({
			listenInfo: LISTEN_INFO,
			comedia: true,
			rtcpMux: options['rtcp-mux'],
		});
		const producer = await ingress.produce({
			kind,
			rtpParameters: JSON.parse(options[`${kind}-parameters`]),
		});
		const egress = await router.createPlainTransport({ listenInfo: LISTEN_INFO, comedia: false });
		await egress.connect({ ip: '127.0.0.1', port: Number(options[`${kind}-port`]) });
		const consumer = await egress.consume({
			producerId: producer.id,
			rtpCapabilities: router.rtpCapabilities,
			paused: true,
		});
		consumers.push(consumer);
		kinds[kind] = {
			port: ingress.tuple.localPort,
			rtcpPort: ingress.rtcpTuple ? ingress.rtcpTuple.localPort : null,
			rtpParameters: consumer.rtpParameters,
		};
	}
	console.log(JSON.stringify({ ready: true, ...kinds, mediasoupVersion: mediasoup.version }));

	const stop = () => {
		worker.close();
		process.exit(0);
	};
	process.on('SIGTERM', stop);
	process.on('SIGINT', stop);
	setTimeout(stop, Number(options['max-seconds']) * 1000);
	const input = readline.createInterface({ input: process.stdin });
	input.on('line', async (line) => {
		if (line.trim() === 'resume') {
			for (const consumer of consumers) await consumer.resume();
			console.log(JSON.stringify({ resumed: true }));
		}
	});
	input.on('close', stop);
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
