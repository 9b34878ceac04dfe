#!/usr/bin/env python3
"""Peers and checks for the data plane's TCP integration tests (the kernel side).

  tcp_tool.py chargen-sha BYTES                  SHA-256 of the first BYTES of the chargen stream
  tcp_tool.py many HOST PORT CONNS BYTES         CONNS concurrent connections to an echo service,
                                                 all open at once, each sends BYTES of its own
                                                 random data and must read exactly them back
  tcp_tool.py synflood DST PORT SECONDS SRCNET   raw-socket SYNs from random sources in SRCNET
                                                 (e.g. 198.19.0.0/16) for SECONDS; prints the count
"""
import asyncio
import hashlib
import ipaddress
import os
import random
import socket
import struct
import sys
import time


def chargen_period():
    # RFC 864 as the data plane implements it (services.h ChargenByte): 72 printable characters
    # per line, each line starting one character later, CR LF; it repeats every 95 lines.
    out = bytearray()
    for line in range(95):
        out += bytes(32 + (line + col) % 95 for col in range(72)) + b"\r\n"
    return bytes(out)


def chargen_sha(n):
    period = chargen_period()
    h = hashlib.sha256()
    while n > 0:
        chunk = period[: min(n, len(period))]
        h.update(chunk)
        n -= len(chunk)
    return h.hexdigest()


async def one_conn(host, port, nbytes, seed, opened, go):
    reader, writer = await asyncio.open_connection(host, port)
    opened.append(1)
    await go.wait()
    data = random.Random(seed).randbytes(nbytes)

    async def send():
        for i in range(0, nbytes, 16384):
            writer.write(data[i : i + 16384])
            await writer.drain()

    sender = asyncio.ensure_future(send())
    got = await reader.readexactly(nbytes)
    await sender
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return got == data


async def many(host, port, conns, nbytes):
    opened = []
    go = asyncio.Event()
    tasks = [asyncio.ensure_future(one_conn(host, port, nbytes, i, opened, go)) for i in range(conns)]
    deadline = time.time() + 120
    while len(opened) < conns and time.time() < deadline:
        if any(t.done() and t.exception() for t in tasks):
            break
        await asyncio.sleep(0.1)
    print(f"many: {len(opened)} of {conns} connections open at once", file=sys.stderr)
    if len(opened) < conns:
        for t in tasks:
            t.cancel()
        return 1
    go.set()
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 600)
    bad = [r for r in results if r is not True]
    print(f"many: {conns - len(bad)} of {conns} echoed {nbytes} bytes exactly", file=sys.stderr)
    if bad:
        print(f"many: first failure: {bad[0]!r}", file=sys.stderr)
    return 1 if bad else 0


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def synflood(dst, port, seconds, srcnet):
    net = ipaddress.ip_network(srcnet)
    base, size = int(net.network_address), net.num_addresses
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    dst_b = socket.inet_aton(dst)
    rnd = random.Random(1)
    sent = 0
    end = time.time() + seconds
    while time.time() < end:
        for _ in range(256):
            src_b = struct.pack("!I", base + rnd.randrange(1, size - 1))
            sport = rnd.randrange(1024, 65535)
            seq = rnd.getrandbits(32)
            # SYN with an MSS option.
            tcp = struct.pack("!HHIIBBHHH", sport, port, seq, 0, 6 << 4, 0x02, 64240, 0, 0)
            tcp += struct.pack("!BBH", 2, 4, 1460)
            pseudo = src_b + dst_b + struct.pack("!BBH", 0, 6, len(tcp))
            tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), rnd.getrandbits(16), 0, 64,
                             6, 0, src_b, dst_b)
            ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
            try:
                s.sendto(ip + tcp, (dst, 0))
                sent += 1
            except OSError:
                time.sleep(0.001)
    print(sent)
    return 0


def main():
    cmd = sys.argv[1]
    if cmd == "chargen-sha":
        print(chargen_sha(int(sys.argv[2])))
        return 0
    if cmd == "many":
        return asyncio.run(many(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])))
    if cmd == "synflood":
        return synflood(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
