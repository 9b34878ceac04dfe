// sstpctl: the RouterOS-style CLI of sstp-controlplane.
//   sstpctl [--run-dir DIR | --socket PATH] /ppp secret print     one command
//   sstpctl < script.rsc                                           commands from stdin
//   sstpctl                                                        interactive prompt
// Exit status 0 when every command succeeded, 1 when one failed, 2 when the control plane cannot
// be reached.
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "controlplane/ctl_protocol.h"

namespace {

std::string g_socket;
int g_fd = -1;

bool Connect() {
  g_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (g_socket.size() >= sizeof a.sun_path) return false;
  memcpy(a.sun_path, g_socket.c_str(), g_socket.size());
  if (connect(g_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    fprintf(stderr, "sstpctl: cannot reach sstp-controlplane at %s: %s\n", g_socket.c_str(),
            strerror(errno));
    return false;
  }
  return true;
}

bool WriteAll(const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = write(g_fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += size_t(n);
  }
  return true;
}

bool ReadAll(char* p, size_t n) {
  while (n > 0) {
    ssize_t r = read(g_fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= size_t(r);
  }
  return true;
}

struct Reply {
  bool ok = false;
  std::string cwd;
  std::string text;
};

// One request; false when the connection failed.
bool Request(char kind, const std::string& cwd, const std::string& line, Reply* reply) {
  if (!WriteAll(cp::Frame(absl::StrCat(std::string(1, kind), cwd, "\n", line)))) return false;
  char hdr[4];
  if (!ReadAll(hdr, 4)) return false;
  uint32_t len = cp::FrameLength(hdr);
  if (len > cp::kMaxResponse || len < 2) return false;
  std::string body(len, '\0');
  if (!ReadAll(body.data(), len)) return false;
  reply->ok = body[0] == '0';
  size_t nl = body.find('\n');
  reply->cwd = body.substr(1, nl == std::string::npos ? std::string::npos : nl - 1);
  reply->text = nl == std::string::npos ? "" : body.substr(nl + 1);
  return true;
}

// RouterOS: "[admin@sstp] > " at the root, "[admin@sstp] /ppp secret> " in a menu.
std::string Prompt(const std::string& cwd) {
  return cwd == "/" ? "[admin@sstp] > " : absl::StrCat("[admin@sstp] ", cwd, "> ");
}

int RunScript(std::istream& in) {
  std::string cwd = "/", line, pending;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!pending.empty()) line = pending + line;
    if (!line.empty() && line.back() == '\\') {
      line.pop_back();
      pending = line;
      continue;
    }
    pending.clear();
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    Reply r;
    if (!Request('C', cwd, line, &r)) {
      fprintf(stderr, "sstpctl: connection to sstp-controlplane lost\n");
      return 2;
    }
    fputs(r.text.c_str(), r.ok ? stdout : stderr);
    if (!r.ok) {
      fprintf(stderr, "sstpctl: stdin line %d failed\n", line_no);
      return 1;
    }
    cwd = r.cwd;
  }
  return 0;
}

// A small line editor: printable characters, backspace, ^U, ^C, ^D, history (up/down) and TAB
// completion of menus, commands, arguments and item names.
int RunInteractive() {
  termios saved;
  tcgetattr(0, &saved);
  termios raw = saved;
  raw.c_lflag &= ~tcflag_t(ICANON | ECHO);
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 0;
  tcsetattr(0, TCSANOW, &raw);
  std::string cwd = "/";
  std::vector<std::string> history;
  int status = 0;
  for (;;) {
    std::string line;
    size_t hist = history.size();
    auto redraw = [&]() {
      printf("\r\033[K%s%s", Prompt(cwd).c_str(), line.c_str());
      fflush(stdout);
    };
    redraw();
    bool done = false, quit = false;
    while (!done) {
      char c;
      if (read(0, &c, 1) != 1) {
        quit = true;
        break;
      }
      if (c == '\r' || c == '\n') {
        printf("\n");
        done = true;
      } else if (c == 127 || c == 8) {
        if (!line.empty()) line.pop_back();
        redraw();
      } else if (c == 21) {
        line.clear();
        redraw();
      } else if (c == 3) {
        line.clear();
        printf("\n");
        redraw();
      } else if (c == 4) {
        if (line.empty()) {
          quit = true;
          break;
        }
      } else if (c == 27) {
        char seq[2];
        if (read(0, seq, 2) == 2 && seq[0] == '[') {
          if (seq[1] == 'A' && hist > 0) line = history[--hist];
          if (seq[1] == 'B' && hist < history.size()) {
            ++hist;
            line = hist < history.size() ? history[hist] : "";
          }
        }
        redraw();
      } else if (c == '\t') {
        Reply r;
        if (!Request('T', cwd, line, &r)) {
          quit = true;
          status = 2;
          break;
        }
        std::vector<std::string> cands = absl::StrSplit(r.text, '\n', absl::SkipEmpty());
        size_t sp = line.find_last_of(' ');
        std::string head = sp == std::string::npos ? "" : line.substr(0, sp + 1);
        if (cands.size() == 1) {
          line = head + cands[0];
          if (line.back() != '=') line += ' ';
        } else if (cands.size() > 1) {
          // Extend to the longest common prefix, then list the choices.
          std::string common = cands[0];
          for (const auto& s : cands) {
            size_t k = 0;
            while (k < common.size() && k < s.size() && common[k] == s[k]) ++k;
            common.resize(k);
          }
          line = head + common;
          printf("\n%s\n", absl::StrJoin(cands, "  ").c_str());
        }
        redraw();
      } else if (static_cast<unsigned char>(c) >= 0x20) {
        line.push_back(c);
        printf("%c", c);
        fflush(stdout);
      }
    }
    if (quit) break;
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos) continue;
    if (line == "quit" || line == "/quit" || line == "exit") break;
    history.push_back(line);
    Reply r;
    tcsetattr(0, TCSANOW, &saved);
    if (!Request('C', cwd, line, &r)) {
      fprintf(stderr, "sstpctl: connection to sstp-controlplane lost\n");
      status = 2;
      break;
    }
    tcsetattr(0, TCSANOW, &raw);
    fputs(r.text.c_str(), stdout);
    fflush(stdout);
    cwd = r.cwd;
  }
  tcsetattr(0, TCSANOW, &saved);
  printf("\n");
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  const char* env = getenv("SSTP_RUN_DIR");
  std::string run_dir = env ? env : "/run/sstp";
  std::vector<std::string> words;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--run-dir" && i + 1 < argc) {
      run_dir = argv[++i];
    } else if (a == "--socket" && i + 1 < argc) {
      g_socket = argv[++i];
    } else if (a == "--help" || a == "-h") {
      fprintf(stderr,
              "usage: sstpctl [--run-dir DIR | --socket PATH] [COMMAND...]\n"
              "  with a COMMAND: run it; without: read commands from stdin, or an interactive\n"
              "  prompt on a terminal. Exit 1 when a command fails.\n");
      return 0;
    } else {
      words.push_back(a);
    }
  }
  if (g_socket.empty()) g_socket = run_dir + "/ctl.sock";
  if (!Connect()) return 2;
  if (!words.empty()) {
    // Words are joined back into one command line; an argument with spaces (a shell-quoted value)
    // is re-quoted for the RouterOS parser.
    std::vector<std::string> parts;
    for (const std::string& w : words) {
      size_t eq = w.find('=');
      if (w.find(' ') != std::string::npos && eq != std::string::npos &&
          w.find('"') == std::string::npos) {
        parts.push_back(absl::StrCat(w.substr(0, eq + 1), "\"", w.substr(eq + 1), "\""));
      } else {
        parts.push_back(w);
      }
    }
    Reply r;
    if (!Request('C', "/", absl::StrJoin(parts, " "), &r)) {
      fprintf(stderr, "sstpctl: connection to sstp-controlplane lost\n");
      return 2;
    }
    fputs(r.text.c_str(), r.ok ? stdout : stderr);
    return r.ok ? 0 : 1;
  }
  if (isatty(0)) return RunInteractive();
  return RunScript(std::cin);
}
