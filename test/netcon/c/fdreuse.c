/* fd numbers that change meaning behind the library's back (dup, dup2, close_range) never make it
 * misidentify an fd, and a dup of a socket of ours is still ours, with its family. */
#include <sys/syscall.h>
#include <sys/un.h>

#include "ztest.h"

static int domain_of(int fd)
{
	int v = -1;
	socklen_t len = sizeof v;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) != 0)
		return -errno;
	return v;
}

int main(void)
{
	watchdog(30);
	int s6 = socket(AF_INET6, SOCK_STREAM, 0);
	int d = dup(s6);
	CHECK("dup of an AF_INET6 socket: SO_DOMAIN AF_INET6", domain_of(d) == AF_INET6, "%d", domain_of(d));
	struct sockaddr_in6 any = sin6m(0, 0);
	int r = bind(d, (struct sockaddr *)&any, sizeof any);
	struct sockaddr_in6 n1, n2;
	socklen_t l1 = sizeof n1, l2 = sizeof n2;
	getsockname(s6, (struct sockaddr *)&n1, &l1);
	getsockname(d, (struct sockaddr *)&n2, &l2);
	CHECK("bind through the dup shows through the original", r == 0 && n1.sin6_family == AF_INET6 &&
									 n1.sin6_port != 0 && n1.sin6_port == n2.sin6_port,
	      "r=%d errno %s ports %u/%u", r, ename(errno), ntohs(n1.sin6_port), ntohs(n2.sin6_port));
	close(d);
	CHECK("closing the dup leaves the original ours", domain_of(s6) == AF_INET6, "%d", domain_of(s6));

	int sp[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
	int t = socket(AF_INET, SOCK_STREAM, 0);
	dup2(sp[0], t);
	CHECK("dup2 of a unix socket over ours: now AF_UNIX", domain_of(t) == AF_UNIX, "%d", domain_of(t));
	int u = socket(AF_INET, SOCK_STREAM, 0);
	r = (int)syscall(SYS_close_range, u, u, 0);
	int w = socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0 ? sp[0] : -1;
	CHECK("close_range, then a unix socket on the same number: AF_UNIX",
	      r == 0 && w == u && domain_of(w) == AF_UNIX, "r=%d w=%d u=%d domain %d", r, w, u, domain_of(w));
	int x = socket(AF_INET, SOCK_STREAM, 0);
	close(x);
	int pf[2];
	r = pipe(pf);
	CHECK("a pipe on a number that was ours: ENOTSOCK", r == 0 && pf[0] == x && domain_of(x) == -ENOTSOCK,
	      "r=%d fd %d/%d domain %d", r, pf[0], x, domain_of(x));
	return finish();
}
