"""`sam` (the pinned SAM CLI of .venv-lambda), with every container it makes
on the host network. Usage: .venv-lambda/bin/python system-tests/lambda/sam_host_network.py
local invoke ... (the arguments of `sam`).

Why: `make sam-local-test` runs dockerd without a bridge (`--bridge=none`, no
iptables), so a container can only share the host's network, and all
traffic stays on 127.0.0.1. SAM CLI 1.170's `--docker-network host` does not
do that: it only skips connecting the container to a named network, and the
container is still created on the default (bridge) network, which does not
exist here. So this wraps docker-py's container creation, the one call SAM
makes, and:
- puts the container on the host network (`network_mode="host"`);
- drops the port mapping, meaningless there, and binds the Runtime Interface
  Emulator to the host port SAM chose for it, on 127.0.0.1, where SAM then
  calls it;
- gives the emulator's Runtime API (default 127.0.0.1:9001, shared by every
  container on the host network) a free port of its own, so several
  function containers (start-api) can run at once.
Image builds (SAM's emulation image: the base image plus the emulator) get
the host network too, for the same reason.

This depends on SAM internals (the container's port and entry point as
samcli/local/docker/container.py passes them), hence the pinned version in
system-tests/lambda/requirements.txt; it fails loudly if they change.
"""

import signal
import socket
import sys

import docker.api.build
import docker.models.containers
from samcli.cli.main import cli

RIE = "/var/rapid/aws-lambda-rie"
RIE_CONTAINER_PORT = "8080"  # samcli Container.RAPID_PORT_CONTAINER


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_create = docker.models.containers.ContainerCollection.create


def create(self, image, command=None, **kwargs):
    ports = kwargs.pop("ports", None) or {}
    entrypoint = list(kwargs.get("entrypoint") or [])
    if RIE_CONTAINER_PORT not in ports or not entrypoint or entrypoint[0] != RIE:
        raise SystemExit(
            f"sam_host_network: unexpected container from SAM (ports {ports}, entrypoint {entrypoint}); "
            "is SAM the version pinned in system-tests/lambda/requirements.txt?"
        )
    _interface, rie_port = ports.pop(RIE_CONTAINER_PORT)
    if ports:
        raise SystemExit(f"sam_host_network: debug ports are not supported on the host network: {ports}")
    kwargs["network_mode"] = "host"
    kwargs["entrypoint"] = entrypoint + [
        "--runtime-interface-emulator-address",
        f"127.0.0.1:{rie_port}",
        "--runtime-api-address",
        f"127.0.0.1:{free_port()}",
    ]
    return _create(self, image, command, **kwargs)


docker.models.containers.ContainerCollection.create = create

_build = docker.api.build.BuildApiMixin.build


def build(self, *args, **kwargs):
    kwargs["network_mode"] = "host"
    return _build(self, *args, **kwargs)


docker.api.build.BuildApiMixin.build = build

if __name__ == "__main__":
    # A background job of a script starts with SIGINT ignored, and Python
    # then leaves it so; SAM stops cleanly (its containers removed) on the
    # KeyboardInterrupt, which is how sam-local-test.sh stops start-api.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.argv[0] = "sam"
    sys.exit(cli())
