// ClientSupervisor with real child processes (small shell scripts standing in for sstp-client)
// and scripted time for its decisions: config files, restart backoff, stop on disable/change,
// status from the status socket. Waiting for a child to exit is bounded real time, never a
// pass/fail threshold.
#include "controlplane/client_supervisor.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cp {
namespace {

using ::testing::HasSubstr;

class SupervisorTest : public ::testing::Test {
 protected:
  SupervisorTest() {
    char t[] = "/tmp/cp-sup-XXXXXX";
    dir_ = mkdtemp(t);
  }
  ~SupervisorTest() override {
    sup_.reset();  // stops and reaps every child
    std::filesystem::remove_all(dir_);
  }

  // A stand-in client: `body` is a shell script run with "--config FILE" as $1 $2.
  std::string Script(const std::string& name, const std::string& body) {
    std::string path = absl::StrCat(dir_, "/", name);
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    chmod(path.c_str(), 0700);
    return path;
  }
  void Make(const std::string& bin) {
    ClientSupervisor::Hooks h;
    h.status = [this](const std::string& name, std::map<std::string, std::string> st) {
      status_[name] = st;
      if (st.empty()) status_.erase(name);
    };
    h.log = [this](const std::string& topics, const std::string& m) {
      log_.push_back(topics + " " + m);
    };
    h.watch = [](int, bool) {};
    sup_ = std::make_unique<ClientSupervisor>(ClientSupervisor::Options{bin, dir_ + "/clients"},
                                              std::move(h));
  }
  // Reaps until the child of `name` is gone (bounded: 10 s of real time).
  bool WaitGone(const std::string& name, absl::Time now) {
    for (int i = 0; i < 1000; ++i) {
      sup_->Reap(now);
      if (sup_->PidOf(name) < 0) return true;
      usleep(10000);
    }
    return false;
  }
  static ClientSpec Spec(const std::string& name, const std::string& text) {
    return ClientSpec{name, text, ""};
  }
  // The stand-in scripts touch "$0.ready" once their SIGTERM trap is set; waits for it (bounded)
  // and removes it for the next start.
  bool WaitReady(const std::string& script) {
    const std::string f = script + ".ready";
    for (int i = 0; i < 1000; ++i) {
      if (unlink(f.c_str()) == 0) return true;
      usleep(10000);
    }
    return false;
  }
  bool LogHas(const std::string& s) const {
    for (const auto& l : log_) {
      if (l.find(s) != std::string::npos) return true;
    }
    return false;
  }

