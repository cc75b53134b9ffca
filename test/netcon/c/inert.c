/* Modes without a usable network. "inert" (no ZT_NC_NWID): the library changes nothing, host
 * sockets work as without it. "badnwid" (ZT_NC_NWID not 16 hex digits): every IPv4/IPv6 socket
 * fails with EACCES, never a host socket; AF_UNIX is untouched. */
#include <netinet/tcp.h>
#include <sys/syscall.h>

#include "ztest.h"

static void inert(void)
{
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK("inert: host UDP socket", u >= 0, "errno %s", ename(errno));
	close(u);
	uint16_t port = 0;
	int l = tcp_listen(0x7f000001, 0, &port);
	CHECK("inert: listen on 127.0.0.1", l >= 0, "errno %s", ename(errno));
	int c = tcp_connect(0x7f000001, port);
	int a = accept(l, NULL, NULL);
	CHECK("inert: loopback TCP connect/accept", c >= 0 && a >= 0, "errno %s", ename(errno));
	struct tcp_info ti;
	socklen_t len = sizeof ti;
	int r = getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &len);
	CHECK("inert: TCP_INFO from the kernel", r == 0 && ti.tcpi_state == 1 /* ESTABLISHED */,
	      "r=%d errno %s", r, ename(errno));
	int v = 0;
	len = sizeof v;
	getsockopt(c, SOL_SOCKET, SO_DOMAIN, &v, &len);
	CHECK("inert: SO_DOMAIN AF_INET", v == AF_INET, "%d", v);
	long s = syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0);
	CHECK("inert: syscall(SYS_socket) gives a host UDP socket", s >= 0, "errno %s", ename(errno));
	close((int)s);
	close(a);
	close(c);
	close(l);
}

static void badnwid(void)
{
	int r = socket(AF_INET, SOCK_STREAM, 0);
	CHECK("bad nwid: AF_INET stream EACCES", r < 0 && errno == EACCES, "r=%d errno %s", r, ename(errno));
	r = socket(AF_INET6, SOCK_STREAM, 0);
	CHECK("bad nwid: AF_INET6 stream EACCES", r < 0 && errno == EACCES, "r=%d errno %s", r, ename(errno));
	r = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK("bad nwid: AF_INET dgram EACCES", r < 0 && errno == EACCES, "r=%d errno %s", r, ename(errno));
	long s = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	CHECK("bad nwid: syscall(SYS_socket) EACCES", s < 0 && errno == EACCES, "r=%ld errno %s", s,
	      ename(errno));
	int sp[2];
	r = socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
	CHECK("bad nwid: AF_UNIX works", r == 0, "errno %s", ename(errno));
}

int main(int argc, char **argv)
{
	watchdog(30);
	if (argc > 1 && strcmp(argv[1], "badnwid") == 0)
		badnwid();
	else
		inert();
	return finish();
}
