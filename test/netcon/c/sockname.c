/* getsockname()/getpeername() for AF_INET and for AF_INET6 sockets, which are dual-stack
 * sockets on an IPv4-only host: every name is a v4-mapped sockaddr_in6. */
#include "ztest.h"

static int is_mapped(const struct sockaddr_in6 *a, uint32_t ip, uint16_t port)
{
	struct sockaddr_in6 want = sin6m(ip, port);
	return a->sin6_family == AF_INET6 && memcmp(&a->sin6_addr, &want.sin6_addr, 16) == 0 &&
	       (port == 0 || a->sin6_port == htons(port));
}

static void v6(void)
{
	int l = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 any = sin6m(0, 0);
	int r = bind(l, (struct sockaddr *)&any, sizeof any);
	r = r ? r : listen(l, 8);
	struct sockaddr_in6 ln;
	socklen_t len = sizeof ln;
	r = r ? r : getsockname(l, (struct sockaddr *)&ln, &len);
	REQUIRE("AF_INET6 listener on [::]:0", r == 0 && len == sizeof ln && is_mapped(&ln, 0, 0) &&
						      ln.sin6_port != 0,
		"r=%d errno %s len %u family %d", r, ename(errno), len, ln.sin6_family);
	uint16_t port = ntohs(ln.sin6_port);

	int c6 = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 to = sin6m(SELF_IP, port);
	r = connect(c6, (struct sockaddr *)&to, sizeof to);
	CHECK("AF_INET6 connect to ::ffff:10.9.0.1", r == 0, "errno %s", ename(errno));
	struct sockaddr_in6 pn, cn;
	len = sizeof pn;
	r = getpeername(c6, (struct sockaddr *)&pn, &len);
	CHECK("AF_INET6 client: getpeername ::ffff:10.9.0.1:port",
	      r == 0 && len == sizeof pn && is_mapped(&pn, SELF_IP, port), "r=%d len %u family %d", r, len,
	      pn.sin6_family);
	len = sizeof cn;
	r = getsockname(c6, (struct sockaddr *)&cn, &len);
	CHECK("AF_INET6 client: getsockname ::ffff:10.9.0.1:ephemeral",
	      r == 0 && is_mapped(&cn, SELF_IP, 0) && cn.sin6_port != 0, "r=%d family %d", r,
	      cn.sin6_family);
	struct sockaddr_in6 from;
	len = sizeof from;
	int a = accept(l, (struct sockaddr *)&from, &len);
	CHECK("accept on the AF_INET6 listener: a mapped peer",
	      a >= 0 && len == sizeof from && is_mapped(&from, SELF_IP, ntohs(cn.sin6_port)),
	      "fd %d len %u family %d", a, len, from.sin6_family);
	int v = -1;
	socklen_t vl = sizeof v;
	getsockopt(a, SOL_SOCKET, SO_DOMAIN, &v, &vl);
	CHECK("accepted from an AF_INET6 listener: SO_DOMAIN AF_INET6", v == AF_INET6, "%d", v);
	struct sockaddr_in6 an;
	len = sizeof an;
	getsockname(a, (struct sockaddr *)&an, &len);
	CHECK("accepted: getsockname ::ffff:10.9.0.1:port", is_mapped(&an, SELF_IP, port), "family %d",
	      an.sin6_family);

	int c4 = tcp_connect(SELF_IP, port);
	CHECK("AF_INET client to the AF_INET6 listener", c4 >= 0, "errno %s", ename(errno));
	int a4 = accept(l, NULL, NULL);
	struct sockaddr_storage ss;
	len = sizeof ss;
	getpeername(a4, (struct sockaddr *)&ss, &len);
	CHECK("its peer, seen from the AF_INET6 side, is mapped",
	      a4 >= 0 && ss.ss_family == AF_INET6 && len == sizeof(struct sockaddr_in6), "family %d len %u",
	      ss.ss_family, len);

	int x = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 real6;
	memset(&real6, 0, sizeof real6);
	real6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::1", &real6.sin6_addr);
	real6.sin6_port = htons(80);
	r = connect(x, (struct sockaddr *)&real6, sizeof real6);
	CHECK("connect to a real IPv6 address: ENETUNREACH", r < 0 && errno == ENETUNREACH,
	      "r=%d errno %s", r, ename(errno));
	r = bind(x, (struct sockaddr *)&real6, sizeof real6);
	CHECK("bind a real IPv6 address: EADDRNOTAVAIL", r < 0 && errno == EADDRNOTAVAIL, "r=%d errno %s",
	      r, ename(errno));
	r = bind(x, (struct sockaddr *)&any, 20);
	CHECK("AF_INET6 bind with addrlen < 24: EINVAL", r < 0 && errno == EINVAL, "r=%d errno %s", r,
	      ename(errno));

	/* IPV6_V6ONLY: [::] then serves no IPv4 and does not take the IPv4 port. */
	int y = socket(AF_INET6, SOCK_STREAM, 0);
	int one = 1;
	r = setsockopt(y, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	CHECK("IPV6_V6ONLY set", r == 0, "errno %s", ename(errno));
	v = 0;
	vl = sizeof v;
	getsockopt(y, IPPROTO_IPV6, IPV6_V6ONLY, &v, &vl);
	CHECK("IPV6_V6ONLY reads back 1", v == 1, "%d", v);
	struct sockaddr_in6 yport = sin6m(0, port);
	r = bind(y, (struct sockaddr *)&yport, sizeof yport);
	CHECK("v6-only [::] on a port IPv4 uses: allowed (no IPv4 conflict)", r == 0, "r=%d errno %s", r,
	      ename(errno));
	r = listen(y, 4);
	CHECK("v6-only listener listens", r == 0, "errno %s", ename(errno));
	struct sockaddr_in6 mapped = sin6m(SELF_IP, port);
	int z = socket(AF_INET6, SOCK_STREAM, 0);
	setsockopt(z, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	r = connect(z, (struct sockaddr *)&mapped, sizeof mapped);
	CHECK("v6-only connect to a mapped address: ENETUNREACH", r < 0 && errno == ENETUNREACH,
	      "r=%d errno %s", r, ename(errno));
	close(a);
	close(a4);
	close(c4);
	close(c6);
	close(l);
	close(x);
	close(y);
	close(z);
}

static void v4(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in pn;
	socklen_t len = sizeof pn;
	int r = getpeername(s, (struct sockaddr *)&pn, &len);
	CHECK("getpeername unconnected: ENOTCONN", r < 0 && errno == ENOTCONN, "r=%d errno %s", r,
	      ename(errno));
	close(s);
	int c = tcp_connect(PEER_IP, PORT_ECHO);
	len = sizeof pn;
	r = getpeername(c, (struct sockaddr *)&pn, &len);
	CHECK("AF_INET getpeername 10.9.0.2:7",
	      r == 0 && len == sizeof pn && pn.sin_family == AF_INET && pn.sin_addr.s_addr == htonl(PEER_IP) &&
		      ntohs(pn.sin_port) == PORT_ECHO,
	      "r=%d %s:%u", r, inet_ntoa(pn.sin_addr), ntohs(pn.sin_port));
	struct sockaddr_in sn;
	len = sizeof sn;
	r = getsockname(c, (struct sockaddr *)&sn, &len);
	CHECK("AF_INET getsockname 10.9.0.1:ephemeral",
	      r == 0 && sn.sin_addr.s_addr == htonl(SELF_IP) && sn.sin_port != 0, "r=%d %s:%u", r,
	      inet_ntoa(sn.sin_addr), ntohs(sn.sin_port));
	char small[6];
	memset(small, 0x55, sizeof small);
	len = 6;
	r = getpeername(c, (struct sockaddr *)small, &len);
	CHECK("getpeername into 6 bytes: truncated, full length reported",
	      r == 0 && len == sizeof(struct sockaddr_in) && small[0] == AF_INET, "r=%d len %u", r, len);
	len = (socklen_t)-1;
	r = getsockname(c, (struct sockaddr *)&sn, &len);
	CHECK("negative length: EINVAL", r < 0 && errno == EINVAL, "r=%d errno %s", r, ename(errno));
	close(c);
}

int main(void)
{
	watchdog(60);
	v4();
	v6();
	return finish();
}
