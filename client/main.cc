// sstp-client: see client.h and `sstp-client --help`.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "client/options.h"
#include "client/status.h"

namespace {

std::optional<std::string> GetEnv(const char* name) {
  const char* v = getenv(name);
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

absl::StatusOr<std::string> ReadFile(const std::string& path, bool* world_readable) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return absl::ErrnoToStatus(errno, path);
  *world_readable = (st.st_mode & S_IROTH) != 0;
  std::ifstream f(path);
  if (!f) return absl::ErrnoToStatus(errno, path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

int main(int argc, char** argv) {
  client::OptionSources src;
  for (int i = 1; i < argc; ++i) src.args.push_back(argv[i]);
  src.getenv = GetEnv;
  src.read_file = ReadFile;
  // Copied: now take the secrets out of /proc/PID/cmdline and out of the environment that
  // children (none today) would inherit.
  client::ScrubSecretArgs(argc, argv);
  auto opts = client::ParseOptions(src);
  // Read (above), then unset: children (none today) must not inherit the passwords.
  unsetenv("SSTP_PASSWORD");
  unsetenv("SSTP_PROXY_PASSWORD");
  if (!opts.ok()) {
    fprintf(stderr, "sstp-client: %s\n", std::string(opts.status().message()).c_str());
    return 2;
  }
  if (opts->help) {
    fputs(client::UsageText().c_str(), stdout);
    return 0;
  }
  if (opts->version) {
    puts("sstp-client 0.1.0");
    return 0;
  }
  if (opts->status_query) {
    auto text = client::QueryStatus(opts->StatusSocketPath());
    if (!text.ok()) {
      fprintf(stderr, "sstp-client: %s\n", std::string(text.status().message()).c_str());
      return 1;
    }
    fputs(text->c_str(), stdout);
    return 0;
  }
  client::Client c(std::move(*opts));
  absl::Status s = c.Init();
  if (!s.ok()) {
    fprintf(stderr, "sstp-client: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  return c.Run();
}
