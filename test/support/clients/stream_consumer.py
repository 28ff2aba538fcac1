"""A stream connector written the way pycti documents it, run unmodified against the emulator.

It builds an ``OpenCTIConnectorHelper`` from the environment (OPENCTI_URL, OPENCTI_TOKEN,
CONNECTOR_ID, CONNECTOR_TYPE=STREAM, CONNECTOR_LIVE_STREAM_ID, ...), exactly as a real
connector does: health check, registration, ping thread, ``listen_stream``. It prints one JSON
line per step on stdout for the test to read:

  {"kind": "registered", "pycti": "<version>", "state": <state OpenCTI returned>}
  {"kind": "event", "id": ..., "event": ..., "type": ..., "stix_id": ..., "internal_id": ..., "referer": ..., "sources": [...]}
  {"kind": "saved", "state": <state stored through pingConnector>}

After CLIENT_EXPECT_EVENTS events it waits until pycti's stream thread has moved the state
past the last one, stores it with ``force_ping`` (what the ping thread does every 40 s) and
exits 0; it exits 3 if the events do not arrive within CLIENT_TIMEOUT_SECONDS.
"""

import json
import os
import sys
import threading
import time

import pycti
from pycti import OpenCTIConnectorHelper

OPENCTI_EXTENSION = "extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba"


def emit(record):
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def position(stream_id):
    ms, seq = str(stream_id).split("-")
    return int(ms), int(seq)


def main():
    expected = int(os.environ["CLIENT_EXPECT_EVENTS"])
    timeout = float(os.environ.get("CLIENT_TIMEOUT_SECONDS", "60"))

    helper = OpenCTIConnectorHelper({})
    emit({"kind": "registered", "pycti": pycti.__version__, "state": helper.get_state()})

    received = []
    all_received = threading.Event()

    def on_message(msg):
        envelope = json.loads(msg.data)
        data = envelope.get("data", {})
        emit(
            {
                "kind": "event",
                "id": msg.id,
                "event": msg.event,
                "type": data.get("type"),
                "stix_id": data.get("id"),
                "internal_id": data.get("extensions", {}).get(OPENCTI_EXTENSION, {}).get("id"),
                "referer": envelope.get("origin", {}).get("referer"),
                "sources": [
                    source.get("extensions", {}).get(OPENCTI_EXTENSION, {}).get("id")
                    for source in envelope.get("context", {}).get("sources", [])
                ],
            }
        )
        received.append(msg.id)
        if len(received) >= expected:
            all_received.set()

    helper.listen_stream(on_message)
    if not all_received.wait(timeout):
        emit({"kind": "timeout", "received": len(received)})
        os._exit(3)

    # pycti records the position after the callback returns (or on a later heartbeat).
    deadline = time.monotonic() + timeout
    while True:
        state = helper.get_state() or {}
        if "start_from" in state and position(state["start_from"]) >= position(received[-1]):
            break
        if time.monotonic() > deadline:
            emit({"kind": "timeout", "state": state})
            os._exit(3)
        time.sleep(0.05)
    helper.force_ping()
    emit({"kind": "saved", "state": helper.get_state()})
    # pycti's stream and ping threads never end on their own; a connector is stopped, not finished.
    os._exit(0)


if __name__ == "__main__":
    main()
