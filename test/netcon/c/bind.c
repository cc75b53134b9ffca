/* bind(): wildcard, the stack's address, port 0, conflicts within and across processes, errors,
 * and the port coming free when the socket is closed. */
#include <sys/wait.h>

#include "ztest.h"

static uint16_t local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	if (getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		return 0;
	return ntohs(a.sin_port);
}

static int bind4(int fd, uint32_t ip, uint16_t port)
{
	struct sockaddr_in a = sin4(ip, port);
	return bind(fd, (struct sockaddr *)&a, sizeof a);
}

int main(void)
{
	watchdog(60);
	int a = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in name;
	socklen_t len = sizeof name;
	int r = getsockname(a, (struct sockaddr *)&name, &len);
	CHECK("getsockname of a new socket: 0.0.0.0:0",
	      r == 0 && len == sizeof name && name.sin_family == AF_INET && name.sin_addr.s_addr == 0 &&
		      name.sin_port == 0,
	      "r=%d len %u family %d", r, len, name.sin_family);
	r = bind4(a, 0, 0);
	uint16_t pa = local_port(a);
	CHECK("bind 0.0.0.0:0 gets an ephemeral port", r == 0 && pa != 0, "r=%d errno %s port %u", r,
	      ename(errno), pa);
	r = bind4(a, 0, 0);
	CHECK("bind twice: EINVAL", r < 0 && errno == EINVAL, "r=%d errno %s", r, ename(errno));

	int b = socket(AF_INET, SOCK_STREAM, 0);
	r = bind4(b, SELF_IP, 0);
	len = sizeof name;
	getsockname(b, (struct sockaddr *)&name, &len);
	CHECK("bind 10.9.0.1:0: getsockname reports address and port",
	      r == 0 && name.sin_addr.s_addr == htonl(SELF_IP) && name.sin_port != 0, "r=%d errno %s %s:%u",
	      r, ename(errno), inet_ntoa(name.sin_addr), ntohs(name.sin_port));

	uint16_t fixed = (uint16_t)(20000 + getpid() % 20000);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	r = bind4(c, SELF_IP, fixed);
	CHECK("bind a chosen port", r == 0 && local_port(c) == fixed, "r=%d errno %s port %u", r,
	      ename(errno), local_port(c));
	r = r ? r : listen(c, 4);
	int d = socket(AF_INET, SOCK_STREAM, 0);
	r = bind4(d, SELF_IP, fixed);
	CHECK("second socket on the same port: EADDRINUSE", r < 0 && errno == EADDRINUSE, "r=%d errno %s",
	      r, ename(errno));
	r = bind4(d, 0, fixed);
	CHECK("wildcard on a port taken by 10.9.0.1: EADDRINUSE", r < 0 && errno == EADDRINUSE,
	      "r=%d errno %s", r, ename(errno));

	pid_t pid = fork();
	if (pid == 0) {
		int e = socket(AF_INET, SOCK_STREAM, 0);
		int rr = bind4(e, SELF_IP, fixed);
		_exit(rr < 0 && errno == EADDRINUSE ? 0 : 1);
	}
	int st;
	waitpid(pid, &st, 0);
	CHECK("another process on the same port: EADDRINUSE", WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "status 0x%x", st);

	close(c);
	r = bind4(d, SELF_IP, fixed);
	CHECK("the port is free again once the listener is closed", r == 0, "r=%d errno %s", r,
	      ename(errno));

	int e = socket(AF_INET, SOCK_STREAM, 0);
	r = bind4(e, PEER_IP, 0);
	CHECK("bind an address that is not ours: EADDRNOTAVAIL", r < 0 && errno == EADDRNOTAVAIL,
	      "r=%d errno %s", r, ename(errno));
	struct sockaddr_in s4 = sin4(SELF_IP, 0);
	r = bind(e, (struct sockaddr *)&s4, sizeof s4 - 1);
	CHECK("bind with a short addrlen: EINVAL", r < 0 && errno == EINVAL, "r=%d errno %s", r,
	      ename(errno));
	struct sockaddr_in6 s6 = sin6m(SELF_IP, 0);
	r = bind(e, (struct sockaddr *)&s6, sizeof s6);
	CHECK("bind an AF_INET6 address on AF_INET: EAFNOSUPPORT", r < 0 && errno == EAFNOSUPPORT,
	      "r=%d errno %s", r, ename(errno));

	int f = socket(AF_INET, SOCK_STREAM, 0);
	r = listen(f, 4);
	CHECK("listen without bind picks a port", r == 0 && local_port(f) != 0, "r=%d errno %s port %u", r,
	      ename(errno), local_port(f));
	int g = tcp_connect(SELF_IP, local_port(f));
	CHECK("and that port takes connections", g >= 0, "errno %s", ename(errno));

	errno = 4321;
	int h = socket(AF_INET, SOCK_STREAM, 0);
	r = bind4(h, 0, 0);
	CHECK("successful socket+bind leave errno alone", r == 0 && errno == 4321, "errno %d", errno);
	close(a);
	close(b);
	close(d);
	close(e);
	close(f);
	close(g);
	close(h);
	return finish();
}
