/* Socket calls made through syscall() (libuv did accept4 this way) are intercepted too; other
 * numbers pass through with their arguments intact. */
#include <sys/syscall.h>

#include "ztest.h"

int main(void)
{
	watchdog(30);
	long l = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	REQUIRE("syscall(SYS_socket)", l >= 0, "errno %s", ename(errno));
	int v = 0;
	socklen_t vl = sizeof v;
	getsockopt((int)l, SOL_SOCKET, SO_PROTOCOL, &v, &vl);
	CHECK("it is an intercepted TCP socket", v == IPPROTO_TCP, "SO_PROTOCOL %d", v);
	struct sockaddr_in a = sin4(SELF_IP, 0);
	socklen_t len = sizeof a;
	int r = bind((int)l, (struct sockaddr *)&a, sizeof a);
	r = r ? r : listen((int)l, 4);
	r = r ? r : getsockname((int)l, (struct sockaddr *)&a, &len);
	REQUIRE("listen", r == 0, "errno %s", ename(errno));

	long c = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	long cr = syscall(SYS_connect, c, &a, sizeof a);
	CHECK("syscall(SYS_connect) to self", c >= 0 && cr == 0, "c=%ld r=%ld errno %s", c, cr, ename(errno));
	struct sockaddr_in peer;
	socklen_t plen = sizeof peer;
	long s = syscall(SYS_accept4, l, &peer, &plen, SOCK_NONBLOCK);
	CHECK("syscall(SYS_accept4) with SOCK_NONBLOCK", s >= 0 && (fcntl((int)s, F_GETFL) & O_NONBLOCK) &&
								 !(fcntl((int)l, F_GETFL) & O_NONBLOCK),
	      "s=%ld errno %s", s, ename(errno));
	CHECK("syscall(SYS_accept4) fills the virtual peer address",
	      plen == sizeof peer && peer.sin_family == AF_INET && peer.sin_addr.s_addr == htonl(SELF_IP),
	      "len %u family %d", plen, peer.sin_family);
	long c2 = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	syscall(SYS_connect, c2, &a, sizeof a);
	long s2 = syscall(SYS_accept, l, NULL, NULL);
	CHECK("syscall(SYS_accept)", s2 >= 0, "errno %s", ename(errno));

	long pid = syscall(SYS_getpid);
	CHECK("syscall(SYS_getpid) passes through", pid == getpid(), "%ld", pid);
	int p[2];
	if (pipe(p) != 0)
		return 1;
	long w = syscall(SYS_write, p[1], "xyz", 3);
	char buf[4] = {0};
	long rd = syscall(SYS_read, p[0], buf, 3);
	CHECK("syscall(SYS_write/SYS_read) keep their arguments", w == 3 && rd == 3 && memcmp(buf, "xyz", 3) == 0,
	      "w=%ld r=%ld", w, rd);
	long bad = syscall(SYS_close, -1);
	CHECK("a failing syscall sets errno", bad == -1 && errno == EBADF, "r=%ld errno %s", bad, ename(errno));
	return finish();
}
