#!/usr/bin/env python3
"""Writes the seed corpora of the client's fuzz targets (binary files under corpus/)."""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sstp_test_server import (attribute, control, cp_packet, data, encode_options, ppp_frame,
                              status_info)

HERE = os.path.dirname(os.path.abspath(__file__))
OK = b'HTTP/1.1 200\r\nContent-Length: 18446744073709551615\r\n\r\n'
ACK = control(2, [attribute(4, b'\0\0\0\x03' + b'\x5a' * 32)])


def ipv4_icmp():
    hdr = bytes.fromhex('4500001c00004000400100000000000000000000')
    hdr = hdr[:12] + bytes([198, 19, 101, 1]) + bytes([198, 19, 101, 100])
    return hdr + bytes.fromhex('0000000000000000')


def write(target, name, payload):
    d = os.path.join(HERE, 'corpus', target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(payload)


def main():
    ipcp_req = ppp_frame(0x8021, cp_packet(1, 1, encode_options([(3, bytes([198, 19, 101, 1]))])))
    up = data(ipcp_req) + data(ppp_frame(0x0021, ipv4_icmp())) + control(8) + control(9)
    write('engine', 'raw_200_ack_echo', b'\x00' + OK + ACK + control(8))
    write('engine', 'raw_404', b'\x00' + b'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n')
    write('engine', 'raw_extra_headers', b'\x10' + b'HTTP/1.1 200 OK\r\nServer: Microsoft-HTTPAPI/2.0'
          b'\r\nDate: Tue, 24 Nov 2026 18:00:00 GMT\r\nContent-Length: 18446744073709551615\r\n'
          b'X-A: 1\r\nX-B: 2\r\n\r\n' + ACK)
    write('engine', 'raw_nak_then_ack', b'\x00' + OK + control(3, [status_info(1, 4, b'\x00\x01')])
          + ACK)
    write('engine', 'pap_up_abort', bytes([0x0b]) +
          data(ppp_frame(0xc023, cp_packet(2, 1, b'\x07Welcome'))) + up +
          control(5, [status_info(0, 6)]))
    write('engine', 'noauth_up_disconnect', bytes([0x09]) + up + control(6, [status_info(0, 0)]))
    write('engine', 'noauth_up_abort_nostatus', bytes([0x29]) + up + control(5))
    write('engine', 'mschap2_challenge', bytes([0x0f]) + data(ppp_frame(
        0xc223, cp_packet(1, 7, b'\x10' + bytes(range(16)) + b'server'))) +
        data(ppp_frame(0xc223, cp_packet(4, 7, b'E=691 R=0 C=00 V=3 M=no'))))
    write('engine', 'chap_challenge', bytes([0x0d]) + data(ppp_frame(
        0xc223, cp_packet(1, 3, b'\x10' + bytes(16) + b'server'))) +
        data(ppp_frame(0xc223, cp_packet(3, 3, b'Welcome'))) + up)
    write('engine', 'pap_garbage', bytes([0x3b]) + data(ppp_frame(0xc023, cp_packet(2, 1, b'\x00')))
          + up + data(b'\x12\x35' + bytes(20)) + data(b'') + data(ppp_frame(0xc021, b'\x09\x01\x00'))
          + b'\x10\x01\x00\x70\x00\x04')
    # --bridge (mode bit 0x80): BCP request with a MAC-Address, bridged frames (one runt, one with
    # the LAN FCS flag and pads), then an abort.
    bcp_req = ppp_frame(0x8031, cp_packet(1, 1, encode_options([(6, bytes.fromhex('02005e100001'))])))
    frame = bytes.fromhex('ffffffffffff02005e1000010806') + bytes(46)
    write('engine', 'bridge_up_frames', bytes([0x89]) + data(bcp_req) +
          data(ppp_frame(0x0031, b'\x00\x01' + frame)) + data(ppp_frame(0x0031, b'\x00\x01\x01')) +
          data(ppp_frame(0x0031, b'\x82\x01' + frame + bytes(6))) + control(5))
    write('proxy_reply', 'established', b'HTTP/1.1 200 Connection established\r\n'
          b'Proxy-agent: tinyproxy/1.11.1\r\n\r\n\x16\x03\x01')
    write('proxy_reply', 'auth_required', b'HTTP/1.0 407 Proxy Authentication Required\r\n'
          b'Proxy-Authenticate: Basic realm="proxy"\r\n\r\n')
    write('proxy_reply', 'bare_lf', b'HTTP/1.1 403 Forbidden\n\n<html>')
    write('config', 'manual', b'connect-to=198.18.80.1\nuser="Home"\npassword=123\n'
          b'authentication=pap,chap,mschap1,mschap2\nkeepalive-timeout=60\nmax-mtu=1500\n'
          b'max-mru=1500\nmrru=disabled\nproxy=0.0.0.0:443\nroute=198.19.101.0/24\n'
          b'profile=office\n[profile office]\nadd-default-route=yes\nuse-peer-dns=yes\n')
    write('config', 'ipv6', b'connect-to=[2001:db8::1]:8443\nuser=u\nroute=2001:db8::/32\n'
          b'keepalive-timeout=1m30s\nreconnect-interval=500ms\n')


if __name__ == '__main__':
    main()
