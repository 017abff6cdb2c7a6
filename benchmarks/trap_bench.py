#!/usr/bin/env python3
"""The trap listener under load: traps per second it keeps up with, and its CPU per trap.

The listener (collectors.traps: TrapReceiver on a TrapListener, the DatagramProtocol `hotspotctl run` and
`traps listen` use) runs on an asyncio loop in this process, bound to a free loopback port, trusting one
v2c community and one v3 authPriv user (SHA / AES-128), with the repeat window on (every trap sent is
distinct: its ifIndex varbind counts up). A SEPARATE sender process pre-encodes --count datagrams (v2c
SNMPv2-Trap linkDown, or v3 authPriv ones encrypted and authenticated by the sender's engine as a device
would) before the clock starts, then sends them paced at --rate per second (0 = as fast as it can), so
the sender is not what is measured.

For each version: sent, accepted (decoded, authenticated, handed to the callback), lost (the kernel
dropped them: the listener fell behind), the accepted rate, and the listener's CPU per trap
(time.process_time of this process over the run / accepted; the sender is another process).
Prints figures; asserts nothing about time, but every accepted trap is checked to be what was sent.

    .venv/bin/python benchmarks/trap_bench.py [--count 50000] [--rate 0] [--versions 2c,3]
    .venv/bin/python benchmarks/trap_bench.py --format json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hotspotctl.collectors.codec import (  # noqa: E402
    INTEGER,
    OBJECT_IDENTIFIER,
    TIME_TICKS,
    TRAP_V2,
    _int_contents,
    _tlv,
    encode_response,
    encode_value,
)
from hotspotctl.collectors.oids import encode_oid, parse_oid  # noqa: E402
from hotspotctl.collectors.traps import TrapReceiver, listen, v3_set  # noqa: E402
from hotspotctl.models.traps import TrapEvent, TrapKind  # noqa: E402

COMMUNITY = b"bench-community"
USER, AUTH_PASS, PRIV_PASS = "bench-user", "bench-auth-pass", "bench-priv-pass"
ENGINE_ID = bytes.fromhex("80001f8880aabbccddeeff0011")
LINK_DOWN = parse_oid("1.3.6.1.6.3.1.1.5.3")
IF_INDEX, IF_ADMIN = "1.3.6.1.2.1.2.2.1.1.{}", "1.3.6.1.2.1.2.2.1.7.{}"


def _varbinds(i: int) -> list[tuple[tuple[int, ...], int, object]]:
    return [(parse_oid("1.3.6.1.2.1.1.3.0"), TIME_TICKS, 1000 + i), (parse_oid("1.3.6.1.6.3.1.1.4.1.0"),
            OBJECT_IDENTIFIER, LINK_DOWN), (parse_oid(IF_INDEX.format(i)), INTEGER, i),
            (parse_oid(IF_ADMIN.format(i)), INTEGER, 2)]


def encode_v2c(i: int) -> bytes:
    return encode_response(COMMUNITY, 0x01000000 + i, _varbinds(i), pdu_type=TRAP_V2)  # type: ignore[arg-type]


def encoder_v3():  # type: ignore[no-untyped-def]
    """A function i -> v3 authPriv trap datagram, as the device's (authoritative) engine would send it."""
    from hotspotctl.simulate.usm import UsmAgent, UsmUser

    user = UsmUser(USER.encode(), "sha", AUTH_PASS.encode(), "aes", PRIV_PASS.encode())
    agent = UsmAgent([user])
    keys = agent.keys(user, ENGINE_ID)
    started = time.time()

    def encode(i: int) -> bytes:
        items = b"".join(_tlv(0x30, _tlv(0x06, encode_oid(oid)) + encode_value(tag, value))  # type: ignore[arg-type]
                         for oid, tag, value in _varbinds(i))
        pdu = _tlv(TRAP_V2, _tlv(INTEGER, _int_contents(0x01000000 + i)) + b"\x02\x01\x00\x02\x01\x00"
                   + _tlv(0x30, items))
        scoped = _tlv(0x30, _tlv(0x04, ENGINE_ID) + _tlv(0x04, b"") + pdu)
        return agent._message(i + 1, 3, user, keys, scoped, ENGINE_ID, 7, int(time.time() - started) + 100)

    return encode


