// Fuzz target: hostile PPP frames from a client reaching the control plane's PPP server engine
// through the ring messages (LCP, authentication and NCP parsers of ppp/ behind the controller).
// Input: frames separated by a length byte; a zero length advances the clock (timers).
#include <string>

#include "controlplane/controller.h"
#include "controlplane/ppp_engine.h"

namespace {

class NullSink : public cp::DownSink {
 public:
  bool Send(uint32_t, ring::MsgType, uint64_t, const ring::Message&) override { return true; }
  uint32_t n_lcores() const override { return 2; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  NullSink sink;
  cp::Controller c(&sink, {"/nonexistent-fuzz-files", "sstp"});
  c.set_engine_factory(cp::MakePppEngineFactory());
  absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  c.Execute("/ip pool add name=p ranges=198.19.101.10-198.19.101.20", {}, now);
  c.Execute("/ppp secret add name=u password=p remote-address=p", {}, now);
  c.Execute("/interface sstp-server server set enabled=yes", {}, now);
  c.StartResync(1, now);
  for (uint32_t l = 0; l < 2; ++l) {
    c.OnMessage(l, {ring::MsgType::kDumpEnd, 0, ring::DumpEnd{1, 0}}, now);
  }
  const uint64_t id = ring::MakeSessionId(1, 1);
  ring::SessionOpened o;
  o.lcore = 1;
  o.peer = ring::IpAddr::V4(0xc6126301);
  c.OnMessage(1, {ring::MsgType::kSessionOpened, id, o}, now);
  size_t i = 0;
  while (i < size) {
    size_t n = data[i++];
    if (n == 0) {
      now += absl::Seconds(3);
      c.OnTimer(now);
      continue;
    }
    n = std::min(n, size - i);
    ring::PppFrame f;
    f.frame.assign(data + i, data + i + n);
    i += n;
    if (f.frame.size() >= 2) c.OnMessage(1, {ring::MsgType::kPppFrameUp, id, f}, now);
  }
  c.Execute("/ppp active print", {}, now);
  c.Execute("/interface sstp-server print", {}, now);
  return 0;
}
