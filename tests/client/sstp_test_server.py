#!/usr/bin/env python3
"""A scripted SSTP server for sstp-client's integration tests.

It speaks HTTPS, MS-SSTP and PPP (LCP, PAP, CHAP-MD5, MS-CHAPv2, IPCP; with --bcp TAP, BCP and
bridged Ethernet to and from a TAP interface of its own) far enough for a client to come up and
pass packets, and then does what a scenario says: what real servers send that
ours never does (a 200 with extra headers, a CALL_CONNECT_NAK before the ACK, an ABORT with or
without Status Info, an ECHO storm) and what broken ones send (malformed HTTP, truncated SSTP,
garbage PPP). It checks the client's SSTP crypto binding on its own (sstp_crypto.py) and writes
one line per event to --log, which the tests read:

    conn 1: call-connected binding=ok hash=sha256

Scenarios are given per connection: --scenario http404,normal makes the first connection get a
404 and every later one the normal behaviour.
"""
import argparse
import fcntl
import hashlib
import os
import select
import socket
import ssl
import struct
import sys
import threading
import time

import sstp_crypto

PROTO_LCP = 0xC021
PROTO_PAP = 0xC023
PROTO_CHAP = 0xC223
PROTO_IPCP = 0x8021
PROTO_IPV6CP = 0x8057
PROTO_CCP = 0x80FD
PROTO_IPV4 = 0x0021
PROTO_IPV6 = 0x0057
PROTO_BCP = 0x8031
PROTO_BRIDGED = 0x0031  # RFC 3518 4.3: bridged LAN frames
SERVER_MAC = bytes.fromhex('02005e100001')  # announced in BCP MAC-Address (RFC 3518 5.6)
SERVER_IFID = bytes.fromhex('0200000000000001')  # fe80::200:0:0:1

MSG_CONNECT_REQUEST = 1
MSG_CONNECT_ACK = 2
MSG_CONNECT_NAK = 3
MSG_CONNECTED = 4
MSG_ABORT = 5
MSG_DISCONNECT = 6
MSG_DISCONNECT_ACK = 7
MSG_ECHO_REQUEST = 8
MSG_ECHO_RESPONSE = 9

MSG_NAMES = {1: 'call-connect-request', 2: 'call-connect-ack', 3: 'call-connect-nak',
             4: 'call-connected', 5: 'call-abort', 6: 'call-disconnect',
             7: 'call-disconnect-ack', 8: 'echo-request', 9: 'echo-response'}

SCENARIOS = ['normal', 'extra_headers', 'nak_then_ack', 'abort_status', 'abort_nostatus',
             'disconnect_by_server', 'echo_storm', 'garbage_ppp', 'garbage_lcp_early',
             'http404', 'http_garbage', 'http_truncated', 'truncated_sstp', 'bad_sstp_version',
             'vanish', 'close_after_up', 'auth_fail', 'silent_after_ack']


class Log:
    def __init__(self, path):
        self.lock = threading.Lock()
        self.f = open(path, 'a', buffering=1) if path else None

    def __call__(self, conn, text):
        line = f'conn {conn}: {text}'
        with self.lock:
            if self.f:
                self.f.write(line + '\n')
            print(line, file=sys.stderr, flush=True)


def control(msg_type, attrs=()):
    body = b''.join(attrs)
    return struct.pack('>BBHHH', 0x10, 0x01, 8 + len(body), msg_type, len(attrs)) + body


def attribute(attr_id, value):
    return struct.pack('>BBH', 0, attr_id, 4 + len(value)) + value


def status_info(attrib_id, status, value=b''):
    return attribute(2, b'\0\0\0' + bytes([attrib_id]) + struct.pack('>I', status) + value)


def data(ppp):
    return struct.pack('>BBH', 0x10, 0x00, 4 + len(ppp)) + ppp


def ppp_frame(proto, payload):
    # LCP always with Address and Control (RFC 1661 6.6); we do the same for everything.
    return b'\xff\x03' + struct.pack('>H', proto) + payload


def cp_packet(code, ident, body):
    return struct.pack('>BBH', code, ident, 4 + len(body)) + body


def parse_options(body):
    opts = []
    i = 0
    while i + 2 <= len(body):
        t, ln = body[i], body[i + 1]
        if ln < 2 or i + ln > len(body):
            raise ValueError('bad option length')
        opts.append((t, body[i + 2:i + ln]))
        i += ln
    return opts


def encode_options(opts):
    return b''.join(bytes([t, 2 + len(v)]) + v for t, v in opts)


