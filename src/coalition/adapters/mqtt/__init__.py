"""Devices over MQTT (issue 15): a bridge that turns each device message into the HTTP request of its operation, so
that authentication, validation, idempotency and problems stay the HTTP layer's (docs/mqtt.md).

- protocol.py: topics, the operation table, reading a request message and writing its answer (no network);
- bridge.py: the broker loop — subscribe, forward through httpx, publish the answer, reconnect, shut down;
- device_client.py: what a device (or the simulator, or a test) uses to call the server over MQTT or HTTP;
- simulator.py: machines of each kind behaving like the real ones, over either transport.
"""
