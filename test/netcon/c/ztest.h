/*
 * Helpers for the intercept test programs. Each program prints "ok <name>" or
 * "not ok <name>: <why>" per check and exits non-zero if any check failed. They run under
 * libzerotierintercept.so against test/netcon/fixture-service.ts, whose stack is 10.9.0.1/24 with
 * an in-memory peer at 10.9.0.2 (7 echo, 9 discard, 13 hold, 19 source, 1 closed) and no 10.9.0.3.
 */
#ifndef ZTEST_H
#define ZTEST_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define SELF_IP 0x0A090001u
#define PEER_IP 0x0A090002u
#define DEAD_IP 0x0A090003u
#define PORT_CLOSED 1
#define PORT_ECHO 7
#define PORT_DISCARD 9
#define PORT_HOLD 13
#define PORT_SOURCE 19

static int zt_failures;

__attribute__((unused)) static void ok(const char *name)
{
	printf("ok %s\n", name);
	fflush(stdout);
}

__attribute__((unused, format(printf, 2, 3))) static void notok(const char *name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("not ok %s: ", name);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	va_end(ap);
	zt_failures++;
}

/* CHECK(name, cond, fmt, ...): ok when cond holds, else not ok with the message. */
#define CHECK(name, cond, ...)                    \
	do {                                      \
		if (cond)                         \
			ok(name);                 \
		else                              \
			notok(name, __VA_ARGS__); \
	} while (0)

/* A check that must hold for the rest of the program to make sense. */
#define REQUIRE(name, cond, ...)                  \
	do {                                      \
		if (cond) {                       \
			ok(name);                 \
		} else {                          \
			notok(name, __VA_ARGS__); \
			exit(1);                  \
		}                                 \
	} while (0)

__attribute__((unused)) static int finish(void)
{
	return zt_failures ? 1 : 0;
}

/* Every program ends in bounded time even if a call hangs (that is a failure too). */
__attribute__((unused)) static void watchdog(unsigned seconds)
{
	signal(SIGPIPE, SIG_IGN);
	alarm(seconds);
}

__attribute__((unused)) static struct sockaddr_in sin4(uint32_t ip, uint16_t port)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(ip);
	a.sin_port = htons(port);
	return a;
}

/* ::ffff:ip (ip != 0) or :: (ip == 0). */
__attribute__((unused)) static struct sockaddr_in6 sin6m(uint32_t ip, uint16_t port)
{
	struct sockaddr_in6 a;
	memset(&a, 0, sizeof a);
	a.sin6_family = AF_INET6;
	a.sin6_port = htons(port);
	if (ip) {
		a.sin6_addr.s6_addr[10] = 0xff;
		a.sin6_addr.s6_addr[11] = 0xff;
		a.sin6_addr.s6_addr[12] = (uint8_t)(ip >> 24);
		a.sin6_addr.s6_addr[13] = (uint8_t)(ip >> 16);
		a.sin6_addr.s6_addr[14] = (uint8_t)(ip >> 8);
		a.sin6_addr.s6_addr[15] = (uint8_t)ip;
	}
	return a;
}

__attribute__((unused)) static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* revents of fd after waiting up to ms for events (0 = just look). */
__attribute__((unused)) static int wait_fd(int fd, short events, int ms)
{
	struct pollfd p = {.fd = fd, .events = events, .revents = 0};
	int r;
	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	return r > 0 ? p.revents : 0;
}

/* A blocking connect; the fd or -1 with errno. */
__attribute__((unused)) static int tcp_connect(uint32_t ip, uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a = sin4(ip, port);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* A listener on addr:port (0 = any); the fd or -1. *bound gets the port. */
__attribute__((unused)) static int tcp_listen(uint32_t ip, uint16_t port, uint16_t *bound)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a = sin4(ip, port);
	socklen_t len = sizeof a;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if (bound)
		*bound = ntohs(a.sin_port);
	return fd;
}

__attribute__((unused)) static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads exactly n bytes (blocking fd); returns the count read before EOF/error. */
__attribute__((unused)) static size_t read_full(int fd, void *buf, size_t n)
{
	char *p = buf;
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

__attribute__((unused)) static void set_nonblocking(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

__attribute__((unused)) static const char *ename(int e)
{
	static char buf[64];
	snprintf(buf, sizeof buf, "%d (%s)", e, strerror(e));
	return buf;
}

#endif