def ip_checksum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack(f'>{len(b) // 2}H', b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


class Closed(Exception):
    pass


class Connection:
    def __init__(self, server, sock, n, scenario):
        self.s = server
        self.args = server.args
        self.sock = sock
        self.n = n
        self.scenario = scenario
        self.buf = b''
        self.log = lambda text: server.log(n, text)
        self.hlak = None
        self.auth_done = False
        self.lcp_ours_acked = False
        self.lcp_theirs_acked = False
        self.lcp_opened = False
        self.ipcp_ours_acked = False
        self.ipcp_theirs_acked = False
        self.ipcp_opened = False
        self.auth = self.args.auth
        self.magic = os.urandom(4)
        self.lcp_id = 0
        self.nonce = os.urandom(32)
        self.chap_challenge = None
        self.chap_id = 0
        self.echo_responses = 0
        self.storm_sent = 0
        self.up_actions_done = False
        self.connect_requests = 0
        self.vanished = False
        self.renegotiating = False
        self.ipv6cp_sent = self.ipv6cp_ours = self.ipv6cp_theirs = self.ipv6cp_opened = False
        self.bcp_ours = self.bcp_theirs = self.bcp_opened = False
        self.tap = server.tap  # --bcp: the TAP's fd, bridged frames go there and come from there

    # ------------------------------------------------------------------ I/O
    def send(self, b):
        if self.vanished:
            return
        self.sock.sendall(b)

    def read_some(self, timeout):
        if self.sock.pending() == 0:
            watch = [self.sock] + ([self.tap] if self.tap is not None and self.bcp_opened else [])
            r, _, _ = select.select(watch, [], [], timeout)
            if self.tap is not None and self.tap in r:
                self.tap_to_client()
            if self.sock not in r:
                return False
        try:
            chunk = self.sock.recv(65536)
        except ssl.SSLWantReadError:
            return False
        except (ssl.SSLError, OSError) as e:
            raise Closed(f'read error: {e}')
        if not chunk:
            raise Closed('client closed the connection')
        self.buf += chunk
        return True

    def tap_to_client(self):
        # One Ethernet frame per read (IFF_TAP | IFF_NO_PI); RFC 3518 4.3 header: no flags, MAC
        # type 1 (Ethernet).
        for _ in range(64):
            try:
                frame = os.read(self.tap, 65536)
            except BlockingIOError:
                return
            self.send_ppp(PROTO_BRIDGED, b'\x00\x01' + frame)
            self.s.bridged_out += 1

    def next_packet(self, timeout):
        """Returns (is_control, bytes) or None on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 4:
                ver, flags, ln = struct.unpack('>BBH', self.buf[:4])
                ln &= 0x0FFF
                if ver != 0x10 or ln < 4:
                    raise Closed(f'client sent a bad SSTP header {self.buf[:4].hex()}')
                if len(self.buf) >= ln:
                    pkt, self.buf = self.buf[:ln], self.buf[ln:]
                    return (flags & 1) == 1, pkt
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.read_some(left)

    # ------------------------------------------------------------------ HTTP
    def http(self):
        while b'\r\n\r\n' not in self.buf:
            if len(self.buf) > 8192:
                raise Closed('HTTP request too long')
            self.read_some(30)
        head, self.buf = self.buf.split(b'\r\n\r\n', 1)
        lines = head.decode('latin-1').split('\r\n')
        self.log(f'http-request {lines[0]}')
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(':')
            headers[k.strip().lower()] = v.strip()
        self.log(f'http-host {headers.get("host", "")} correlation={headers.get("sstpcorrelationid", "")}')
        sc = self.scenario
        if sc == 'http404':
            self.send(b'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
            raise Closed('sent 404')
        if sc == 'http_garbage':
            self.send(b'SSTP/9.9 what is this\r\n\x00\x01\x02\r\n\r\n')
            raise Closed('sent garbage HTTP')
        if sc == 'http_truncated':
            self.send(b'HTTP/1.1 200 OK\r\nContent-Le')
            raise Closed('sent truncated HTTP')
        reply = 'HTTP/1.1 200\r\nContent-Length: 18446744073709551615\r\n'
        if sc == 'extra_headers':
            # What IIS-fronted and RouterOS servers add; seven headers in all.
            reply = ('HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n'
                     'Server: Microsoft-HTTPAPI/2.0\r\n'
                     'Date: Tue, 24 Nov 2026 18:00:00 GMT\r\n'
                     'X-Powered-By: scripted\r\n'
                     'Cache-Control: no-cache\r\n'
                     'Pragma: no-cache\r\n')
        else:
            reply += 'Server: Microsoft-HTTPAPI/2.0\r\n'
        self.send((reply + '\r\n').encode())
        self.log('http-200-sent')

    # ------------------------------------------------------------------ SSTP
    def run(self):
        self.http()
        while True:
            p = self.next_packet(self.up_wait())
            if p is None:
                self.on_idle()
                continue
            is_control, pkt = p
            if is_control:
                self.on_control(pkt)
            else:
                self.on_ppp(pkt[4:])

    def up_wait(self):
        return 0.2

    def on_idle(self):
        if self.scenario == 'echo_storm' and self.storm_sent and \
                self.echo_responses < self.storm_sent:
            pass

    def on_control(self, pkt):
        if len(pkt) < 8:
            raise Closed('short control packet')
        msg_type, nattr = struct.unpack('>HH', pkt[4:8])
        name = MSG_NAMES.get(msg_type, f'type-{msg_type}')
        attrs = pkt[8:]
        status = ''
        if msg_type in (MSG_ABORT, MSG_DISCONNECT) and len(attrs) >= 12 and attrs[1] == 2:
            status = f' status={struct.unpack(">I", attrs[8:12])[0]}'
        if msg_type not in (MSG_ECHO_RESPONSE,) or self.echo_responses == 0:
            self.log(f'{name} attrs={nattr}{status}')
        if self.vanished:
            return
        if msg_type == MSG_CONNECT_REQUEST:
            self.connect_requests += 1
            if self.scenario == 'nak_then_ack' and self.connect_requests == 1:
                # MS-SSTP 3.3.5.2.1: NAK with the attribute refused (Value Not Supported) and
                # the server's supported value.
                self.send(control(MSG_CONNECT_NAK, [status_info(1, 4, struct.pack('>H', 1))]))
                self.log('call-connect-nak-sent')
                return
            bitmask = {'sha1': 1, 'sha256': 2, 'both': 3}[self.args.hash]
            self.send(control(MSG_CONNECT_ACK,
                              [attribute(4, b'\0\0\0' + bytes([bitmask]) + self.nonce)]))
            self.log('call-connect-ack-sent')
            if self.scenario == 'truncated_sstp':
                # A CALL_CONNECTED-sized header with 2 bytes of body, then the end.
                self.send(b'\x10\x01\x00\x70\x00\x04')
                raise Closed('sent truncated SSTP')
            if self.scenario == 'bad_sstp_version':
                self.send(b'\x20\x01\x00\x08\x00\x08\x00\x00')
                self.log('bad-version-sent')
                return
            if self.scenario == 'silent_after_ack':
                self.vanished = True
                return
            self.start_lcp()
        elif msg_type == MSG_CONNECTED:
            self.check_binding(pkt)
        elif msg_type == MSG_ECHO_REQUEST:
            self.send(control(MSG_ECHO_RESPONSE))
        elif msg_type == MSG_ECHO_RESPONSE:
            self.echo_responses += 1
            if self.scenario == 'echo_storm' and self.echo_responses == self.storm_sent:
                self.log(f'echo-storm answered={self.echo_responses} of {self.storm_sent}')
        elif msg_type == MSG_DISCONNECT:
            self.send(control(MSG_DISCONNECT_ACK))
            self.log('call-disconnect-ack-sent')
        elif msg_type == MSG_ABORT:
            # MS-SSTP 3.1.5.2: answer the peer's abort with ours, then close.
            self.send(control(MSG_ABORT, [status_info(0, 0)]))
            raise Closed('client aborted')

    def check_binding(self, pkt):
        if len(pkt) != 112:
            self.log(f'call-connected bad-length={len(pkt)}')
            return
        hash_protocol = pkt[15]
        nonce = pkt[16:48]
        cert_hash = pkt[48:80]
        mac = pkt[80:112]
        want_cert = self.s.cert_hash(hash_protocol)
        hlak = self.hlak if self.hlak is not None else bytes(32)
        want_mac = sstp_crypto.compound_mac(hash_protocol, hlak, pkt)
        want_mac = want_mac + bytes(32 - len(want_mac))
        ok = nonce == self.nonce and cert_hash == want_cert and mac == want_mac
        why = []
        if nonce != self.nonce:
            why.append('nonce')
        if cert_hash != want_cert:
            why.append('cert-hash')
        if mac != want_mac:
            why.append('mac')
        name = {1: 'sha1', 2: 'sha256'}.get(hash_protocol, str(hash_protocol))
        self.log(f'call-connected binding={"ok" if ok else "BAD:" + ",".join(why)} hash={name}'
                 f' hlak={"mppe" if self.hlak is not None else "zero"}')

    # ------------------------------------------------------------------ PPP
    def send_ppp(self, proto, payload):
        self.send(data(ppp_frame(proto, payload)))

    def start_lcp(self):
        if self.scenario == 'garbage_lcp_early':
            # A Configure-Request whose option runs past the end, and a 2-byte LCP packet.
            self.send(data(ppp_frame(PROTO_LCP, b'\x01\x07\x00\x0a\x05\x09\x00\x00\x00\x00')))
            self.send(data(b'\xff\x03\xc0\x21\x01'))
            self.send(data(b'\xff'))
            self.log('garbage-lcp-sent')
        self.send_lcp_request()

    def auth_option(self):
        return {'pap': b'\xc0\x23', 'chap': b'\xc2\x23\x05', 'mschap2': b'\xc2\x23\x81'}[self.auth]

    def send_lcp_request(self):
        self.lcp_id += 1
        opts = encode_options([(3, self.auth_option()), (5, self.magic)])
        self.send_ppp(PROTO_LCP, cp_packet(1, self.lcp_id, opts))

    def on_ppp(self, frame):
        if frame[:2] == b'\xff\x03':
            frame = frame[2:]
        if len(frame) < 2:
            self.log('ppp-short-frame')
            return
        if frame[0] & 1:
            proto, payload = frame[0], frame[1:]
        else:
            proto, payload = struct.unpack('>H', frame[:2])[0], frame[2:]
        if self.vanished:
            return
        if proto == PROTO_LCP:
            self.on_lcp(payload)
        elif proto == PROTO_PAP:
            self.on_pap(payload)
        elif proto == PROTO_CHAP:
            self.on_chap(payload)
        elif proto == PROTO_IPCP and self.tap is None:
            self.on_ipcp(payload)
        elif proto == PROTO_BCP and self.tap is not None:
            self.on_bcp(payload)
        elif proto == PROTO_BRIDGED and self.tap is not None:
            self.on_bridged(payload)
        elif proto == PROTO_IPV4:
            self.on_ipv4(payload)
        elif proto == PROTO_IPV6CP and self.args.ipv6cp:
            self.on_ipv6cp(payload)
        elif proto == PROTO_IPV6 and self.args.ipv6cp:
            self.on_ipv6(payload)
        else:
            # IPV6CP, CCP, ...: this server has none of them (RFC 1661 5.7 Protocol-Reject).
            self.log(f'protocol-reject-sent proto=0x{proto:04x}')
            self.lcp_id += 1
            self.send_ppp(PROTO_LCP, cp_packet(8, self.lcp_id,
                                               struct.pack('>H', proto) + payload[:64]))

    def on_lcp(self, p):
        if len(p) < 4:
            self.log('lcp-short')
            return
        code, ident, ln = struct.unpack('>BBH', p[:4])
        body = p[4:ln]
        if code in (2, 3, 4) and ident != self.lcp_id:
            self.log(f'lcp-stale-reply code={code} id={ident}')  # RFC 1661 5.2: discard
            return
        if code == 1 and self.lcp_opened:
            # RFC 1661 4 (Opened, RCR): renegotiate, then authenticate again.
            self.log('lcp-renegotiate')
            self.lcp_opened = self.lcp_ours_acked = self.lcp_theirs_acked = False
            self.send_lcp_request()
        if code == 1:  # Configure-Request: accept all but a callback
            opts = parse_options(body)
            rej = [(t, v) for t, v in opts if t == 13]
            if rej:
                self.send_ppp(PROTO_LCP, cp_packet(4, ident, encode_options(rej)))
                return
            self.send_ppp(PROTO_LCP, cp_packet(2, ident, body))
            self.log('lcp-conf-ack-sent ' + ','.join(str(t) for t, _ in opts))
            self.lcp_theirs_acked = True
            self.maybe_lcp_up()
        elif code == 2:
            self.lcp_ours_acked = True
            self.maybe_lcp_up()
        elif code == 3:  # Configure-Nak: the client wants another authentication protocol
            for t, v in parse_options(body):
                if t == 3:
                    alt = {b'\xc0\x23': 'pap', b'\xc2\x23\x05': 'chap',
                           b'\xc2\x23\x81': 'mschap2'}.get(bytes(v))
                    self.log(f'lcp-auth-nak suggested={alt}')
                    if alt and alt in self.args.allow_auth.split(','):
                        self.auth = alt
            self.send_lcp_request()
        elif code == 4:
            self.log('lcp-conf-reject')
            self.send_lcp_request()
        elif code == 5:  # Terminate-Request
            self.send_ppp(PROTO_LCP, cp_packet(6, ident, b''))
            self.log('lcp-terminate-request')
        elif code == 8:
            self.log(f'lcp-protocol-reject-received proto=0x{body[:2].hex()}')
        elif code == 9:  # Echo-Request
            self.send_ppp(PROTO_LCP, cp_packet(10, ident, self.magic + body[4:]))
        elif code == 10:
            self.log('lcp-echo-reply')
        else:
            self.log(f'lcp-code-{code}')

    def maybe_lcp_up(self):
        if self.lcp_opened or not (self.lcp_ours_acked and self.lcp_theirs_acked):
            return
        self.lcp_opened = True
        self.log(f'lcp-opened auth={self.auth}')
        if self.auth in ('chap', 'mschap2'):
            self.chap_id = (self.chap_id + 1) & 0xFF
            self.chap_challenge = os.urandom(16)
            self.send_ppp(PROTO_CHAP, cp_packet(1, self.chap_id, bytes([16]) + self.chap_challenge +
                                                b'scripted'))

    def auth_result(self, ok, user):
        self.log(f'auth {"ok" if ok else "failed"} method={self.auth} user={user}')
        if ok:
            self.auth_done = True
            if self.tap is not None:
                self.send_ppp(PROTO_BCP, cp_packet(1, 1, encode_options([(6, SERVER_MAC)])))
                return
            self.send_ppp(PROTO_IPCP, cp_packet(1, 1, encode_options(
                [(3, socket.inet_aton(self.args.local_ip))])))

    def on_pap(self, p):
        code, ident, ln = struct.unpack('>BBH', p[:4])
        if code != 1:
            return
        body = p[4:ln]
        ulen = body[0]
        user = body[1:1 + ulen].decode(errors='replace')
        plen = body[1 + ulen]
        pw = body[2 + ulen:2 + ulen + plen].decode(errors='replace')
        ok = user == self.args.user and pw == self.args.password and self.scenario != 'auth_fail'
        msg = b'Welcome' if ok else b'Authentication failed'
        self.send_ppp(PROTO_PAP, cp_packet(2 if ok else 3, ident, bytes([len(msg)]) + msg))
        self.auth_result(ok, user)

    def on_chap(self, p):
        code, ident, ln = struct.unpack('>BBH', p[:4])
        if code != 2 or ident != self.chap_id:
            return
        body = p[4:ln]
        vlen = body[0]
        value = body[1:1 + vlen]
        user = body[1 + vlen:].decode(errors='replace')
        if self.auth == 'chap':
            want = hashlib.md5(bytes([ident]) + self.args.password.encode() +
                               self.chap_challenge).digest()
            ok = value == want and user == self.args.user and self.scenario != 'auth_fail'
            msg = b'Welcome' if ok else b'Authentication failed'
            self.send_ppp(PROTO_CHAP, cp_packet(3 if ok else 4, ident, msg))
            self.auth_result(ok, user)
            return
        # MS-CHAPv2 (RFC 2759 4): Peer-Challenge 16, Reserved 8, NT-Response 24, Flags 1.
        if vlen != 49:
            self.log(f'mschap2-bad-value-size {vlen}')
            return
        peer_challenge = value[:16]
        nt_response = value[24:48]
        want = sstp_crypto.generate_nt_response(self.chap_challenge, peer_challenge, user,
                                                self.args.password)
        ok = nt_response == want and user == self.args.user and self.scenario != 'auth_fail'
        if ok:
            s = sstp_crypto.authenticator_response(self.args.password, nt_response,
                                                   peer_challenge, self.chap_challenge, user)
            self.send_ppp(PROTO_CHAP, cp_packet(3, ident, f'{s} M=Welcome'.encode()))
            self.hlak = sstp_crypto.server_hlak_mschapv2(self.args.password, nt_response)
        else:
            msg = f'E=691 R=0 C={os.urandom(16).hex().upper()} V=3 M=Authentication failure'
            self.send_ppp(PROTO_CHAP, cp_packet(4, ident, msg.encode()))
        self.auth_result(ok, user)

    def on_ipcp(self, p):
        code, ident, ln = struct.unpack('>BBH', p[:4])
        body = p[4:ln]
        if code == 1 and self.ipcp_opened:
            # RFC 1661 4 (Opened, RCR): this-layer-down, our request again, then judge theirs.
            self.ipcp_opened = self.ipcp_ours_acked = self.ipcp_theirs_acked = False
            self.renegotiating = True
            self.log('ipcp-renegotiate')
            self.send_ppp(PROTO_IPCP, cp_packet(1, 2, encode_options(
                [(3, socket.inet_aton(self.args.local_ip))])))
        if code == 1:
            want = {3: socket.inet_aton(self.args.remote_ip)}
            if self.args.dns:
                dns = self.args.dns.split(',')
                want[129] = socket.inet_aton(dns[0])
                if len(dns) > 1:
                    want[131] = socket.inet_aton(dns[1])
            opts = parse_options(body)
            rej = [(t, v) for t, v in opts if t not in want]
            nak = [(t, want[t]) for t, v in opts if t in want and v != want[t]]
            if rej:
                self.send_ppp(PROTO_IPCP, cp_packet(4, ident, encode_options(rej)))
            elif nak:
                self.send_ppp(PROTO_IPCP, cp_packet(3, ident, encode_options(nak)))
            else:
                self.send_ppp(PROTO_IPCP, cp_packet(2, ident, body))
                self.ipcp_theirs_acked = True
        elif code == 2:
            self.ipcp_ours_acked = True
        elif code in (3, 4):
            self.log(f'ipcp-code-{code}')
        elif code == 5:
            self.send_ppp(PROTO_IPCP, cp_packet(6, ident, b''))
        if not self.ipcp_opened and self.ipcp_ours_acked and self.ipcp_theirs_acked:
            self.ipcp_opened = True
            if self.renegotiating:
                self.log('ipcp-renegotiated')
                return
            self.log(f'ipcp-opened client={self.args.remote_ip} server={self.args.local_ip}')
            self.network_up()

    def on_bcp(self, p):
        # RFC 3518 5: accept whatever the client asks for (it asks for MAC-Support Ethernet);
        # ours carries our MAC-Address.
        code, ident, ln = struct.unpack('>BBH', p[:4])
        if code == 1:
            opts = parse_options(p[4:ln])
            self.log('bcp-request ' + ','.join(str(t) for t, _ in opts))
            self.send_ppp(PROTO_BCP, cp_packet(2, ident, p[4:ln]))
            self.bcp_theirs = True
        elif code == 2:
            self.bcp_ours = True
        elif code in (3, 4):
            self.log(f'bcp-code-{code}')
        elif code == 5:
            self.send_ppp(PROTO_BCP, cp_packet(6, ident, b''))
        if self.bcp_ours and self.bcp_theirs and not self.bcp_opened:
            self.bcp_opened = True
            self.log('bcp-opened')
            self.network_up()

    def on_bridged(self, p):
        if len(p) < 16 or p[1] != 1:  # header + an Ethernet header at least; MAC type Ethernet
            self.log('bridged-garbage')
            return
        flags, pads = p[0] & 0xF0, p[0] & 0x0F
        frame = p[2:len(p) - pads] if pads else p[2:]
        if flags & 0x80:  # F: LAN FCS present
            frame = frame[:-4]
        os.write(self.tap, frame)
        self.s.bridged_in += 1
        if self.s.bridged_in in (1, 10, 100):
            self.log(f'bridged-frames-in {self.s.bridged_in} out {self.s.bridged_out}')

    def on_ipv6cp(self, p):
        # RFC 5072: one option, Interface-Identifier (1). Accept the client's, announce ours.
        code, ident, ln = struct.unpack('>BBH', p[:4])
        if code == 1:
            if not self.ipv6cp_sent:
                self.ipv6cp_sent = True
                self.send_ppp(PROTO_IPV6CP, cp_packet(1, 1, encode_options([(1, SERVER_IFID)])))
            self.send_ppp(PROTO_IPV6CP, cp_packet(2, ident, p[4:ln]))
            self.ipv6cp_theirs = True
        elif code == 2:
            self.ipv6cp_ours = True
        if self.ipv6cp_ours and self.ipv6cp_theirs and not self.ipv6cp_opened:
            self.ipv6cp_opened = True
            self.log('ipv6cp-opened')

    def on_ipv6(self, p):
        if len(p) < 48 or p[0] >> 4 != 6:
            self.log('ipv6-garbage')
            return
        src, dst, nxt = p[8:24], p[24:40], p[6]
        if nxt == 58 and p[40] == 128:  # ICMPv6 Echo Request (RFC 4443 4.1)
            icmp = bytearray(p[40:])
            icmp[0] = 129
            icmp[2:4] = b'\0\0'
            pseudo = dst + src + struct.pack('>I', len(icmp)) + b'\0\0\0\x3a'
            icmp[2:4] = struct.pack('>H', ip_checksum(pseudo + bytes(icmp)))
            hdr = bytearray(p[:40])
            hdr[8:24], hdr[24:40] = dst, src
            hdr[7] = 64
            self.send_ppp(PROTO_IPV6, bytes(hdr) + bytes(icmp))
            self.log(f'icmp6-echo {socket.inet_ntop(socket.AF_INET6, src)} -> '
                     f'{socket.inet_ntop(socket.AF_INET6, dst)}')

    def on_ipv4(self, p):
        if len(p) < 20 or p[0] >> 4 != 4:
            self.log('ipv4-garbage')
            return
        ihl = (p[0] & 0xF) * 4
        src, dst = p[12:16], p[16:20]
        if p[9] == 1 and len(p) >= ihl + 8 and p[ihl] == 8:
            icmp = bytearray(p[ihl:])
            icmp[0] = 0
            icmp[2:4] = b'\0\0'
            icmp[2:4] = struct.pack('>H', ip_checksum(bytes(icmp)))
            hdr = bytearray(p[:ihl])
            hdr[12:16], hdr[16:20] = dst, src
            hdr[8] = 64
            hdr[10:12] = b'\0\0'
            hdr[10:12] = struct.pack('>H', ip_checksum(bytes(hdr)))
            self.send_ppp(PROTO_IPV4, bytes(hdr) + bytes(icmp))
            self.log(f'icmp-echo {socket.inet_ntoa(src)} -> {socket.inet_ntoa(dst)} '
                     f'size={len(p)}')
        else:
            self.log(f'ipv4 proto={p[9]} {socket.inet_ntoa(src)} -> {socket.inet_ntoa(dst)}')

    # ------------------------------------------------------------------ scenarios once up
    def network_up(self):
        sc = self.scenario
        delay = self.args.action_delay
        if sc in ('abort_status', 'abort_nostatus', 'disconnect_by_server', 'close_after_up',
                  'vanish', 'echo_storm', 'garbage_ppp'):
            time.sleep(delay)
        if sc == 'abort_status':
            self.send(control(MSG_ABORT, [status_info(0, 6)]))  # Retry Count Exceeded
            self.log('call-abort-sent with-status')
        elif sc == 'abort_nostatus':
            self.send(control(MSG_ABORT))
            self.log('call-abort-sent without-status')
        elif sc == 'disconnect_by_server':
            self.send(control(MSG_DISCONNECT, [status_info(0, 0)]))
            self.log('call-disconnect-sent')
        elif sc == 'close_after_up':
            raise Closed('closing abruptly')
        elif sc == 'vanish':
            self.vanished = True
            self.log('vanished')
        elif sc == 'echo_storm':
            burst = b''.join(control(MSG_ECHO_REQUEST) for _ in range(self.args.storm))
            self.storm_sent = self.args.storm
            self.send(burst)
            self.log(f'echo-storm sent={self.storm_sent}')
        elif sc == 'garbage_ppp':
            junk = [
                data(b'\x12\x35' + os.urandom(30)),               # unknown protocol
                data(ppp_frame(PROTO_LCP, b'\x09\x01\x00\x03')),    # LCP length < 4
                data(ppp_frame(PROTO_LCP, b'\x01\x05\x00\x20\x01')),  # length past the end
                data(ppp_frame(PROTO_IPCP, b'\x01\x02\x00\x08\x03\x09\x00\x00')),  # bad option
                data(ppp_frame(PROTO_CHAP, b'\x01')),               # CHAP after auth, short
                data(ppp_frame(PROTO_IPV4, b'\x45\x00')),           # truncated IPv4
                data(b''),                                          # empty data packet
                data(os.urandom(200)),
            ]
            self.send(b''.join(junk))
            self.log('garbage-ppp-sent')
            # Still alive? An LCP Echo-Request must get its reply.
            self.lcp_id += 1
            self.send_ppp(PROTO_LCP, cp_packet(9, self.lcp_id, self.magic))


class Server:
    def __init__(self, args):
        self.args = args
        self.log = Log(args.log)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if args.anonymous_dh:
            # Anonymous Diffie-Hellman, no certificate: what RouterOS does with certificate=none
            # on both ends. The crypto binding then hashes no certificate: zeros.
            self.ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            self.ctx.set_ciphers('ADH-AES128-GCM-SHA256:ADH-AES256-GCM-SHA384:@SECLEVEL=0')
            self.ctx.load_dh_params(args.anonymous_dh)
            self.sha1 = self.sha256 = bytes(32)
        else:
            self.ctx.load_cert_chain(args.cert, args.key)
            with open(args.cert, 'rb') as f:
                pem = f.read().decode()
            der = ssl.PEM_cert_to_DER_cert(pem[:pem.index('-----END CERTIFICATE-----') + 25])
            self.sha1 = hashlib.sha1(der).digest() + bytes(12)
            self.sha256 = hashlib.sha256(der).digest()
        if args.client_ca:
            self.ctx.load_verify_locations(args.client_ca)
            self.ctx.verify_mode = ssl.CERT_REQUIRED
        self.tap = None
        self.bridged_in = self.bridged_out = 0
        if args.bcp:
            # Documentation/networking/tuntap: TUNSETIFF with IFF_TAP | IFF_NO_PI.
            self.tap = os.open('/dev/net/tun', os.O_RDWR | os.O_NONBLOCK)
            ifr = struct.pack('16sH', args.bcp.encode(), 0x0002 | 0x1000)
            fcntl.ioctl(self.tap, 0x400454CA, ifr)
        self.scenarios = args.scenario.split(',')
        for s in self.scenarios:
            if s not in SCENARIOS:
                sys.exit(f'unknown scenario {s}; known: {", ".join(SCENARIOS)}')
        self.count = 0

    def cert_hash(self, hash_protocol):
        return self.sha256 if hash_protocol == 2 else self.sha1

    def serve(self):
        host, _, port = self.args.listen.rpartition(':')
        family = socket.AF_INET6 if ':' in host else socket.AF_INET
        ls = socket.socket(family, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((host.strip('[]'), int(port)))
        ls.listen(16)
        self.log(0, f'listening on {self.args.listen}')
        while True:
            raw, peer = ls.accept()
            self.count += 1
            n = self.count
            sc = self.scenarios[min(n - 1, len(self.scenarios) - 1)]
            threading.Thread(target=self.handle, args=(raw, peer, n, sc), daemon=True).start()

    def handle(self, raw, peer, n, scenario):
        self.log(n, f'accepted {peer[0]}:{peer[1]} scenario={scenario}')
        try:
            raw.settimeout(30)
            sock = self.ctx.wrap_socket(raw, server_side=True)
            sock.settimeout(None)
            self.log(n, f'tls-established {sock.version()}')
        except (ssl.SSLError, OSError) as e:
            self.log(n, f'tls-failed {e}')
            raw.close()
            return
        c = Connection(self, sock, n, scenario)
        try:
            c.run()
        except Closed as e:
            self.log(n, f'closed: {e}')
        except (ssl.SSLError, OSError, ValueError, struct.error) as e:
            self.log(n, f'closed: {type(e).__name__}: {e}')
        finally:
            try:
                sock.close()
            except OSError:
                pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--listen', default='198.18.0.1:443')
    ap.add_argument('--cert', required=True)
    ap.add_argument('--key', required=True)
    ap.add_argument('--client-ca', default='', help='require a client certificate from this CA')
    ap.add_argument('--anonymous-dh', default='',
                    help='DH parameters file: anonymous TLS 1.2 without a certificate')
    ap.add_argument('--scenario', default='normal')
    ap.add_argument('--auth', default='mschap2', choices=['pap', 'chap', 'mschap2'])
    ap.add_argument('--allow-auth', default='pap,chap,mschap2',
                    help='methods accepted when the client naks ours')
    ap.add_argument('--hash', default='both', choices=['sha1', 'sha256', 'both'])
    ap.add_argument('--user', default='sstp-test')
    ap.add_argument('--password', default='123')
    ap.add_argument('--local-ip', default='198.19.101.1')
    ap.add_argument('--remote-ip', default='198.19.101.100')
    ap.add_argument('--dns', default='198.18.0.53,198.18.0.54')
    ap.add_argument('--ipv6cp', action='store_true',
                    help='accept IPV6CP and answer ICMPv6 echo (default: Protocol-Reject it)')
    ap.add_argument('--bcp', default='', metavar='TAP',
                    help='bridge: BCP instead of IPCP, bridged frames to and from this TAP')
    ap.add_argument('--storm', type=int, default=500)
    ap.add_argument('--action-delay', type=float, default=0.5,
                    help='seconds between IPCP up and the scenario action')
    ap.add_argument('--log', default='')
    args = ap.parse_args()
    Server(args).serve()


if __name__ == '__main__':
    main()