def sender(host: str, port: int, version: str, count: int, rate: float) -> None:
    """The sender process: encode everything, say "ready", wait for "go", send, report."""
    encode = encode_v2c if version == "2c" else encoder_v3()
    datagrams = [encode(i) for i in range(count)]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    sock.connect((host, port))
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    send = sock.send
    for i, datagram in enumerate(datagrams):
        if rate and i % 50 == 0:
            ahead = started + i / rate - time.perf_counter()
            if ahead > 0:
                time.sleep(ahead)
        while True:
            try:
                send(datagram)
                break
            except BlockingIOError:  # pragma: no cover - a blocking socket does not raise it
                time.sleep(0.0001)
    elapsed = time.perf_counter() - started
    print(json.dumps({"sent": count, "send_s": elapsed}), flush=True)


async def run_one(version: str, count: int, rate: float, settle_s: float) -> dict[str, object]:
    receiver = TrapReceiver({"bench": COMMUNITY}, [v3_set("bench-v3", USER, "sha", AUTH_PASS, "aes", PRIV_PASS)],
                            dedupe_s=5.0)
    accepted: list[int] = []
    wrong: list[TrapEvent] = []
    last = [0.0]

    def on_trap(event: TrapEvent) -> None:
        if event.kind is not TrapKind.LINK_DOWN or event.admin_up is not False or event.version != version:
            wrong.append(event)
        accepted.append(event.if_index or 0)
        last[0] = time.perf_counter()

    transport, _listener = await listen(receiver, on_trap, "127.0.0.1", 0)
    port = transport.get_extra_info("sockname")[1]
    child = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--sender", f"127.0.0.1:{port}", "--versions", version, "--count", str(count),
        "--rate", str(rate), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert child.stdout is not None and child.stdin is not None
    line = await child.stdout.readline()
    assert line.strip() == b"ready", line
    cpu0, wall0 = time.process_time(), time.perf_counter()
    child.stdin.write(b"go\n")
    await child.stdin.drain()
    report = json.loads(await child.stdout.readline())
    await child.wait()
    # wait until nothing has arrived for settle_s
    while time.perf_counter() - max(last[0], wall0) < settle_s:
        await asyncio.sleep(0.05)
    wall = (last[0] or time.perf_counter()) - wall0
    cpu = time.process_time() - cpu0
    transport.close()
    counters = receiver.counters()
    n = len(accepted)
    return {"version": version, "sent": report["sent"], "offered_per_s": round(report["sent"] / report["send_s"]),
            "accepted": n, "lost": report["sent"] - counters["received"],
            "dropped": {k: v for k, v in counters["dropped"].items() if v}, "wrong": len(wrong),
            "distinct_ok": len(set(accepted)) == n, "accepted_per_s": round(n / wall) if wall > 0 else None,
            "listener_cpu_s": round(cpu, 3), "cpu_us_per_trap": round(cpu / n * 1e6, 1) if n else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=50_000, help="traps sent per version")
    parser.add_argument("--rate", type=float, default=0.0, help="offered traps per second (0 = as fast as it can)")
    parser.add_argument("--versions", default="2c,3", help="comma-separated: 2c, 3 (v3 authPriv SHA/AES)")
    parser.add_argument("--settle", type=float, default=0.5, help="seconds of quiet that end a run")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--sender", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sender:
        host, _, port = args.sender.rpartition(":")
        sender(host, int(port), args.versions, args.count, args.rate)
        return 0
    results = [asyncio.run(run_one(version, args.count, args.rate, args.settle))
               for version in args.versions.split(",")]
    meta = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "count": args.count, "rate": args.rate or "max"}
    if args.format == "json":
        print(json.dumps({"meta": meta, "results": results}, indent=2))
    else:
        print(f"trap listener, {args.count:,} traps per version, offered {args.rate or 'as fast as possible'} "
              f"(Python {meta['python']}, {meta['cpus']} CPUs)")
        print(f"{'version':>8} {'offered/s':>10} {'accepted':>9} {'lost':>7} {'accepted/s':>11} {'CPU µs/trap':>12}")
        for r in results:
            print(f"{r['version']:>8} {r['offered_per_s']:>10,} {r['accepted']:>9,} {r['lost']:>7,} "
                  f"{r['accepted_per_s'] or 0:>11,} {r['cpu_us_per_trap'] or 0:>12}")
            if r["dropped"] or r["wrong"] or not r["distinct_ok"]:
                print(f"         dropped {r['dropped']}, wrong {r['wrong']}, distinct {r['distinct_ok']}")
    return 0 if all(not r["wrong"] and r["distinct_ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
