/*
 * A plain TCP benchmark program (ordinary BSD sockets, nothing netcon-specific), so the same
 * binary measures network containers under libzerotierintercept.so and kernel paths alike.
 *
 *   tcp-bench sink <port>                       accept one connection, read to EOF, print "sink <bytes> <seconds>"
 *   tcp-bench source <ip> <port> <bytes>        connect, send, half-close, wait for EOF; print "source <bytes> <seconds>"
 *   tcp-bench echo <port>                       accept connections forever (forking), echo everything
 *   tcp-bench rr <ip> <port> <count>            64-byte request/response; print "rr <count> p50_us p90_us"
 *   tcp-bench acceptor <port>                   accept and close forever
 *   tcp-bench hold <port>                       accept and keep every connection open
 *   tcp-bench connects <ip> <port> <count> [procs]
 *                                               connect + close <count> times in all, split over <procs> forked
 *                                               processes (default 1) that run at once; print "connects <count> <seconds>"
 *   tcp-bench idle <ip> <port> <count>          open <count> connections, print "idle <count>", hold until stdin closes
 *
 * Every mode prints "ready" on stdout once it listens (servers) so a harness can wait for it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) {
  fprintf(stderr, "tcp-bench: %s: %s\n", what, strerror(errno));
  exit(1);
}

static int listen_on(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) die("socket");
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_ANY)};
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
  if (listen(s, 1024) < 0) die("listen");
  printf("ready\n");
  fflush(stdout);
  return s;
}

static int connect_to(const char *ip, int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) die("socket");
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
    fprintf(stderr, "tcp-bench: bad address %s\n", ip);
    exit(2);
  }
  if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
  return s;
}

static char buf[1 << 18];

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc < 3) {
    fprintf(stderr, "usage: see the comment at the top of tcp-bench.c\n");
    return 2;
  }
  const char *mode = argv[1];
  if (!strcmp(mode, "sink")) {
    int l = listen_on(atoi(argv[2]));
    int c = accept(l, NULL, NULL);
    if (c < 0) die("accept");
    double t0 = now();
    long long total = 0;
    for (;;) {
      ssize_t n = read(c, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) die("read");
      if (n == 0) break;
      total += n;
    }
    printf("sink %lld %.6f\n", total, now() - t0);
    close(c);
    return 0;
  }
  if (!strcmp(mode, "source") && argc >= 5) {
    int s = connect_to(argv[2], atoi(argv[3]));
    long long want = atoll(argv[4]), sent = 0;
    // incompressible payload: ZeroTier compresses packets when it pays, which would flatter both sides
    unsigned x = 2463534242u;
    for (size_t i = 0; i < sizeof buf; i++) {
      x ^= x << 13, x ^= x >> 17, x ^= x << 5;
      buf[i] = (char)x;
    }
    double t0 = now();
    while (sent < want) {
      size_t chunk = (size_t)(want - sent < (long long)sizeof buf ? want - sent : (long long)sizeof buf);
      ssize_t n = write(s, buf, chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) die("write");
      sent += n;
    }
    shutdown(s, SHUT_WR);
    while (read(s, buf, sizeof buf) > 0) {
    }
    printf("source %lld %.6f\n", sent, now() - t0);
    return 0;
  }
  if (!strcmp(mode, "echo")) {
    int l = listen_on(atoi(argv[2]));
    signal(SIGCHLD, SIG_IGN);
    for (;;) {
      int c = accept(l, NULL, NULL);
      if (c < 0) {
        if (errno == EINTR) continue;
        die("accept");
      }
      int one = 1;
      setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (fork() == 0) {
        close(l);
        for (;;) {
          ssize_t n = read(c, buf, sizeof buf);
          if (n <= 0) _exit(0);
          if (write(c, buf, (size_t)n) != n) _exit(1);
        }
      }
      close(c);
    }
  }
  if (!strcmp(mode, "rr") && argc >= 5) {
    int s = connect_to(argv[2], atoi(argv[3]));
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int count = atoi(argv[4]);
    if (count < 1 || count > 1000000) return 2;
    double *lat = malloc(sizeof(double) * (size_t)count);
    if (lat == NULL) die("malloc");
    char msg[64];
    memset(msg, 'r', sizeof msg);
    for (int i = 0; i < count; i++) {
      double t0 = now();
      if (write(s, msg, sizeof msg) != (ssize_t)sizeof msg) die("write");
      size_t got = 0;
      while (got < sizeof msg) {
        ssize_t n = read(s, buf + got, sizeof msg - got);
        if (n <= 0) die("read");
        got += (size_t)n;
      }
      lat[i] = (now() - t0) * 1e6;
    }
    qsort(lat, (size_t)count, sizeof(double), cmp_double);
    printf("rr %d %.1f %.1f\n", count, lat[count / 2], lat[(count * 9) / 10]);
    return 0;
  }
  if (!strcmp(mode, "acceptor")) {
    int l = listen_on(atoi(argv[2]));
    for (;;) {
      int c = accept(l, NULL, NULL);
      if (c < 0) {
        if (errno == EINTR) continue;
        die("accept");
      }
      close(c);
    }
  }
  if (!strcmp(mode, "hold")) {
    int l = listen_on(atoi(argv[2]));
    for (;;) {
      if (accept(l, NULL, NULL) < 0 && errno != EINTR) die("accept");
    }
  }
  if (!strcmp(mode, "connects") && argc >= 5) {
    int count = atoi(argv[4]);
    int procs = argc >= 6 ? atoi(argv[5]) : 1;
    if (count < 1 || procs < 1 || procs > 64) return 2;
    double t0 = now();
    for (int p = 0; p < procs; p++) {
      pid_t pid = procs == 1 ? 0 : fork();
      if (pid < 0) die("fork");
      if (pid > 0) continue;
      // this process's share: the first count % procs processes take one more
      int mine = count / procs + (p < count % procs ? 1 : 0);
      for (int i = 0; i < mine; i++) {
        int s = connect_to(argv[2], atoi(argv[3]));
        close(s);
      }
      if (procs == 1) break;
      _exit(0);
    }
    for (int p = 0; procs > 1 && p < procs; p++) {
      int status;
      if (wait(&status) < 0) die("wait");
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "tcp-bench: a connecting process failed\n");
        return 1;
      }
    }
    printf("connects %d %.6f\n", count, now() - t0);
    return 0;
  }
  if (!strcmp(mode, "idle") && argc >= 5) {
    int count = atoi(argv[4]);
    for (int i = 0; i < count; i++) connect_to(argv[2], atoi(argv[3]));
    printf("idle %d\n", count);
    fflush(stdout);
    while (read(0, buf, sizeof buf) > 0) {
    }
    return 0;
  }
  fprintf(stderr, "tcp-bench: unknown mode or missing arguments\n");
  return 2;
}
