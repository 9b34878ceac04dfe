"""MD4, DES, MS-CHAPv2, MPPE master keys and SSTP crypto binding in plain Python, for the scripted
SSTP server of the client's integration tests.

Written from the specifications (RFC 1320, FIPS 46-3, RFC 2759, RFC 3079, MS-SSTP 3.2.5.2) and
independent of the project's C++ so that a bug there is not mirrored here. OpenSSL 3 keeps MD4 and
DES in its legacy provider, out of reach of Python's hashlib, hence the pure implementations.
`python3 sstp_crypto.py` checks them against RFC 2759 section 9.2 and RFC 3079 section 3.5.
"""
import hashlib
import hmac
import struct


def _rol(x, n):
    x &= 0xFFFFFFFF
    return ((x << n) | (x >> (32 - n))) & 0xFFFFFFFF


def md4(data: bytes) -> bytes:
    """RFC 1320."""
    msg = bytearray(data)
    bit_len = (8 * len(data)) & 0xFFFFFFFFFFFFFFFF
    msg.append(0x80)
    while len(msg) % 64 != 56:
        msg.append(0)
    msg += struct.pack('<Q', bit_len)
    a, b, c, d = 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476
    f = lambda x, y, z: (x & y) | (~x & z)
    g = lambda x, y, z: (x & y) | (x & z) | (y & z)
    h = lambda x, y, z: x ^ y ^ z
    for off in range(0, len(msg), 64):
        x = struct.unpack('<16I', bytes(msg[off:off + 64]))
        aa, bb, cc, dd = a, b, c, d
        for i in (0, 4, 8, 12):
            a = _rol(a + f(b, c, d) + x[i], 3)
            d = _rol(d + f(a, b, c) + x[i + 1], 7)
            c = _rol(c + f(d, a, b) + x[i + 2], 11)
            b = _rol(b + f(c, d, a) + x[i + 3], 19)
        for i in (0, 1, 2, 3):
            a = _rol(a + g(b, c, d) + x[i] + 0x5A827999, 3)
            d = _rol(d + g(a, b, c) + x[i + 4] + 0x5A827999, 5)
            c = _rol(c + g(d, a, b) + x[i + 8] + 0x5A827999, 9)
            b = _rol(b + g(c, d, a) + x[i + 12] + 0x5A827999, 13)
        for i in (0, 2, 1, 3):
            a = _rol(a + h(b, c, d) + x[i] + 0x6ED9EBA1, 3)
            d = _rol(d + h(a, b, c) + x[i + 8] + 0x6ED9EBA1, 9)
            c = _rol(c + h(d, a, b) + x[i + 4] + 0x6ED9EBA1, 11)
            b = _rol(b + h(c, d, a) + x[i + 12] + 0x6ED9EBA1, 15)
        a = (a + aa) & 0xFFFFFFFF
        b = (b + bb) & 0xFFFFFFFF
        c = (c + cc) & 0xFFFFFFFF
        d = (d + dd) & 0xFFFFFFFF
    return struct.pack('<4I', a, b, c, d)


# FIPS 46-3 tables (bit numbers count from 1 at the most significant bit).
_IP = [58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4, 62, 54, 46, 38, 30, 22, 14, 6,
       64, 56, 48, 40, 32, 24, 16, 8, 57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3,
       61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7]
_FP = [40, 8, 48, 16, 56, 24, 64, 32, 39, 7, 47, 15, 55, 23, 63, 31, 38, 6, 46, 14, 54, 22, 62, 30,
       37, 5, 45, 13, 53, 21, 61, 29, 36, 4, 44, 12, 52, 20, 60, 28, 35, 3, 43, 11, 51, 19, 59, 27,
       34, 2, 42, 10, 50, 18, 58, 26, 33, 1, 41, 9, 49, 17, 57, 25]
