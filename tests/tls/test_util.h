// Helpers shared by the tls tests: hex, a throw-away PKI written to a temporary directory, and
// an in-memory OpenSSL peer driven against tls::Handshake.
#ifndef TESTS_TLS_TEST_UTIL_H_
#define TESTS_TLS_TEST_UTIL_H_

#include <openssl/ssl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "tls/handshake.h"
#include "tls/segments.h"

namespace tls_test {

std::vector<uint8_t> Hex(const std::string& text);
std::string ToHex(absl::Span<const uint8_t> b);

enum class KeyType { kEcP256, kRsa2048 };

// Files of a test PKI in a fresh temporary directory (removed by the destructor).
struct TestPki {
  TestPki();
  ~TestPki();
  std::string dir;
  std::string ca_cert, ca_key;                // "Test Root CA"
  std::string other_ca_cert, other_ca_key;    // an unrelated CA
  std::string server_ec_cert, server_ec_key;  // CN/SAN sstp.test, ECDSA, chain: leaf + ca
  // CN/SAN sstp.test, ECDSA, issued by an intermediate CA under ca; the file holds leaf +
  // intermediate, so a client trusting only ca needs the chain to be sent.
  std::string server_chain_cert, server_chain_key;
  std::string server_rsa_cert, server_rsa_key;      // CN/SAN sstp.test, RSA-2048
  std::string client_cert, client_key;              // issued by ca
  std::string rogue_client_cert, rogue_client_key;  // issued by other_ca
  std::string Path(const std::string& name) const { return dir + "/" + name; }
};

// A plain OpenSSL endpoint (default library context) with memory BIOs.
struct Peer {
  Peer(SSL_CTX* ctx, bool server);
  ~Peer();
  SSL* ssl;
  BIO* rbio;
  BIO* wbio;
  std::vector<uint8_t> Drain();  // bytes written by the peer
  void Push(absl::Span<const uint8_t> in);
};

// Runs the handshake between `ours` and `peer` in memory until both finish or one fails.
// Returns true when both sides are established.
bool Pump(tls::Handshake& ours, Peer& peer, int max_rounds = 50);

// Splits a contiguous buffer into `pieces` spans at random points (a record across segments).
tls::SegmentList RandomSplit(absl::Span<uint8_t> buf, size_t pieces, uint32_t seed);

// SSL_CTX for the OpenSSL side: version and one suite (OpenSSL names), certificate optional.
SSL_CTX* PeerContext(bool server, int version, const std::string& suite,
                     const std::string& cert = "", const std::string& key = "");

}  // namespace tls_test

#endif  // TESTS_TLS_TEST_UTIL_H_
