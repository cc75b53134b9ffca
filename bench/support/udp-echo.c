/*
 * udp-echo server PORT: answers every datagram on 127.0.0.1:PORT with the same bytes, one
 * select() wake-up, recvfrom() and sendto() per datagram (as a C node's receive thread does);
 * prints "ready" once bound.
 * udp-echo client PORT COUNT: sends COUNT 64-byte datagrams one at a time, each after the
 * previous answer, and prints "rtt COUNT P50 P90" (µs, over the last 90%: the first 10% warm up).
 * udp-echo quiet GAP_US ROUNDS PORT...: ROUNDS times, one datagram to each server in turn, each
 * after GAP_US of quiet (the server's core may have gone idle, its caches cooled), and prints
 * "quiet PORT P50 P90" (µs) per server: the interleaving spreads the machine's noise over all.
 * Used by bench/wake-floor.ts.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static _Noreturn void serve(int s) {
  static char buf[2048];
  for (;;) {
    fd_set r;
    FD_ZERO(&r);
    FD_SET(s, &r);
    if (select(s + 1, &r, NULL, NULL, NULL) < 0) continue;
    struct sockaddr_in from;
    socklen_t len = sizeof from;
    ssize_t n = recvfrom(s, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &len);
    if (n > 0) sendto(s, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
  }
}

static int client(int s, long count) {
  double *rtt = malloc(sizeof(double) * (size_t)count);
  if (rtt == NULL) return 1;
  char buf[2048];
  memset(buf, 'x', 64);
  struct timeval tv = {2, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  for (long i = 0; i < count; i++) {
    double t0 = now_us();
    if (send(s, buf, 64, 0) != 64 || recv(s, buf, sizeof buf, 0) != 64) {
      fprintf(stderr, "udp-echo: no answer to datagram %ld\n", i);
      return 1;
    }
    rtt[i] = now_us() - t0;
  }
  long skip = count / 10, n = count - skip;
  qsort(rtt + skip, (size_t)n, sizeof(double), cmp);
  printf("rtt %ld %.1f %.1f\n", count, rtt[skip + n / 2], rtt[skip + n * 9 / 10]);
  free(rtt);
  return 0;
}

static int quiet(long gap, long rounds, int nports, char **ports) {
  int socks[16];
  double *rtt[16];
  char buf[2048];
  memset(buf, 'x', 64);
  for (int i = 0; i < nports; i++) {
    int port = atoi(ports[i]);
    socks[i] = socket(AF_INET, SOCK_DGRAM, 0);
    rtt[i] = malloc(sizeof(double) * (size_t)rounds);
    if (socks[i] < 0 || rtt[i] == NULL || port < 1 || port > 65535) return 1;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {2, 0};
    setsockopt(socks[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(socks[i], (struct sockaddr *)&a, sizeof a) < 0) return 1;
  }
  for (long k = 0; k < rounds; k++) {
    for (int i = 0; i < nports; i++) {
      usleep((useconds_t)gap);
      double t0 = now_us();
      if (send(socks[i], buf, 64, 0) != 64 || recv(socks[i], buf, sizeof buf, 0) != 64) {
        fprintf(stderr, "udp-echo: no answer from port %s\n", ports[i]);
        return 1;
      }
      rtt[i][k] = now_us() - t0;
    }
  }
  for (int i = 0; i < nports; i++) {
    qsort(rtt[i], (size_t)rounds, sizeof(double), cmp);
    printf("quiet %s %.1f %.1f\n", ports[i], rtt[i][rounds / 2], rtt[i][rounds * 9 / 10]);
    free(rtt[i]);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 5 && strcmp(argv[1], "quiet") == 0) {
    long gap = atol(argv[2]), rounds = atol(argv[3]);
    if (gap < 0 || gap > 1000000 || rounds < 10 || rounds > 100000 || argc - 4 > 16) {
      fprintf(stderr, "usage: udp-echo quiet GAP_US(0..1000000) ROUNDS(10..100000) PORT... (at most 16)\n");
      return 2;
    }
    return quiet(gap, rounds, argc - 4, argv + 4);
  }
  int server = argc == 3 && strcmp(argv[1], "server") == 0;
  int isClient = argc == 4 && strcmp(argv[1], "client") == 0;
  int port = argc >= 3 ? atoi(argv[2]) : 0;
  long count = isClient ? atol(argv[3]) : 0;
  if ((!server && !isClient) || port < 1 || port > 65535 || (isClient && (count < 10 || count > 10000000))) {
    fprintf(stderr, "usage: udp-echo server PORT | udp-echo client PORT COUNT (COUNT 10..10000000) | udp-echo quiet GAP_US ROUNDS PORT...\n");
    return 2;
  }
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0) {
    perror("socket");
    return 1;
  }
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if ((server ? bind(s, (struct sockaddr *)&a, sizeof a) : connect(s, (struct sockaddr *)&a, sizeof a)) < 0) {
    perror(server ? "bind" : "connect");
    return 1;
  }
  if (server) {
    printf("ready\n");
    fflush(stdout);
    serve(s);
  }
  return client(s, count);
}