_E = [32, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 8, 9, 10, 11, 12, 13, 12, 13, 14, 15, 16, 17, 16, 17, 18,
      19, 20, 21, 20, 21, 22, 23, 24, 25, 24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32, 1]
_P = [16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10, 2, 8, 24, 14, 32, 27, 3, 9, 19,
      13, 30, 6, 22, 11, 4, 25]
_PC1 = [57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, 10, 2, 59, 51, 43, 35, 27, 19, 11, 3,
        60, 52, 44, 36, 63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22, 14, 6, 61, 53, 45,
        37, 29, 21, 13, 5, 28, 20, 12, 4]
_PC2 = [14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2, 41,
        52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32]
_SHIFTS = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1]
_S = [
    [14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7,
     0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8,
     4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0,
     15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13],
    [15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10,
     3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5,
     0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15,
     13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9],
    [10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8,
     13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1,
     13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7,
     1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12],
    [7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15,
     13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9,
     10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4,
     3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14],
    [2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9,
     14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6,
     4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14,
     11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3],
    [12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11,
     10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8,
     9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6,
     4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13],
    [4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1,
     13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6,
     1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2,
     6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12],
    [13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7,
     1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2,
     7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8,
     2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11],
]


def _permute(value, table, in_bits):
    out = 0
    for pos in table:
        out = (out << 1) | ((value >> (in_bits - pos)) & 1)
    return out


def des_encrypt_block(key8: bytes, block: bytes) -> bytes:
    """One DES-ECB block (FIPS 46-3); parity bits of the key are ignored."""
    k = _permute(int.from_bytes(key8, 'big'), _PC1, 64)
    c, d = k >> 28, k & 0x0FFFFFFF
    subkeys = []
    for s in _SHIFTS:
        c = ((c << s) | (c >> (28 - s))) & 0x0FFFFFFF
        d = ((d << s) | (d >> (28 - s))) & 0x0FFFFFFF
        subkeys.append(_permute((c << 28) | d, _PC2, 56))
    v = _permute(int.from_bytes(block, 'big'), _IP, 64)
    left, right = v >> 32, v & 0xFFFFFFFF
    for sk in subkeys:
        x = _permute(right, _E, 32) ^ sk
        out = 0
        for i in range(8):
            six = (x >> (42 - 6 * i)) & 0x3F
            row = ((six >> 4) & 2) | (six & 1)
            col = (six >> 1) & 0xF
            out = (out << 4) | _S[i][row * 16 + col]
        left, right = right, left ^ _permute(out, _P, 32)
    return _permute((right << 32) | left, _FP, 64).to_bytes(8, 'big')


def _des_key_from_7(k7: bytes) -> bytes:
    v = int.from_bytes(k7, 'big')
    return bytes(((v >> (49 - 7 * i)) & 0x7F) << 1 for i in range(8))


# RFC 2759 section 8.
def nt_password_hash(password: str) -> bytes:
    return md4(password.encode('utf-16-le'))


def challenge_hash(peer_challenge: bytes, auth_challenge: bytes, user: str) -> bytes:
    return hashlib.sha1(peer_challenge + auth_challenge + user.encode()).digest()[:8]


def challenge_response(challenge8: bytes, password_hash: bytes) -> bytes:
    z = password_hash + bytes(5)
    return b''.join(des_encrypt_block(_des_key_from_7(z[i:i + 7]), challenge8) for i in (0, 7, 14))


def generate_nt_response(auth_challenge, peer_challenge, user, password):
    return challenge_response(challenge_hash(peer_challenge, auth_challenge, user),
                              nt_password_hash(password))


_MAGIC1 = (b'Magic server to client signing constant')
_MAGIC2 = (b'Pad to make it do more than one iteration')


def authenticator_response(password, nt_response, peer_challenge, auth_challenge, user) -> str:
    phh = md4(nt_password_hash(password))
    digest = hashlib.sha1(phh + nt_response + _MAGIC1).digest()
    ch = challenge_hash(peer_challenge, auth_challenge, user)
    digest = hashlib.sha1(digest + ch + _MAGIC2).digest()
    return 'S=' + digest.hex().upper()


