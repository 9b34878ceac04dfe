#!/usr/bin/env python3
"""Writes the seed corpora of the PPP core fuzz targets (real frames as Windows, pppd and RouterOS
send them). Run from anywhere: python3 tests/ppp/make_fuzz_seeds.py"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def fcs16(data):
    fcs = 0xFFFF
    for b in data:
        fcs ^= b
        for _ in range(8):
            fcs = (fcs >> 1) ^ 0x8408 if fcs & 1 else fcs >> 1
    return fcs ^ 0xFFFF


def hdlc(frame, accm=0xFFFFFFFF):
    fcs = fcs16(frame)
    out = bytearray([0x7E])
    for b in frame + bytes([fcs & 0xFF, fcs >> 8]):
        if b in (0x7E, 0x7D) or (b < 0x20 and (accm >> b) & 1):
            out += bytes([0x7D, b ^ 0x20])
        else:
            out.append(b)
    out.append(0x7E)
    return bytes(out)


def packet(code, ident, data):
    return bytes([code, ident]) + struct.pack(">H", 4 + len(data)) + data


def opt(t, data=b""):
    return bytes([t, 2 + len(data)]) + data


ENDPOINT = bytes([0x01]) + bytes.fromhex("9c3e41075ab24d118f20634a1ed0770500000000")
WIN_LCP_CR = packet(1, 0, opt(1, b"\x0f\xfb") + opt(5, b"\x5a\x3c\x11\x7e") + opt(7) + opt(8) +
                    opt(13, b"\x06") + opt(17, b"\x06\x4e") + opt(19, ENDPOINT))
WIN_LCP_CR2 = packet(1, 1, opt(1, b"\x0f\xfb") + opt(5, b"\x5a\x3c\x11\x7e") + opt(7) + opt(8) +
                     opt(19, ENDPOINT))
PPPD_LCP_CR = packet(1, 1, opt(2, b"\x00\x00\x00\x00") + opt(5, b"\x12\x34\x56\x78") + opt(7) +
                     opt(8))
LCP_ACK_MSCHAP2 = packet(2, 1, opt(3, b"\xc2\x23\x81") + opt(5, b"\x00\x00\x00\x01"))
LCP_NAK_PAP = packet(3, 1, opt(3, b"\xc0\x23"))
LCP_ECHO = packet(9, 3, b"\x5a\x3c\x11\x7e")
LCP_TERM = packet(5, 4, b"bye")
LCP_PROTREJ = packet(8, 5, b"\x80\x57\x01\x01\x00\x0e\x01\x0a\x00\x00\x00\x00\x00\x00\x00\x01")
IPCP_WIN = packet(1, 5, opt(2, b"\x00\x2d\x0f\x01") + opt(3, bytes(4)) + opt(129, bytes(4)) +
                  opt(130, bytes(4)) + opt(131, bytes(4)) + opt(132, bytes(4)))
IPCP_ACK = packet(2, 6, opt(3, bytes([198, 18, 0, 10])) + opt(129, bytes([198, 18, 0, 53])))
IPV6CP_CR = packet(1, 1, opt(1, bytes.fromhex("0211223344556677")))
BCP_CR = packet(1, 1, opt(3, b"\x01") + opt(8, b"\x01") + opt(6, bytes.fromhex("02aabbccddee")) +
                opt(9) + opt(2, b"\x00\x12") + opt(4, b"\x01"))
PAP_REQ = packet(1, 1, b"\x05alice\x06s3cret")
CHAP_RESP_V2 = packet(2, 1, bytes([49]) + bytes(16) + bytes(8) + bytes(24) + b"\x00" + b"alice")


def ff03(proto, info):
    return b"\xff\x03" + struct.pack(">H", proto) + info


FRAMES = {
    "win_lcp_cr": ff03(0xC021, WIN_LCP_CR),
    "pppd_lcp_cr": ff03(0xC021, PPPD_LCP_CR),
    "lcp_echo": ff03(0xC021, LCP_ECHO),
    "ipcp_win": ff03(0x8021, IPCP_WIN),
    "ipv6cp": ff03(0x8057, IPV6CP_CR),
    "bcp": ff03(0x8031, BCP_CR),
    "pap": ff03(0xC023, PAP_REQ),
    "chap_v2": ff03(0xC223, CHAP_RESP_V2),
    "ipv4_compressed": b"\x21\x45\x00\x00\x14" + bytes(16),
    "ipv6_acfc": b"\x00\x57\x60" + bytes(39),
    "mp_long": ff03(0x003D, b"\xc0\x00\x00\x01\x00\x21\x45\x00"),
    "bridged": ff03(0x0031, b"\x00\x01" + bytes.fromhex("ffffffffffff02aabbccddee0806") + bytes(28)),
}


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def len8(*packets, timer_between=False):
    out = b""
    for p in packets:
        out += bytes([len(p)]) + p
        if timer_between:
            out += b"\x00"
    return out


def len16(*frames):
    return b"".join(struct.pack(">H", len(f)) + f for f in frames)


for name, f in FRAMES.items():
    write("frame", name, f)

write("hdlc", "lcp_default_accm", b"\x03" + hdlc(FRAMES["win_lcp_cr"]) + hdlc(FRAMES["lcp_echo"]))
write("hdlc", "zero_accm", b"\x07" + hdlc(FRAMES["ipcp_win"], 0) + hdlc(FRAMES["pap"], 0))
write("hdlc", "bad_fcs_abort", b"\x01" + hdlc(FRAMES["ipv6cp"])[:-3] + b"\x00\x7e" +
      b"\x7e\x01\x7d\x7e" + hdlc(FRAMES["bcp"]))

write("lcp", "windows", len8(WIN_LCP_CR, LCP_ACK_MSCHAP2, WIN_LCP_CR2, LCP_ECHO, LCP_PROTREJ,
                             LCP_TERM))
write("lcp", "pppd_nak", len8(PPPD_LCP_CR, LCP_NAK_PAP, PPPD_LCP_CR, timer_between=True))

write("ncp", "ipcp_windows", len8(IPCP_WIN, IPCP_ACK, packet(1, 7, opt(3, bytes([198, 18, 0, 10])))))
write("ncp", "ipv6cp_bcp", len8(IPV6CP_CR, BCP_CR, timer_between=True))

# fuzz_session commands: ack the server's last Configure-Request of LCP / IPCP / IPV6CP / BCP.
ACK_LCP, ACK_IPCP, ACK_IPV6CP, ACK_BCP = (b"\x00\x01" + bytes([i]) for i in range(4))
write("session", "windows_pap_ipcp",
      len16(FRAMES["win_lcp_cr"], ff03(0xC021, WIN_LCP_CR2)) + ACK_LCP +
      len16(ff03(0xC023, packet(1, 1, b"\x05alice\x06s3cret")), FRAMES["ipcp_win"]) + ACK_IPCP +
      ACK_IPV6CP + ACK_BCP + len16(FRAMES["ipv6cp"], FRAMES["bcp"]) +
      len16(ff03(0x8021, packet(1, 9, opt(3, bytes([198, 18, 0, 10])) +
                                opt(129, bytes([198, 18, 0, 53])))),
            ff03(0x0021, b"\x45" + bytes(19)), ff03(0xC021, LCP_ECHO), ff03(0xC021, LCP_TERM)))
write("session", "windows_mschapv2", len16(FRAMES["win_lcp_cr"], ff03(0xC021, WIN_LCP_CR2),
                                           ff03(0xC021, LCP_ACK_MSCHAP2), FRAMES["chap_v2"],
                                           FRAMES["ipcp_win"], b""))
write("session", "pppd_pap", len16(FRAMES["pppd_lcp_cr"], ff03(0xC021, LCP_NAK_PAP), FRAMES["pap"],
                                   FRAMES["ipv6cp"], FRAMES["bcp"], FRAMES["mp_long"], b"", b""))

mp = b""
for seq in range(6):
    flags = (0x80 if seq % 3 == 0 else 0) | (0x40 if seq % 3 == 2 else 0)
    frag = bytes([flags]) + seq.to_bytes(3, "big") + bytes([0x00, 0x21] if seq % 3 == 0 else [seq] * 5)
    mp += bytes([seq % 2, len(frag)]) + frag
write("multilink", "long_two_links", b"\x02" + mp)
short = b""
for seq in range(4):
    flags = (0x80 if seq % 2 == 0 else 0) | (0x40 if seq % 2 == 1 else 0)
    frag = bytes([flags | (seq >> 8), seq & 0xFF]) + bytes([seq] * 7)
    short += bytes([0, len(frag)]) + frag
write("multilink", "short_one_link", b"\x01" + short)
