#!/usr/bin/env python3
"""A client of the gateway's plain-WebSocket JSON endpoint (/ws/json), with `websockets`.

    python3 json_client.py URL SCENARIO [--token JWT] [--symbol SYMBOL] [--events N]

URL is the endpoint, e.g. ws://localhost:3000/ws/json (add ?token=JWT to sign in at the door).
SCENARIO is one of:

  door          the token is in URL: the first frame is `connected`
  authenticate  no token in URL: wait for `auth_required`, send `authenticate` with --token
  anonymous     no token at all: the first command joins anonymously (public channels only)

Each scenario subscribes to the trades of SYMBOL, subscribes to user.orders, pings, sends a
frame that is not JSON, then prints {"step": "ready"} and waits for N live events.

Every frame received is printed on one line as {"recv": frame}, and every step as
{"step": name, ...}, so a program (or a person) can follow along. The exit code is 0 when the
scenario ran to its end and 1 otherwise (a timeout, an unexpected frame, a close).

Requires `websockets` (pip install websockets, or apt-get install python3-websockets).
"""
import argparse
import asyncio
import json
import sys

import websockets

TIMEOUT_S = 10  # for any one frame to arrive


def emit(line):
    print(json.dumps(line), flush=True)


class ScenarioError(Exception):
    pass


class JsonClient:
    """One connection: sends commands with ids and reads frames, printing each one."""

    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0

    async def recv(self):
        frame = json.loads(await asyncio.wait_for(self.ws.recv(), TIMEOUT_S))
        emit({"recv": frame})
        return frame

    async def expect(self, type_):
        frame = await self.recv()
        if frame["type"] != type_:
            raise ScenarioError(f"expected {type_}, got {frame['type']}")
        return frame

    async def command(self, type_, data=None):
        """Sends a command and returns the frame that answers it (the one with its id)."""
        self.next_id += 1
        frame = {"id": self.next_id, "type": type_}
        if data is not None:
            frame["data"] = data
        await self.ws.send(json.dumps(frame))
        while True:
            answer = await self.recv()
            if answer.get("id") == self.next_id:
                return answer


async def run(args):
    async with websockets.connect(args.url) as ws:
        client = JsonClient(ws)
        signed_in = args.scenario != "anonymous"

        if args.scenario == "door":
            await client.expect("connected")
        else:
            offer = await client.expect("auth_required")
            emit({"step": "auth_required", "timeoutMs": offer["data"]["timeoutMs"]})
            if args.scenario == "authenticate":
                answer = await client.command("authenticate", {"token": args.token})
                if answer["type"] != "connected":
                    raise ScenarioError(f"authenticate answered {answer['type']}")

        # Without a token the first command joins: `connected` comes, then the answer.
        subscribed = await client.command("subscribe", {"channel": "trades", "symbol": args.symbol})
        emit({"step": "subscribed", "position": subscribed["data"].get("position")})
        private = await client.command("subscribe.private", {"channel": "user.orders"})
        emit({"step": "subscribe.private", "type": private["type"]})
        pong = await client.command("ping")
        emit({"step": "pong", "type": pong["type"]})

        await ws.send("{not json")
        refusal = await client.expect("error")
        emit({"step": "bad frame", "code": refusal["data"]["error"]["code"]})

        emit({"step": "ready", "signedIn": signed_in})
        for _ in range(args.events):
            await client.recv()
        emit({"step": "done"})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url")
    parser.add_argument("scenario", choices=["door", "authenticate", "anonymous"])
    parser.add_argument("--token", help="the JWT that authenticate sends")
    parser.add_argument("--symbol", default="BTCUSDT")
    parser.add_argument("--events", type=int, default=0, help="live events to wait for")
    args = parser.parse_args()
    if args.scenario == "authenticate" and not args.token:
        parser.error("authenticate needs --token")
    try:
        asyncio.run(run(args))
    except (ScenarioError, asyncio.TimeoutError, websockets.exceptions.WebSocketException, OSError) as error:
        emit({"step": "failed", "error": type(error).__name__, "message": str(error)})
        sys.exit(1)


if __name__ == "__main__":
    main()
