// One golden test per command transcript of the RouterOS manual (adapted to 198.18.0.0/15): the
// same commands give the same fields and layout. Files: tests/controlplane/golden/*.txt.
//   "[admin@sstp] /menu> command"  runs the command in that menu; the lines up to the next
//                                  prompt or directive are its expected output (error text
//                                  included); "# ..." lines before the first prompt are comments;
//   "#! port NAME MAC"             a data-plane port (as its PortStatus message reports it);
//   "#! certificate FILE"          writes a self-signed certificate with key to the files dir;
//   "#! secret NAME"               adds a /ppp secret (for sessions that need one);
//   "#! session k=v ..."           an established session arriving in the data plane's dump
//                                  (user, peer, uptime, idle, mtu, local, remote; optional
//                                  rx-byte, tx-byte, rx-packet, tx-packet counters).
#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "controlplane/values.h"
#include "gtest/gtest.h"
#include "tests/controlplane/test_util.h"

namespace cp {
namespace {

std::string Normalize(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  for (auto& l : lines) {
    while (!l.empty() && (l.back() == ' ' || l.back() == '\r')) l.pop_back();
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  return absl::StrJoin(lines, "\n");
}

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, TranscriptMatches) {
  const std::string path = std::string(GOLDEN_DIR) + "/" + GetParam();
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  char tmpl[] = "/tmp/cp-golden-XXXXXX";
  std::string files = mkdtemp(tmpl);
  testing::CaptureSink sink(2);
  Controller c(&sink, {files, "sstp"});
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  c.StartResync(1, now);
  for (uint32_t l = 0; l < 2; ++l) {
    c.OnMessage(l, {ring::MsgType::kDumpEnd, 0, ring::DumpEnd{1, 0}}, now);
  }
  ASSERT_TRUE(c.resynced());

  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  uint64_t next_session = 1;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    if (absl::StartsWith(l, "#! ")) {
      std::vector<std::string> w = absl::StrSplit(l.substr(3), ' ', absl::SkipEmpty());
      if (w[0] == "port") {
        ring::PortStatus ps;
        ps.name = w[1];
        unsigned m[6];
        sscanf(w[2].c_str(), "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]);
        for (int k = 0; k < 6; ++k) ps.mac[k] = uint8_t(m[k]);
        ps.running = 1;
        c.OnMessage(0, {ring::MsgType::kPortStatus, 0, ps}, now);
      } else if (w[0] == "certificate") {
        testing::WriteSelfSignedPem(files + "/" + w[1], "sstp.example");
      } else if (w[0] == "secret") {
        ASSERT_TRUE(c.Execute("/ppp secret add name=" + w[1] + " password=x", {}, now).status.ok());
      } else if (w[0] == "session") {
        std::map<std::string, std::string> kv;
        for (size_t k = 1; k < w.size(); ++k) {
          auto eq = w[k].find('=');
          kv[w[k].substr(0, eq)] = w[k].substr(eq + 1);
        }
        auto peer = ParseIpPort(kv["peer"], 0);
        ASSERT_TRUE(peer);
        auto up = ParseDuration(kv["uptime"]);
        auto idle = ParseDuration(kv["idle"]);
        ring::Decoded dump = testing::DumpOf(
            ring::MakeSessionId(0, next_session++), kv["user"], peer->addr, peer->port,
            *ParseIpv4(kv["local"]), *ParseIpv4(kv["remote"]), uint16_t(std::stoi(kv["mtu"])),
            now - absl::Seconds(int64_t(*up)), now - absl::Seconds(int64_t(*idle)));
        ring::CounterBlock& cb = std::get<ring::DumpSession>(dump.body).counters;
        auto num = [&](const char* k) { return kv.count(k) ? std::stoull(kv[k]) : 0ull; };
        cb.rx_bytes = num("rx-byte");
        cb.tx_bytes = num("tx-byte");
        cb.rx_packets = num("rx-packet");
        cb.tx_packets = num("tx-packet");
        c.OnMessage(0, dump, now);
      }
      continue;
    }
    if (absl::StartsWith(l, "#")) continue;
    ASSERT_TRUE(absl::StartsWith(l, "[admin@sstp] ")) << GetParam() << ":" << i + 1 << ": " << l;
    size_t gt = l.find("> ");
    ASSERT_NE(gt, std::string::npos) << l;
    std::string menu = l.substr(13, gt - 13);
    std::string command = l.substr(gt + 2);
    std::string expected;
    while (i + 1 < lines.size() && !absl::StartsWith(lines[i + 1], "[admin@sstp] ") &&
           !absl::StartsWith(lines[i + 1], "#!")) {
      expected += lines[++i] + "\n";
    }
    MenuPath cwd = absl::StrSplit(absl::StripPrefix(menu, "/"), ' ', absl::SkipEmpty());
    Controller::Result r = c.Execute(command, cwd, now);
    std::string got = r.output;
    if (!r.status.ok()) got += std::string(r.status.message()) + "\n";
    EXPECT_EQ(Normalize(got), Normalize(expected)) << GetParam() << ":" << i + 1 << ": " << l;
  }
  // Every transcript's configuration survives the persisted form.
  std::string exported = c.ExportConfig();
  Controller again(&sink, {files, "sstp"});
  ASSERT_TRUE(again.LoadConfig(exported, now).ok()) << exported;
  EXPECT_EQ(again.ExportConfig(), exported);
}

std::vector<std::string> GoldenFiles() {
  std::vector<std::string> out;
  DIR* d = opendir(GOLDEN_DIR);
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (absl::EndsWith(n, ".txt")) out.push_back(n);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

INSTANTIATE_TEST_SUITE_P(Manual, Golden, ::testing::ValuesIn(GoldenFiles()), [](const auto& info) {
  std::string n = info.param.substr(0, info.param.size() - 4);
  for (char& ch : n) {
    if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return n;
});

}  // namespace
}  // namespace cp
