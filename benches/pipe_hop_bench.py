"""What the node-to-node pipe hop adds: latency (p50/p99) and CPU per forwarded packet, on
two hosts (network namespaces with their own addresses on a bridge, tests/interop/hosts.py).

Host a runs the load generator and node a (a worker with the producer, fed plain RTP);
host b runs node b. Two paths to the load generator's sink on host a are timed, in turns:

- direct: a's consumer sends each packet to the sink (one forwarding);
- hop: a's pipe consumer sends it over an SRTP PipeTransport (AEAD_AES_256_GCM, RTX on) to
  b, whose consumer sends it back to the sink across the bridge (what a subscriber on
  another machine gets, plus the way back to the sink).

    .venv/bin/python -m benches.pipe_hop_bench --pps 10000 --seconds 5 --repeats 3

The difference of the two is the hop: b's forwarding, the pipe's SRTP both ways and two
crossings of the bridge. Needs root (namespaces), as the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

import mediasoup_py
from benches.fanout_bench import free_port
from benches.io_bench import LOADGEN, REPOSITORY, build_loadgen

VP8 = [{"kind": "video", "mimeType": "video/VP8", "clockRate": 90000}]


def say(message: dict[str, Any]) -> None:
    print(json.dumps(message), flush=True)


async def hear() -> dict[str, Any]:
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    if not line:
        raise SystemExit(0)
    message: dict[str, Any] = json.loads(line)
    return message


async def usage_ms(worker: mediasoup_py.Worker) -> float:
    usage = await worker.get_resource_usage()
    return float(usage["ru_utime"] + usage["ru_stime"])


async def origin(address: str) -> None:
    """Node a: the producer, its pipe to b, and the direct consumer when asked."""
    worker = await mediasoup_py.create_worker(rtc_min_port=41000, rtc_max_port=41999)
    router = await worker.create_router(media_codecs=VP8)  # type: ignore[arg-type]
    ingress = await router.create_plain_transport(
        listen_info={"protocol": "udp", "ip": "127.0.0.1"}, comedia=True
    )
    producer = await ingress.produce(
        kind="video",
        rtp_parameters={  # type: ignore[typeddict-item]
            "codecs": [{"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000}],
            "encodings": [{"ssrc": 0x1000_0000}],
        },
    )
    pipe = await router.create_pipe_transport(
        listen_info={"protocol": "udp", "ip": address}, enable_srtp=True
    )
    say(
        {
            "ingressPort": ingress.tuple["localPort"],
            "producerId": producer.id,
            "pipePort": pipe.tuple["localPort"],
            "srtp": pipe.srtp_parameters,
        }
    )
    far = await hear()
    await pipe.connect(ip=far["ip"], port=far["pipePort"], srtp_parameters=far["srtp"])
    piped = await pipe.consume(
        producer_id=producer.id, rtp_capabilities=router.rtp_capabilities, enable_rtx=True
    )
    say({"kind": piped.kind, "rtpParameters": piped.rtp_parameters})
    direct = None
    while True:
        command = await hear()
        if command["do"] == "direct":
            direct = await router.create_plain_transport(
                listen_info={"protocol": "udp", "ip": address}, comedia=False
            )
            await direct.connect(ip=command["ip"], port=command["port"])
            await direct.consume(producer_id=producer.id, rtp_capabilities=router.rtp_capabilities)
            say({"ok": True})
        elif command["do"] == "undirect" and direct is not None:
            direct.close()
            say({"ok": True})
        elif command["do"] == "usage":
            say({"cpuMs": await usage_ms(worker)})


async def far(address: str) -> None:
    """Node b: the other end of the pipe, and the consumer there when asked."""
    worker = await mediasoup_py.create_worker(rtc_min_port=42000, rtc_max_port=42999)
    router = await worker.create_router(media_codecs=VP8)  # type: ignore[arg-type]
    pipe = await router.create_pipe_transport(
        listen_info={"protocol": "udp", "ip": address}, enable_srtp=True
    )
    say({"ip": address, "pipePort": pipe.tuple["localPort"], "srtp": pipe.srtp_parameters})
    origin_end = await hear()
    await pipe.connect(
        ip=origin_end["ip"], port=origin_end["pipePort"], srtp_parameters=origin_end["srtp"]
    )
    copy = await pipe.produce(
        id=origin_end["producerId"],
        kind=origin_end["kind"],
        rtp_parameters=origin_end["rtpParameters"],
    )
    say({"ok": True})
    consumer_transport = None
    while True:
        command = await hear()
        if command["do"] == "consume":
            consumer_transport = await router.create_plain_transport(
                listen_info={"protocol": "udp", "ip": address}, comedia=False
            )
            await consumer_transport.connect(ip=command["ip"], port=command["port"])
            await consumer_transport.consume(
                producer_id=copy.id, rtp_capabilities=router.rtp_capabilities
            )
            say({"ok": True})
        elif command["do"] == "unconsume" and consumer_transport is not None:
            consumer_transport.close()
            say({"ok": True})
        elif command["do"] == "usage":
            say({"cpuMs": await usage_ms(worker)})


class Role:
    """A role process on a host, spoken to in JSON lines."""

    def __init__(self, host: Any, role: str) -> None:
        self.process = host.popen(
            [
                sys.executable,
                "-m",
                "benches.pipe_hop_bench",
                "--role",
                role,
                "--address",
                host.address,
            ],
            cwd=REPOSITORY,
            env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def read(self) -> dict[str, Any]:
        line = self.process.stdout.readline()
        assert line, "the role process ended"
        message: dict[str, Any] = json.loads(line)
        return message

    def ask(self, message: dict[str, Any]) -> dict[str, Any]:
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()
        return self.read()

    def close(self) -> None:
        self.process.stdin.close()
        self.process.kill()
        self.process.wait(10)


def run_load(host: Any, ingress_port: int, sink: str, pps: int, seconds: float) -> dict[str, Any]:
    command = [str(LOADGEN), "--targets", f"127.0.0.1:{ingress_port}", "--pps", str(pps)]
    command += ["--seconds", str(seconds), "--payload", "1000", "--shape", "video"]
    command += ["--sink", sink, "--warmup", "1"]
    done = host.run(command, capture_output=True, text=True, timeout=seconds + 30)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def run_path(
    host_a: Any, node_a: Role, node_b: Role, path: str, pps: int, seconds: float
) -> dict[str, Any]:
    """One timed run of one path: the pipe set up between the two nodes, the path's
    consumer made, the load sent."""
    origin_ready, far_ready = node_a.read(), node_b.read()
    piped = node_a.ask(far_ready)
    node_b.ask({**origin_ready, **piped, "ip": host_a.address})
    port = free_port()
    sink = {"ip": host_a.address, "port": port}
    node = node_a if path == "direct" else node_b
    node.ask({"do": "direct" if path == "direct" else "consume", **sink})
    cpu_before = [node_a.ask({"do": "usage"}), node_b.ask({"do": "usage"})]
    started = time.perf_counter()
    load = run_load(host_a, origin_ready["ingressPort"], f"{host_a.address}:{port}", pps, seconds)
    wall = time.perf_counter() - started
    cpu_after = [node_a.ask({"do": "usage"}), node_b.ask({"do": "usage"})]
    received = max(load["received"] or 0, 1)
    cpu = [a["cpuMs"] - b["cpuMs"] for a, b in zip(cpu_after, cpu_before, strict=True)]
    return {
        "sent": load["sent"],
        "received": load["received"],
        "latency_us": load["latency_us"],
        "cpu_us_per_packet": [round(1000 * ms / received, 3) for ms in cpu],
        "cpu_percent": [round(100 * ms / (wall * 1000), 1) for ms in cpu],
    }


def measure(pps: int, seconds: float, repeats: int) -> dict[str, Any]:
    from tests.interop.hosts import HostNetwork

    runs: dict[str, list[dict[str, Any]]] = {"direct": [], "hop": []}
    with HostNetwork() as network:
        host_a, host_b = network.add("a"), network.add("b")
        for _ in range(repeats):
            for path in ("direct", "hop"):
                # Fresh nodes per run: the load tool starts every run's stream from the same
                # sequence numbers, which a producer that saw the last run would drop as old.
                node_a, node_b = Role(host_a, "origin"), Role(host_b, "far")
                try:
                    runs[path].append(run_path(host_a, node_a, node_b, path, pps, seconds))
                finally:
                    node_a.close()
                    node_b.close()

    def median(path: str, pick: Any) -> float:
        return float(statistics.median(pick(run) for run in runs[path]))

    summary = {
        path: {
            "p50_us": median(path, lambda run: run["latency_us"]["p50"]),
            "p99_us": median(path, lambda run: run["latency_us"]["p99"]),
            "delivered": median(path, lambda run: run["received"] / max(run["sent"], 1)),
            "node_a_cpu_us_per_packet": median(path, lambda run: run["cpu_us_per_packet"][0]),
            "node_b_cpu_us_per_packet": median(path, lambda run: run["cpu_us_per_packet"][1]),
        }
        for path in runs
    }
    summary["added"] = {
        "p50_us": summary["hop"]["p50_us"] - summary["direct"]["p50_us"],
        "p99_us": summary["hop"]["p99_us"] - summary["direct"]["p99_us"],
        # Both nodes' worker CPU in each case (b idles in the direct one), so fixed costs
        # (timers, RTCP) cancel out.
        "cpu_us_per_packet": summary["hop"]["node_a_cpu_us_per_packet"]
        + summary["hop"]["node_b_cpu_us_per_packet"]
        - summary["direct"]["node_a_cpu_us_per_packet"]
        - summary["direct"]["node_b_cpu_us_per_packet"],
    }
    return {"pps": pps, "seconds": seconds, "repeats": repeats, "summary": summary, "runs": runs}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--role", choices=["origin", "far"])
    parser.add_argument("--address")
    parser.add_argument("--pps", type=int, default=10000)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()
    if arguments.role == "origin":
        asyncio.run(origin(arguments.address))
        return 0
    if arguments.role == "far":
        asyncio.run(far(arguments.address))
        return 0
    build_loadgen()
    from benches.spread_bench import machine

    result = {"machine": machine(), **measure(arguments.pps, arguments.seconds, arguments.repeats)}
    print(json.dumps(result["summary"], indent=2))
    directory = REPOSITORY / "benches" / "results"
    directory.mkdir(exist_ok=True)
    (directory / "pipe_hop_bench.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
