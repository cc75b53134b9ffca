/* What is not moved: UDP and raw sockets are refused (never a host socket), AF_UNIX and
 * AF_NETLINK sockets are the kernel's, untouched. */
#include <linux/netlink.h>
#include <stddef.h>
#include <sys/un.h>

#include "ztest.h"

int main(void)
{
	watchdog(30);
	int r = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK("AF_INET SOCK_DGRAM: EPROTONOSUPPORT", r < 0 && errno == EPROTONOSUPPORT, "r=%d errno %s",
	      r, ename(errno));
	r = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK("AF_INET6 SOCK_DGRAM: EPROTONOSUPPORT", r < 0 && errno == EPROTONOSUPPORT, "r=%d errno %s",
	      r, ename(errno));
	r = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	CHECK("AF_INET SOCK_RAW: EPROTONOSUPPORT", r < 0 && errno == EPROTONOSUPPORT, "r=%d errno %s", r,
	      ename(errno));
	r = socket(AF_INET, SOCK_STREAM, IPPROTO_UDP);
	CHECK("SOCK_STREAM with IPPROTO_UDP: EPROTONOSUPPORT", r < 0 && errno == EPROTONOSUPPORT,
	      "r=%d errno %s", r, ename(errno));
	r = socket(AF_INET, SOCK_STREAM, 262 /* IPPROTO_MPTCP */);
	CHECK("IPPROTO_MPTCP: EPROTONOSUPPORT (programs fall back to TCP)",
	      r < 0 && errno == EPROTONOSUPPORT, "r=%d errno %s", r, ename(errno));
	r = socket(AF_INET, SOCK_STREAM | 0x100000, 0);
	CHECK("unknown type flags: EINVAL", r < 0 && errno == EINVAL, "r=%d errno %s", r, ename(errno));
	int t = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	CHECK("SOCK_STREAM with IPPROTO_TCP is fine", t >= 0, "errno %s", ename(errno));
	close(t);

	int sp[2];
	r = socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
	CHECK("AF_UNIX socketpair", r == 0 && write(sp[0], "u", 1) == 1, "errno %s", ename(errno));
	int v = -1;
	socklen_t vl = sizeof v;
	getsockopt(sp[1], SOL_SOCKET, SO_DOMAIN, &v, &vl);
	CHECK("AF_UNIX socket: SO_DOMAIN AF_UNIX", v == AF_UNIX, "%d", v);
	v = 0;
	r = setsockopt(sp[1], IPPROTO_TCP, 1, &v, sizeof v);
	CHECK("AF_UNIX socket: TCP options refused by the kernel (EOPNOTSUPP)", r < 0 && errno == EOPNOTSUPP,
	      "r=%d errno %s", r, ename(errno));
	close(sp[0]);
	close(sp[1]);

	int u = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path + 1, sizeof sun.sun_path - 1, "ztest-refuse-%d", (int)getpid());
	socklen_t ul = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sun.sun_path + 1));
	r = bind(u, (struct sockaddr *)&sun, ul);
	r = r ? r : listen(u, 1);
	int uc = socket(AF_UNIX, SOCK_STREAM, 0);
	r = r ? r : connect(uc, (struct sockaddr *)&sun, ul);
	int ua = r ? -1 : accept(u, NULL, NULL);
	struct sockaddr_un got;
	socklen_t gl = sizeof got;
	getsockname(u, (struct sockaddr *)&got, &gl);
	CHECK("AF_UNIX bind/listen/connect/accept and getsockname", ua >= 0 && gl == ul &&
									  got.sun_family == AF_UNIX &&
									  memcmp(&got, &sun, ul) == 0,
	      "r=%d errno %s", r, ename(errno));
	close(ua);
	close(uc);
	close(u);

	int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	CHECK("AF_NETLINK socket", nl >= 0, "errno %s", ename(errno));
	struct sockaddr_nl snl = {.nl_family = AF_NETLINK};
	r = bind(nl, (struct sockaddr *)&snl, sizeof snl);
	CHECK("AF_NETLINK bind", r == 0, "errno %s", ename(errno));
	close(nl);
	return finish();
}
