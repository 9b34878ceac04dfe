#ifndef TESTS_CONTROLPLANE_TEST_UTIL_H_
#define TESTS_CONTROLPLANE_TEST_UTIL_H_

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "controlplane/controller.h"
#include "ring/messages.h"

namespace cp::testing {

// Captures what the controller sends to the data plane.
class CaptureSink : public DownSink {
 public:
  explicit CaptureSink(uint32_t n = 2) : n_(n) {}
  struct Sent {
    uint32_t lcore;
    ring::MsgType type;
    uint64_t session;
    ring::Message body;
  };
  bool Send(uint32_t lcore, ring::MsgType type, uint64_t session,
            const ring::Message& body) override {
    // Everything sent must survive the wire format.
    std::vector<uint8_t> bytes = ring::Encode(body);
    ring::RecordHeader h{uint16_t(type), ring::kMessageVersion, 0, uint32_t(bytes.size()), session};
    auto d = ring::Decode(h, bytes);
    if (!d.ok()) ADD_FAILURE() << "controller sent an undecodable " << ring::MsgTypeName(type);
    sent.push_back({lcore, type, session, body});
    return true;
  }
  uint32_t n_lcores() const override { return n_; }
  std::vector<Sent> Of(ring::MsgType t) const {
    std::vector<Sent> out;
    for (const Sent& s : sent) {
      if (s.type == t) out.push_back(s);
    }
    return out;
  }
  std::vector<Sent> sent;
  uint32_t n_;
};

// A self-signed certificate with its key, as a PEM file in `dir`.
inline void WriteSelfSignedPem(const std::string& path, const std::string& cn) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_sign(x, key, EVP_sha256());
  FILE* f = fopen(path.c_str(), "w");
  PEM_write_X509(f, x);
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  fclose(f);
  X509_free(x);
  EVP_PKEY_free(key);
}

inline ring::Decoded DumpOf(uint64_t id, const std::string& user, uint32_t peer, uint16_t port,
                            uint32_t local, uint32_t remote, uint16_t mtu, absl::Time up,
                            absl::Time last_rx) {
  ring::DumpSession d;
  d.opened.peer = ring::IpAddr::V4(peer);
  d.opened.peer_port = port;
  d.opened.lcore = ring::SessionLcore(id);
  d.opened.opened_unix_ns = uint64_t(absl::ToUnixNanos(up));
  d.authorized.user = user;
  d.authorized.method = ring::AuthMethod::kMsChap2;
  d.up.local_v4 = ring::IpAddr::V4(local);
  d.up.remote_v4 = ring::IpAddr::V4(remote);
  d.up.mtu = mtu;
  d.up.user = user;
  d.up_unix_ns = uint64_t(absl::ToUnixNanos(up));
  d.counters.last_rx_unix_ns = uint64_t(absl::ToUnixNanos(last_rx));
  return ring::Decoded{ring::MsgType::kDumpSession, id, d};
}

}  // namespace cp::testing

#endif  // TESTS_CONTROLPLANE_TEST_UTIL_H_
