// PPP session setups per second on one core in the control plane: LCP, authentication and IPCP
// through the controller and its PPP server engine (ring message handling included, a capture
// sink instead of the ring), with a ppp/ client on the other side. Only the time spent inside the
// controller (the server) is counted. MS-CHAPv2 is measured beside PAP (same code path, no
// hashing) in the same run. Prints one JSON object.
//   auth_bench [sessions]
#include <openssl/rand.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "controlplane/controller.h"
#include "controlplane/ppp_engine.h"
#include "ppp/frame.h"
#include "ppp/session.h"

namespace {

class Sink : public cp::DownSink {
 public:
  bool Send(uint32_t, ring::MsgType type, uint64_t session, const ring::Message& body) override {
    if (type == ring::MsgType::kPppFrameDown) {
      frames.push_back(std::get<ring::PppFrame>(body).frame);
    }
    if (type == ring::MsgType::kSessionUp) ++up;
    return true;
  }
  uint32_t n_lcores() const override { return 1; }
  std::vector<std::vector<uint8_t>> frames;
  uint64_t up = 0;
};

struct Result {
  double server_setups_per_sec;
  double wall_setups_per_sec;
  uint64_t ok;
};

Result Run(const char* method, ppp::AuthMethod client_method, int n) {
  Sink sink;
  cp::Controller c(&sink, {"/nonexistent", "sstp"});
  c.set_engine_factory(cp::MakePppEngineFactory());
  absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  c.Execute("/ip pool add name=p ranges=198.18.128.0-198.18.255.255", {}, now);
  c.Execute("/ppp profile add name=pp local-address=198.18.0.1 remote-address=p", {}, now);
  c.Execute("/ppp secret add name=bench password=benchpassword profile=pp", {}, now);
  c.Execute(std::string("/interface sstp-server server set enabled=yes authentication=") + method,
            {}, now);
  c.StartResync(1, now);
  c.OnMessage(0, {ring::MsgType::kDumpEnd, 0, ring::DumpEnd{1, 0}}, now);
  std::chrono::steady_clock::duration server{};
  auto timed = [&](auto&& f) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    server += std::chrono::steady_clock::now() - t0;
  };
  auto w0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    const uint64_t id = ring::MakeSessionId(0, uint64_t(i) + 1);
    ppp::SessionConfig cfg;
    cfg.role = ppp::SessionRole::kClient;
    cfg.user = "bench";
    cfg.password = "benchpassword";
    cfg.auth_methods = {client_method};
    cfg.random = [](absl::Span<uint8_t> out) { RAND_bytes(out.data(), int(out.size())); };
    auto client = ppp::Session::Create(cfg);
    ring::SessionOpened o;
    o.peer = ring::IpAddr::V4(0xc6126301);
    o.peer_port = uint16_t(i);
    timed([&] { c.OnMessage(0, {ring::MsgType::kSessionOpened, id, o}, now); });
    (*client)->Start(now);
    bool up = false;
    for (int round = 0; round < 50 && !up; ++round) {
      for (auto& f : (*client)->TakeOutput()) {
        timed([&] {
          c.OnMessage(0, {ring::MsgType::kPppFrameUp, id, ring::PppFrame{std::move(f)}}, now);
        });
      }
      auto down = std::move(sink.frames);
      sink.frames.clear();
      for (auto& f : down) (void)(*client)->ReceiveFrame(f, now);
      for (auto& e : (*client)->TakeEvents()) {
        if (e.type == ppp::SessionEvent::Type::kNetworkUp) up = true;
      }
    }
    // Tear down so the pool and the session table stay small.
    timed([&] { c.OnMessage(0, {ring::MsgType::kSessionClosed, id, ring::SessionClosed{}}, now); });
  }
  auto wall = std::chrono::steady_clock::now() - w0;
  return {n / std::chrono::duration<double>(server).count(),
          n / std::chrono::duration<double>(wall).count(), sink.up};
}

}  // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 5000;
  Result m2 = Run("mschap2", ppp::AuthMethod::kMsChapV2, n);
  Result pap = Run("pap", ppp::AuthMethod::kPap, n);
  printf(
      "{\"benchmark\": \"controlplane_session_setup\", \"sessions\": %d, "
      "\"mschap2_setups_per_sec_per_core\": %.0f, \"mschap2_sessions_up\": %llu, "
      "\"reference\": \"same LCP+auth+IPCP path with PAP (no hashing), same run\", "
      "\"pap_setups_per_sec_per_core\": %.0f, \"ratio\": %.2f, "
      "\"mschap2_wall_setups_per_sec_incl_client\": %.0f}\n",
      n, m2.server_setups_per_sec, static_cast<unsigned long long>(m2.ok),
      pap.server_setups_per_sec, m2.server_setups_per_sec / pap.server_setups_per_sec,
      m2.wall_setups_per_sec);
  return 0;
}
