#include "controlplane/persist.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"

namespace cp {

absl::Status SaveAtomically(const std::string& path, absl::string_view content) {
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("open ", tmp));
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = write(fd, content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      absl::Status s = absl::ErrnoToStatus(errno, absl::StrCat("write ", tmp));
      close(fd);
      unlink(tmp.c_str());
      return s;
    }
    off += size_t(n);
  }
  if (fsync(fd) != 0) {
    absl::Status s = absl::ErrnoToStatus(errno, absl::StrCat("fsync ", tmp));
    close(fd);
    unlink(tmp.c_str());
    return s;
  }
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    absl::Status s = absl::ErrnoToStatus(errno, absl::StrCat("rename ", tmp, " to ", path));
    unlink(tmp.c_str());
    return s;
  }
  // The rename is durable only once the directory entry is on disk.
  std::string dir =
      path.substr(0, path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/'));
  if (dir.empty()) dir = path.find('/') == 0 ? "/" : ".";
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path, size_t max_bytes) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      absl::Status s = absl::ErrnoToStatus(errno, absl::StrCat("read ", path));
      close(fd);
      return s;
    }
    if (n == 0) break;
    out.append(buf, size_t(n));
    if (out.size() > max_bytes) {
      close(fd);
      return absl::OutOfRangeError(absl::StrCat(path, " is larger than ", max_bytes, " bytes"));
    }
  }
  close(fd);
  return out;
}

}  // namespace cp
