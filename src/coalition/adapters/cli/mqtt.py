"""`coalition mqtt`: the devices' MQTT bridge (docs/mqtt.md), over the application in this process or a server."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Annotated

import typer

from coalition.adapters.cli.common import DatabaseOption, errors, settings_for

DEFAULT_BROKER = "127.0.0.1:1883"

BrokerOption = Annotated[
    str, typer.Option("--broker", envvar="COALITION_MQTT_BROKER", help="the MQTT broker, host:port ([::1]:1883)")
]


def parse_broker(text: str) -> tuple[str, int]:
    """'host:port', 'host' (port 1883) or '[v6 address]:port'."""
    host, port = text, "1883"
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or port
    elif text.count(":") == 1:
        host, port = text.split(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        errors.print(f"[red]error (broker):[/red] expected host:port, not {text!r}")
        raise typer.Exit(2)
    return host, int(port)


def mqtt_command(
    broker: BrokerOption = DEFAULT_BROKER,
    server: Annotated[
        str | None, typer.Option("--server", help="send the requests to this server (URL); in this process if omitted")
    ] = None,
    network: Annotated[
        str | None, typer.Option("--network", help="only this network's devices; all if omitted")
    ] = None,
    group: Annotated[
        str | None, typer.Option("--group", help="share the messages among the bridges of this group (MQTT $share)")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=1000, help="messages handled at once")] = 32,
    client_id: Annotated[str | None, typer.Option("--client-id", help="the bridge's MQTT client id")] = None,
    username: Annotated[str | None, typer.Option(envvar="COALITION_MQTT_USERNAME", help="broker login")] = None,
    password: Annotated[
        str | None, typer.Option(envvar="COALITION_MQTT_PASSWORD", help="broker password (from the environment)")
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Bridge the devices' MQTT messages to the API: coalition/<network>/devices/<device>/req/<operation> in,
    .../res/<operation> out (docs/mqtt.md). Runs until Ctrl-C or SIGTERM, then answers the messages in hand."""
    from coalition.adapters.http.app import create_app
    from coalition.adapters.mqtt.bridge import Bridge, HttpForward
    from coalition.wiring import build_services

    host, port = parse_broker(broker)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    async def main() -> None:
        services = None
        if server is None:
            services = build_services(settings_for(database_url))
            forward = HttpForward.in_process(create_app(services=services))
        else:
            forward = HttpForward.to_server(server)
        bridge = Bridge(
            forward,
            host,
            port,
            network=network,
            group=group,
            client_id=client_id,
            concurrency=concurrency,
            username=username,
            password=password,
        )
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signal_number, bridge.stop)
        target = server or "the API in this process"
        logging.getLogger("coalition.mqtt").info("bridging %s:%s to %s", host, port, target)
        try:
            await bridge.run()
        finally:
            await forward.close()
            if services is not None:
                await services.close()

    asyncio.run(main())
