#!/usr/bin/env python3
"""Writes the seed corpora of the sstp fuzz targets (real messages: MS-SSTP 4.7, Windows and
Linux sstpc requests, a Windows reply). Run from tests/sstp/; the outputs are checked in."""
import os

H = lambda s: bytes.fromhex(s.replace(' ', ''))


def w(target, name, data):
    os.makedirs('corpus/' + target, exist_ok=True)
    with open('corpus/%s/%s' % (target, name), 'wb') as f:
        f.write(data)


win = (b"SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\n"
       b"Content-Length: 18446744073709551615\r\nHost: vpn.example.test\r\n"
       b"SSTPCORRELATIONID: {5B3F4F2A-7A40-4B11-9E55-0C8D1F1E2A33}\r\n\r\n")
sstpc = (b"SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\n"
         b"Host: 198.18.0.1\r\nContent-Length: 18446744073709551615\r\n"
         b"SSTPCORRELATIONID: {6B8B4568-327B23C7-643C986A-66334874}\r\n\r\n")
req = H("10 01 00 0E 00 01 00 01 00 01 00 06 00 01")
ack = H("10 01 00 30 00 02 00 01 00 04 00 28 00 00 00 02 41 2B 48 9A EB D7 EC C7 D0 89 66 F2"
        "6B E7 CD 72 B2 31 A0 E9 21 0D 7C 91 B3 08 86 2B 03 44 C4 35")
conn = H("10 01 00 70 00 04 00 01 00 03 00 68 00 00 00 02 41 2B 48 9A EB D7 EC C7 D0 89 66 F2"
         "6B E7 CD 72 B2 31 A0 E9 21 0D 7C 91 B3 08 86 2B 03 44 C4 35 79 93 EF 31 4C 49 3D AC"
         "E9 F0 2D 60 E7 E6 1C 84 B6 69 0A AF E9 D7 AE EA 92 CB BE 8A D5 99 42 2D 52 A6 8E FD"
         "8C FF BF 52 77 0B 8F 0F E8 EC 73 71 65 83 AF 6D 61 1E B6 D1 79 B3 B2 08 40 98 54 49")
abort = H("10 01 00 14 00 05 00 01 00 02 00 0C 00 00 00 03 00 00 00 04")
disc = H("10 01 00 14 00 06 00 01 00 02 00 0C 00 00 00 00 00 00 00 00")
nak = H("10 01 00 1a 00 03 00 01 00 02 00 12 00 00 00 01 00 00 00 04 00 01 00 06 00 02")
echo = H("10 01 00 08 00 08 00 00")
lcp_frame = H("FF 03 C0 21 01 01 00 0A 05 06 12 34 56 78")
ipv4_frame = H("FF 03 00 21 45 00 00 14 00 00 00 00 40 01 00 00 C6 12 00 02 C6 12 00 01")


def data_packet(frame):
    n = len(frame) + 4
    return bytes([0x10, 0x00, n >> 8, n & 0xFF]) + frame


lcp = data_packet(lcp_frame)
ipv4 = data_packet(ipv4_frame)

w('http_request', 'windows', b'\x10' + win)
w('http_request', 'sstpc', b'\x03' + sstpc + req)
w('http_request', 'get', b'\xff' + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
w('http_request', 'wrong_uri', b'\x20' + b"SSTP_DUPLEX_POST /x/ HTTP/1.1\r\n\r\n")
w('http_response', 'windows',
  b'\x07' + b"HTTP/1.1 200\r\nContent-Length: 18446744073709551615\r\n"
  b"Server: Microsoft-HTTPAPI/2.0\r\nDate: Sat, 19 Feb 2011 02:13:44 GMT\r\n\r\n" + ack)
w('http_response', 'ok',
  b'\x40' + b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\nServer: MikroTik-SSTP\r\n\r\n")
w('http_response', 'notfound',
  b'\x02' + b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
for name, b in [('request', req), ('ack', ack), ('connected', conn), ('abort', abort),
                ('disconnect', disc), ('nak', nak), ('echo', echo), ('lcp', lcp), ('ipv4', ipv4)]:
    w('packet', name, b)


# fuzz_server_stream input: op byte (kind << 6 | length-1) followed by its bytes.
def feed(stream, chunk=64):
    out = b''
    for i in range(0, len(stream), chunk):
        c = stream[i:i + chunk]
        out += bytes([len(c) - 1]) + c
    return out


def auth_and_send(frame):
    return bytes([0x80 | (len(frame) - 1)]) + frame


w('server_stream', 'session',
  feed(req + lcp) + auth_and_send(lcp_frame) + feed(conn + ipv4 + echo + disc) + b'\xc1')
w('server_stream', 'deferred', feed(req + conn) + auth_and_send(lcp_frame) + feed(ipv4))
w('server_stream', 'timeouts', feed(req) + b'\xff\xff\xff' + feed(abort))
w('server_stream', 'split', feed(req + lcp + conn, 3))

# fuzz_client_stream: the server's side of a session.
w('client_stream', 'session', feed(ack + lcp) + auth_and_send(lcp_frame) + feed(ipv4 + echo + disc))
w('client_stream', 'nak_then_ack', feed(nak + nak + ack) + b'\xff' + feed(abort))
w('client_stream', 'timeouts', feed(ack) + b'\xfe\xfe\xfe' + feed(echo))
