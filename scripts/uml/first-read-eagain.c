/* LD_PRELOAD shim for sstpc 1.0.18 inside the UML harness.
 *
 * sstpc sometimes stops with "The event loop terminated unsuccessfully" when its TLS handshake
 * completes without ever waiting for the socket (the server's reply was already there). Making the
 * first read() of a TCP socket return EAGAIN sends it down its ordinary "wait for readable" path.
 * This works around the client's bug in the harness; the server is not changed for it. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static int done;

static int is_stream_socket(int fd) {
  struct stat st;
  int type;
  socklen_t len = sizeof(type);
  if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return 0;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) return 0;
  return type == SOCK_STREAM;
}

static int intercept(int fd) {
  if (done || !is_stream_socket(fd)) return 0;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof(ss);
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) return 0;
  if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) return 0;
  done = 1;
  errno = EAGAIN;
  return 1;
}

ssize_t read(int fd, void *buf, size_t n) {
  static ssize_t (*real_read)(int, void *, size_t);
  if (!real_read) real_read = (ssize_t (*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
  if (intercept(fd)) return -1;
  return real_read(fd, buf, n);
}

ssize_t recv(int fd, void *buf, size_t n, int flags) {
  static ssize_t (*real_recv)(int, void *, size_t, int);
  if (!real_recv) real_recv = (ssize_t (*)(int, void *, size_t, int))dlsym(RTLD_NEXT, "recv");
  if (intercept(fd)) return -1;
  return real_recv(fd, buf, n, flags);
}
