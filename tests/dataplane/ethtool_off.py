#!/usr/bin/env python3
"""Turns off checksum offload, scatter-gather, TSO, GSO and GRO on network interfaces through the
SIOCETHTOOL ioctl (the ethtool program is not installed by scripts/setup).

The data plane reads a veth with af_packet: with offloads on, the kernel peer hands it 64 KiB
TSO/GSO super-frames and TCP/UDP checksums left for the NIC to fill in (CHECKSUM_PARTIAL).
With them off, the kernel sends real MTU-sized segments with complete checksums, as a wire would.

usage: ethtool_off.py IFNAME...
"""
import array
import fcntl
import socket
import struct
import sys

SIOCETHTOOL = 0x8946
# linux/ethtool.h legacy commands: set value / get value.
SETTERS = {"tx-checksum": 0x17, "rx-checksum": 0x15, "sg": 0x19, "tso": 0x1F, "gso": 0x24,
           "gro": 0x2C}
GETTERS = {"tx-checksum": 0x16, "sg": 0x18, "tso": 0x1E, "gso": 0x23, "gro": 0x2B}


def ethtool(sock, ifname, cmd, value=0):
    buf = array.array("B", struct.pack("II", cmd, value))
    addr, _ = buf.buffer_info()
    ifr = struct.pack("16sP", ifname.encode(), addr)
    fcntl.ioctl(sock.fileno(), SIOCETHTOOL, ifr)
    return struct.unpack("II", buf.tobytes())[1]


def main():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for ifname in sys.argv[1:]:
        # Order matters: TSO depends on SG, SG on TX checksumming.
        for feature in ("gro", "gso", "tso", "sg", "tx-checksum"):
            try:
                ethtool(sock, ifname, SETTERS[feature], 0)
            except OSError as e:
                print(f"ethtool_off: {ifname} {feature}: {e}", file=sys.stderr)
        still_on = [f for f in ("tx-checksum", "tso", "gso") if ethtool(sock, ifname, GETTERS[f])]
        if still_on:
            print(f"ethtool_off: {ifname}: still on: {', '.join(still_on)}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
