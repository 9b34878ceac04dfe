// sstp-dataplane: the DPDK data plane process. See `sstp-dataplane --help` and config.h.
#include <rte_eal.h>
#include <rte_lcore.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "dataplane/config.h"
#include "dataplane/dataplane.h"
#include "dataplane/eal.h"
#ifdef DP_HAVE_SSTP
#include "dataplane/sstp/server.h"
#endif
#ifdef DP_HAVE_TLS_SERVICES
#include "dataplane/tls_service.h"
#endif

namespace {

std::atomic<bool> g_quit{false};
std::atomic<bool> g_dump{false};

void OnSignal(int sig) {
  if (sig == SIGUSR1) {
    g_dump.store(true);
  } else {
    g_quit.store(true);
  }
}

void WriteFileAtomically(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
  }
  std::rename(tmp.c_str(), path.c_str());
}

// Housekeeping off the data path: counter dumps, the stats file, the pid file once every worker
// is up, and the orderly stop (it sets net->stop only after its last read of worker state).
void Housekeeping(dp::Net* net) {
  const dp::Config& cfg = net->cfg;
  bool ready = false;
  auto next_stats = std::chrono::steady_clock::now();
  while (!g_quit.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (!ready) {
      ready = true;
      for (uint32_t i = 0; i < net->n_workers; ++i) {
        ready &= __atomic_load_n(&net->workers[i]->started, __ATOMIC_ACQUIRE);
      }
      if (ready) {
        if (!cfg.pid_file.empty())
          WriteFileAtomically(cfg.pid_file, std::to_string(getpid()) + "\n");
        fprintf(stderr, "sstp-dataplane: running on %u worker lcore(s)\n", net->n_workers);
      }
    }
    if (g_dump.exchange(false)) fprintf(stderr, "%s", dp::StatsText(*net).c_str());
    if (ready && !cfg.stats_file.empty() && std::chrono::steady_clock::now() >= next_stats) {
      WriteFileAtomically(cfg.stats_file, dp::StatsJson(*net));
      next_stats += std::chrono::milliseconds(cfg.stats_interval_ms);
    }
  }
  if (ready && !cfg.stats_file.empty()) WriteFileAtomically(cfg.stats_file, dp::StatsJson(*net));
  net->stop.store(true);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
#ifdef DP_HAVE_SSTP
  absl::StatusOr<dp::srv::ServerOptions> sstp_opts = dp::srv::ExtractServerArgs(&args);
  if (!sstp_opts.ok()) {
    fprintf(stderr, "sstp-dataplane: %s\n", std::string(sstp_opts.status().message()).c_str());
    return 2;
  }
#endif
#ifdef DP_HAVE_TLS_SERVICES
  absl::StatusOr<dp::tlssvc::TlsServiceOptions> tls_opts = dp::tlssvc::ExtractTlsArgs(&args);
  if (!tls_opts.ok()) {
    fprintf(stderr, "sstp-dataplane: %s\n", std::string(tls_opts.status().message()).c_str());
    return 2;
  }
#endif
  absl::StatusOr<dp::Config> cfg = dp::ParseArgs(args);
  if (!cfg.ok()) {
    if (absl::IsCancelled(cfg.status())) {  // --help
      fprintf(stdout, "%s", std::string(cfg.status().message()).c_str());
#ifdef DP_HAVE_SSTP
      fprintf(stdout, "%s", dp::srv::ServerUsage().c_str());
#endif
#ifdef DP_HAVE_TLS_SERVICES
      fprintf(stdout, "%s", dp::tlssvc::TlsUsage().c_str());
#endif
      return 0;
    }
    fprintf(stderr, "sstp-dataplane: %s\n", std::string(cfg.status().message()).c_str());
    return 2;
  }
  if (absl::Status s = dp::EalInit(*cfg); !s.ok()) {
    fprintf(stderr, "sstp-dataplane: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<dp::Net>> net = dp::CreateNet(*cfg, dp::AllLcores());
  if (!net.ok()) {
    fprintf(stderr, "sstp-dataplane: %s\n", std::string(net.status().message()).c_str());
    rte_eal_cleanup();
    return 1;
  }
#ifdef DP_HAVE_SSTP
  absl::StatusOr<dp::srv::ServerHandle> sstp_server = dp::srv::StartServer(net->get(), *sstp_opts);
  if (!sstp_server.ok()) {
    fprintf(stderr, "sstp-dataplane: SSTP server: %s\n",
            std::string(sstp_server.status().message()).c_str());
    dp::DestroyNet(std::move(*net));
    rte_eal_cleanup();
    return 1;
  }
#endif
#ifdef DP_HAVE_TLS_SERVICES
  // After the SSTP server: the TLS services chain their hooks behind its.
  absl::StatusOr<dp::tlssvc::TlsServicesHandle> tls_services =
      dp::tlssvc::StartTlsServices(net->get(), *tls_opts);
  if (!tls_services.ok()) {
    fprintf(stderr, "sstp-dataplane: %s\n", std::string(tls_services.status().message()).c_str());
    dp::DestroyNet(std::move(*net));
    rte_eal_cleanup();
    return 1;
  }
#endif
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGUSR1, OnSignal);
  std::thread hk(Housekeeping, net->get());
  dp::RunWorkers(net->get());
  hk.join();
#ifdef DP_HAVE_TLS_SERVICES
  tls_services->reset();  // after the workers' TCP stacks have closed every connection
#endif
#ifdef DP_HAVE_SSTP
  sstp_server->reset();
#endif
  fprintf(stderr, "sstp-dataplane: stopped\n%s", dp::StatsText(**net).c_str());
  dp::DestroyNet(std::move(*net));
  rte_eal_cleanup();
  return 0;
}