# RFC 3079 section 3.4.
_MPPE_MAGIC1 = b'This is the MPPE Master Key'
_MPPE_MAGIC2 = (b'On the client side, this is the send key; on the server side, it is the receive '
                b'key.')
_MPPE_MAGIC3 = (b'On the client side, this is the receive key; on the server side, it is the send '
                b'key.')


def mppe_master_key(password, nt_response) -> bytes:
    phh = md4(nt_password_hash(password))
    return hashlib.sha1(phh + nt_response + _MPPE_MAGIC1).digest()[:16]


def mppe_asymmetric_start_key(master_key, is_send, is_server) -> bytes:
    if is_send:
        s = _MPPE_MAGIC3 if is_server else _MPPE_MAGIC2
    else:
        s = _MPPE_MAGIC2 if is_server else _MPPE_MAGIC3
    return hashlib.sha1(master_key + bytes(40) + s + b'\xf2' * 40).digest()[:16]


# MS-SSTP 3.2.5.2 / 3.3.5.2: crypto binding.
HASH_SHA1 = 1
HASH_SHA256 = 2


def server_hlak_mschapv2(password, nt_response) -> bytes:
    mk = mppe_master_key(password, nt_response)
    send = mppe_asymmetric_start_key(mk, True, True)
    recv = mppe_asymmetric_start_key(mk, False, True)
    return recv + send  # server: MasterReceiveKey || MasterSendKey


def compound_mac(hash_protocol, hlak, call_connected: bytes) -> bytes:
    algo = hashlib.sha256 if hash_protocol == HASH_SHA256 else hashlib.sha1
    size = 32 if hash_protocol == HASH_SHA256 else 20
    seed = b'SSTP inner method derived CMK' + struct.pack('<H', size) + b'\x01'
    cmk = hmac.new(hlak, seed, algo).digest()
    zeroed = call_connected[:80] + bytes(32)
    return hmac.new(cmk, zeroed, algo).digest()


def _self_test():
    assert md4(b'').hex() == '31d6cfe0d16ae931b73c59d7e0c089c0'
    assert md4(b'abc').hex() == 'a448017aaf21d8525fc10ae87aa6729d'
    # FIPS 81 / classic DES vector.
    assert des_encrypt_block(bytes.fromhex('133457799BBCDFF1'),
                             bytes.fromhex('0123456789ABCDEF')).hex() == '85e813540f0ab405'
    # RFC 2759 section 9.2.
    user, pw = 'User', 'clientPass'
    ac = bytes.fromhex('5B5D7C7D7B3F2F3E3C2C602132262628')
    pc = bytes.fromhex('21402324255E262A28295F2B3A337C7E')
    assert challenge_hash(pc, ac, user).hex().upper() == 'D02E4386BCE91226'
    assert nt_password_hash(pw).hex().upper() == '44EBBA8D5312B8D611474411F56989AE'
    ntr = generate_nt_response(ac, pc, user, pw)
    assert ntr.hex().upper() == '82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF', ntr.hex()
    assert (authenticator_response(pw, ntr, pc, ac, user) ==
            'S=407A5589115FD0D6209F510FE9C04566932CDA56')
    # RFC 3079 section 3.5.3 (128-bit keys).
    mk = mppe_master_key(pw, ntr)
    assert mk.hex().upper() == 'FDECE3717A8C838CB388E527AE3CDD31', mk.hex()
    # The sample is the server's send key (Magic3).
    assert mppe_asymmetric_start_key(mk, True, True).hex().upper() == \
        '8B7CDC149B993A1BA118CB153F56DCCB'
    print('sstp_crypto: all vectors pass')


if __name__ == '__main__':
    _self_test()
