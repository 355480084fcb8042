# mediasoup_py's demo in a container: the wheel is built in the first stage (Rust, Node.js,
# Python, a C compiler, perl, make: scripts/build-wheel.sh), and the runtime image has Python
# and that wheel only.
#
#   docker build -t mediasoup-py .
#   ANNOUNCED_IP=203.0.113.7 docker compose up        (compose.yaml: ports and the address)
#
# Media needs the address clients reach the host at (--rtc-announced-ip) and its ports
# published as they are: browsers' media on the one port 44444 (UDP, and TCP for ICE-TCP),
# WHIP publishers' on UDP 40000-40099.
#
# The image's default command is the open demo (no join tokens, hence --insecure: it listens
# on every address of the container). compose.yaml runs it with a join-token secret instead,
# which is what anything reachable by others should do.

FROM rust:1-bookworm AS build
RUN apt-get update -q \
    && apt-get install -y -q --no-install-recommends nodejs npm python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN bash scripts/build-wheel.sh /wheels

FROM python:3.11-slim-bookworm AS runtime
COPY --from=build /wheels/ /tmp/wheels/
RUN pip install --no-cache-dir /tmp/wheels/mediasoup_py-*.whl && rm -rf /tmp/wheels
USER 65534:65534
EXPOSE 8080/tcp 44444/udp 44444/tcp 40000-40099/udp
ENTRYPOINT ["mediasoup-py", "demo"]
CMD ["--host", "0.0.0.0", "--rtc-ip", "0.0.0.0", "--rtc-port", "44444", "--rtc-min-port", "40000", "--rtc-max-port", "40099", "--insecure"]
