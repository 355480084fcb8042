"""deploy/kubernetes.yaml: no Kubernetes runs here, so its demo arguments are parsed by the
demo's own command line, and its ports are checked against them: the media port the demo
announces is the one the container declares and the Service publishes (UDP and TCP, on the
same node port), without hostNetwork."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mediasoup_py.demo.__main__ import parse_settings

MANIFEST = Path(__file__).resolve().parents[1] / "deploy" / "kubernetes.yaml"


def documents() -> dict[str, Any]:
    return {document["kind"]: document for document in yaml.safe_load_all(MANIFEST.read_text())}


def test_the_service_publishes_the_port_the_demo_announces() -> None:
    manifests = documents()
    pod = manifests["Deployment"]["spec"]["template"]["spec"]
    assert "hostNetwork" not in pod
    [container] = pod["containers"]
    arguments = [argument.replace("$(NODE_IP)", "203.0.113.7") for argument in container["args"]]
    settings = parse_settings(arguments)
    assert settings.rtc_announced_ip == "203.0.113.7"
    assert settings.rtc_port is not None
    declared = {(port["protocol"], port["containerPort"]) for port in container["ports"]}
    assert {("UDP", settings.rtc_port), ("TCP", settings.rtc_port)} <= declared
    published = {
        (port["protocol"], port["nodePort"], port["port"])
        for port in manifests["Service"]["spec"]["ports"]
    }
    # Candidates name the pod's port: the node port must be the same number.
    for protocol in ("UDP", "TCP"):
        assert (protocol, settings.rtc_port, settings.rtc_port) in published
    assert ("TCP", 30080, settings.port) in published
