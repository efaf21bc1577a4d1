/* A reader for the bench's syslog and journal rows: binds a Unix datagram socket at PATH, prints
 * "ready", reads as fast as it can (recvmmsg, up to 64 datagrams a call, so that the reader is
 * not what the row measures), and on SIGTERM prints how many datagrams it received.
 * usage: dgram-reader PATH   (bench/run.ts compiles it with cc; without a compiler it uses
 * dgram-reader.py, which may be slower than the sender it measures) */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static volatile sig_atomic_t stop = 0;
static void on_term(int signum) { (void)signum; stop = 1; }

int main(int argc, char **argv) {
  if (argc != 2) return 64;
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  strncpy(addr.sun_path, argv[1], sizeof addr.sun_path - 1);
  if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) { perror("bind"); return 71; }
  int size = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  struct sigaction sa = {.sa_handler = on_term}; /* no SA_RESTART: recv returns EINTR */
  sigaction(SIGTERM, &sa, NULL);
  printf("ready\n");
  fflush(stdout);
  enum { BATCH = 64, SIZE = 1 << 16 };
  static char bufs[BATCH][SIZE];
  static struct iovec iov[BATCH];
  static struct mmsghdr msgs[BATCH];
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = SIZE;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  unsigned long count = 0;
  struct timeval idle = {.tv_sec = 0, .tv_usec = 50000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle);
  for (;;) {
    int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
    if (n > 0) count += (unsigned long)n;
    else if (stop) break;
  }
  printf("%lu\n", count);
  return 0;
}
