/*
 * udp-flood PORT COUNT [SIZE]: sends COUNT datagrams of SIZE bytes (default 1432, ZeroTier's
 * default physical MTU; at least 2) to 127.0.0.1:PORT in sendmmsg batches of 32, pausing 200 µs
 * every 1024 so that a receiver on the same 2 cores keeps up, then three 1-byte end markers 10 ms
 * apart (one of them reaches a receiver that drained its queue). Used by bench/udp-receive.ts.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: udp-flood PORT COUNT [SIZE]\n");
    return 2;
  }
  int port = atoi(argv[1]);
  long count = atol(argv[2]);
  int size = argc > 3 ? atoi(argv[3]) : 1432;
  if (port < 1 || port > 65535 || count < 1 || size < 2 || size > 2048) {
    fprintf(stderr, "udp-flood: bad arguments\n");
    return 2;
  }
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0) {
    perror("socket");
    return 1;
  }
  struct sockaddr_in to = {0};
  to.sin_family = AF_INET;
  to.sin_port = htons((unsigned short)port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(s, (struct sockaddr *)&to, sizeof to) < 0) {
    perror("connect");
    return 1;
  }
  static char buf[2048];
  memset(buf, 7, sizeof buf);
  struct mmsghdr m[32];
  struct iovec v[32];
  for (int i = 0; i < 32; i++) {
    v[i].iov_base = buf;
    v[i].iov_len = (size_t)size;
    memset(&m[i], 0, sizeof m[i]);
    m[i].msg_hdr.msg_iov = &v[i];
    m[i].msg_hdr.msg_iovlen = 1;
  }
  for (long sent = 0; sent < count; sent += 32) {
    if (sendmmsg(s, m, 32, 0) < 0) perror("sendmmsg");
    if ((sent & 1023) == 0) usleep(200);
  }
  for (int i = 0; i < 3; i++) {
    usleep(10000);
    if (send(s, buf, 1, 0) < 0) perror("send");
  }
  return 0;
}