  std::string dir_;
  std::unique_ptr<ClientSupervisor> sup_;
  std::map<std::string, std::map<std::string, std::string>> status_;
  std::vector<std::string> log_;
  absl::Time t0_ = absl::FromUnixSeconds(1'800'000'000);
};

TEST_F(SupervisorTest, FailingClientIsRestartedWithDoublingBackoff) {
  Make(Script("fails", "echo \"12:00:00 out1: connecting: to nowhere\"\nexit 3"));
  sup_->Apply({Spec("out1", "password=\"secret\"\n")}, t0_);
  ASSERT_GT(sup_->PidOf("out1"), 0);
  // The config file: 0600, the settings as given.
  struct stat st;
  ASSERT_EQ(stat((dir_ + "/clients/out1.conf").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_mode & S_IFMT, S_IFREG);
  absl::Time now = t0_;
  ASSERT_TRUE(WaitGone("out1", now));
  EXPECT_TRUE(LogHas("sstp,error out1: sstp-client exited with status 3"));
  EXPECT_TRUE(LogHas("sstp,info out1: connecting: to nowhere"));  // its output, time stripped
  EXPECT_EQ(status_["out1"]["status"], "disconnected");
  EXPECT_EQ(status_["out1"]["last-error"],
            "sstp-client exited with status 3: out1: connecting: to nowhere");
  // 1 s, then 2 s, then 4 s.
  for (int backoff : {1, 2, 4}) {
    sup_->Tick(now + absl::Seconds(backoff) - absl::Milliseconds(1));
    EXPECT_LT(sup_->PidOf("out1"), 0) << "restarted before its " << backoff << " s backoff";
    now += absl::Seconds(backoff);
    sup_->Tick(now);
    EXPECT_GT(sup_->PidOf("out1"), 0) << "not restarted after " << backoff << " s";
    ASSERT_TRUE(WaitGone("out1", now));
  }
}

// Exit status 2: the client refused its configuration. Retrying at once would only repeat that;
// the longest backoff applies until the entry changes, which restarts it immediately.
TEST_F(SupervisorTest, RefusedConfigurationWaitsForAChange) {
  Make(Script("refuses",
              "echo 'sstp-client: name: \"a b\" is not a valid interface name' >&2\n"
              "exit 2"));
  sup_->Apply({Spec("out1", "name=a b\n")}, t0_);
  ASSERT_TRUE(WaitGone("out1", t0_));
  EXPECT_EQ(status_["out1"]["last-error"],
            "sstp-client exited with status 2: sstp-client: name: \"a b\" is not a valid "
            "interface name");
  sup_->Tick(t0_ + absl::Seconds(59));
  EXPECT_LT(sup_->PidOf("out1"), 0);
  sup_->Apply({Spec("out1", "name=ab\n")}, t0_ + absl::Seconds(60) - absl::Milliseconds(500));
  EXPECT_GT(sup_->PidOf("out1"), 0);  // changed: started at once
  ASSERT_TRUE(WaitGone("out1", t0_ + absl::Seconds(60)));
}

TEST_F(SupervisorTest, DisableStopsWithSigtermAndChangeRestarts) {
  // Runs until SIGTERM, then says so (as the real client disconnects) and exits 0.
  const std::string bin = Script(
      "runs", "trap 'echo stopping; exit 0' TERM\n: >\"$0.ready\"\nwhile :; do sleep 0.05; done");
  Make(bin);
  sup_->Apply({Spec("out1", "user=\"a\"\n")}, t0_);
  const pid_t first = sup_->PidOf("out1");
  ASSERT_GT(first, 0);
  ASSERT_TRUE(WaitReady(bin));
  // A changed entry: the old child is stopped and a new one starts at once once it is reaped.
  sup_->Apply({Spec("out1", "user=\"b\"\n")}, t0_);
  ASSERT_TRUE(WaitGone("out1", t0_) || sup_->PidOf("out1") != first);
  sup_->Tick(t0_);
  const pid_t second = sup_->PidOf("out1");
  ASSERT_GT(second, 0);
  EXPECT_NE(second, first);
  std::ifstream conf(dir_ + "/clients/out1.conf");
  std::string text((std::istreambuf_iterator<char>(conf)), {});
  EXPECT_EQ(text, "user=\"b\"\n");
  ASSERT_TRUE(WaitReady(bin));
  // Disabled (no longer wanted): SIGTERM, reaped, config file and status gone.
  sup_->Apply({}, t0_);
  ASSERT_TRUE(WaitGone("out1", t0_));
  sup_->Tick(t0_ + absl::Seconds(100));
  EXPECT_LT(sup_->PidOf("out1"), 0);
  EXPECT_TRUE(LogHas("sstp,info out1: sstp-client exited with status 0"))
      << ::testing::PrintToString(log_);
  EXPECT_TRUE(LogHas("sstp,info out1: stopping"));
  EXPECT_NE(access((dir_ + "/clients/out1.conf").c_str(), F_OK), 0);
  EXPECT_EQ(status_.count("out1"), 0u);
}

TEST_F(SupervisorTest, ClientIgnoringSigtermIsKilledAfterTheGrace) {
  const std::string bin =
      Script("stubborn", "trap '' TERM\n: >\"$0.ready\"\nwhile :; do sleep 0.05; done");
  Make(bin);
  sup_->Apply({Spec("out1", "x=1\n")}, t0_);
  ASSERT_GT(sup_->PidOf("out1"), 0);
  ASSERT_TRUE(WaitReady(bin));
  sup_->Apply({}, t0_);
  sup_->Tick(t0_ + absl::Seconds(1));
  EXPECT_GT(sup_->PidOf("out1"), 0);  // still in its grace period
  sup_->Tick(t0_ + absl::Seconds(6));
  ASSERT_TRUE(WaitGone("out1", t0_ + absl::Seconds(6)));
  EXPECT_TRUE(LogHas("no exit after SIGTERM; SIGKILL"));
  EXPECT_TRUE(LogHas("killed by signal 9"));
}

TEST_F(SupervisorTest, StatusComesFromTheStatusSocket) {
  // A stand-in that answers its status socket like sstp-client --status (python3's socket).
  const std::string sock = dir_ + "/clients/out1.sock";
  Make(Script("answers",
              absl::StrCat("exec python3 -c '\n"
                           "import os, socket\n"
                           "s = socket.socket(socket.AF_UNIX)\n"
                           "s.bind(\"",
                           sock,
                           "\"); s.listen(4)\n"
                           "while True:\n"
                           "    c, _ = s.accept()\n"
                           "    c.sendall(b\"     status: \\\"connected\\\"\\n       user: "
                           "\\\"Home\\\"\\n    rx-byte: 42\\n\")\n"
                           "    c.close()\n'")));
  sup_->Apply({Spec("out1", "x=1\n")}, t0_);
  ASSERT_GT(sup_->PidOf("out1"), 0);
  EXPECT_EQ(status_["out1"]["status"], "connecting");
  // Poll until the stand-in listens and answers (bounded real time; the poll itself is driven
  // by the scripted clock, one per second).
  absl::Time now = t0_;
  for (int i = 0; i < 500 && status_["out1"]["status"] != "connected"; ++i) {
    now += absl::Seconds(1);
    sup_->Tick(now);
    usleep(10000);
    // The daemon reads when epoll says so; here the fds are read directly.
    for (int fd = 3; fd < 1024; ++fd) {
      if (sup_->Owns(fd)) sup_->OnReadable(fd, now);
    }
  }
  EXPECT_EQ(status_["out1"]["status"], "connected");
  EXPECT_EQ(status_["out1"]["user"], "Home");
  EXPECT_EQ(status_["out1"]["rx-byte"], "42");
}

}  // namespace
}  // namespace cp
