/* getsockopt()/setsockopt() on a TCP socket as the kernel answers them. */
#include <netinet/tcp.h>

#include "ztest.h"

static int get_int(int fd, int level, int name, int *v)
{
	socklen_t len = sizeof *v;
	*v = -12345;
	return getsockopt(fd, level, name, v, &len);
}

static int set_int(int fd, int level, int name, int v)
{
	return setsockopt(fd, level, name, &v, sizeof v);
}

int main(void)
{
	watchdog(60);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int v, r;
	r = get_int(fd, SOL_SOCKET, SO_TYPE, &v);
	CHECK("SO_TYPE SOCK_STREAM", r == 0 && v == SOCK_STREAM, "r=%d v=%d", r, v);
	r = get_int(fd, SOL_SOCKET, SO_DOMAIN, &v);
	CHECK("SO_DOMAIN AF_INET", r == 0 && v == AF_INET, "r=%d v=%d", r, v);
	r = get_int(fd, SOL_SOCKET, SO_PROTOCOL, &v);
	CHECK("SO_PROTOCOL IPPROTO_TCP", r == 0 && v == IPPROTO_TCP, "r=%d v=%d", r, v);
	r = get_int(fd, SOL_SOCKET, SO_ACCEPTCONN, &v);
	CHECK("SO_ACCEPTCONN 0 before listen", r == 0 && v == 0, "r=%d v=%d", r, v);
	int fd6 = socket(AF_INET6, SOCK_STREAM, 0);
	r = get_int(fd6, SOL_SOCKET, SO_DOMAIN, &v);
	CHECK("SO_DOMAIN AF_INET6 for an AF_INET6 socket", r == 0 && v == AF_INET6, "r=%d v=%d", r, v);
	r = get_int(fd6, IPPROTO_IPV6, IPV6_V6ONLY, &v);
	CHECK("IPV6_V6ONLY 0 by default", r == 0 && v == 0, "r=%d v=%d", r, v);

	r = set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);
	CHECK("TCP_NODELAY set", r == 0, "errno %s", ename(errno));
	r = get_int(fd, IPPROTO_TCP, TCP_NODELAY, &v);
	CHECK("TCP_NODELAY reads back 1", r == 0 && v == 1, "r=%d v=%d errno %s", r, v, ename(errno));
	r = set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
	CHECK("SO_KEEPALIVE set", r == 0, "errno %s", ename(errno));
	r = get_int(fd, SOL_SOCKET, SO_KEEPALIVE, &v);
	CHECK("SO_KEEPALIVE reads back 1", r == 0 && v == 1, "r=%d v=%d", r, v);
	r = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
	CHECK("SO_REUSEADDR set", r == 0, "errno %s", ename(errno));
	r = get_int(fd, SOL_SOCKET, SO_REUSEADDR, &v);
	CHECK("SO_REUSEADDR reads back 1", r == 0 && v == 1, "r=%d v=%d", r, v);
	r = set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1);
	CHECK("SO_REUSEPORT set (an AF_UNIX fd would refuse it)", r == 0, "errno %s", ename(errno));
	r = set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, 30);
	CHECK("TCP_KEEPIDLE set", r == 0, "errno %s", ename(errno));
	r = get_int(fd, SOL_SOCKET, SO_RCVBUF, &v);
	CHECK("SO_RCVBUF readable", r == 0 && v > 0, "r=%d v=%d", r, v);
	struct linger lg = {1, 5};
	r = setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	CHECK("SO_LINGER set", r == 0, "errno %s", ename(errno));
	struct linger lg2 = {0, 0};
	socklen_t len = sizeof lg2;
	r = getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg2, &len);
	CHECK("SO_LINGER reads back {1, 5}", r == 0 && len == sizeof lg2 && lg2.l_onoff == 1 &&
						     lg2.l_linger == 5,
	      "r=%d {%d, %d}", r, lg2.l_onoff, lg2.l_linger);
	struct timeval tv = {7, 0}, tv2 = {0, 0};
	r = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	len = sizeof tv2;
	r = r ? r : getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv2, &len);
	CHECK("SO_RCVTIMEO set and read on the fd", r == 0 && tv2.tv_sec == 7, "r=%d sec %ld", r,
	      (long)tv2.tv_sec);

	r = get_int(fd, IPPROTO_TCP, 9999, &v);
	CHECK("unknown TCP option get: ENOPROTOOPT", r < 0 && errno == ENOPROTOOPT, "r=%d errno %s", r,
	      ename(errno));
	r = set_int(fd, IPPROTO_TCP, 9999, 1);
	CHECK("unknown TCP option set: ENOPROTOOPT", r < 0 && errno == ENOPROTOOPT, "r=%d errno %s", r,
	      ename(errno));
	r = get_int(fd, SOL_SOCKET, 9999, &v);
	CHECK("unknown SOL_SOCKET option: ENOPROTOOPT", r < 0 && errno == ENOPROTOOPT, "r=%d errno %s",
	      r, ename(errno));
	r = set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
	CHECK("IPv6 option on an AF_INET socket: ENOPROTOOPT", r < 0 && errno == ENOPROTOOPT,
	      "r=%d errno %s", r, ename(errno));

	/* Lengths, as the kernel: a short get is truncated, a short int set is EINVAL. */
	unsigned char b[4] = {0xaa, 0xaa, 0xaa, 0xaa};
	len = 2;
	r = getsockopt(fd, SOL_SOCKET, SO_TYPE, b, &len);
	CHECK("SO_TYPE into 2 bytes: 2 bytes written", r == 0 && len == 2 && b[0] == SOCK_STREAM &&
							 b[2] == 0xaa,
	      "r=%d len %u", r, len);
	len = (socklen_t)-1;
	r = getsockopt(fd, SOL_SOCKET, SO_TYPE, b, &len);
	CHECK("negative optlen: EINVAL", r < 0 && errno == EINVAL, "r=%d errno %s", r, ename(errno));
	v = 1;
	r = setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, 2);
	CHECK("TCP_NODELAY set with optlen 2: EINVAL", r < 0 && errno == EINVAL, "r=%d errno %s", r,
	      ename(errno));

	int l = tcp_listen(0, 0, NULL);
	r = get_int(l, SOL_SOCKET, SO_ACCEPTCONN, &v);
	CHECK("SO_ACCEPTCONN 1 on a listener", r == 0 && v == 1, "r=%d v=%d", r, v);
	int c = tcp_connect(PEER_IP, PORT_ECHO);
	r = set_int(c, IPPROTO_TCP, TCP_NODELAY, 1);
	r = r ? r : get_int(c, IPPROTO_TCP, TCP_NODELAY, &v);
	CHECK("TCP_NODELAY on a connected socket", r == 0 && v == 1, "r=%d v=%d errno %s", r, v,
	      ename(errno));
	r = get_int(c, SOL_SOCKET, SO_ERROR, &v);
	CHECK("SO_ERROR 0 on a healthy connection", r == 0 && v == 0, "r=%d v=%d", r, v);
	close(c);
	close(l);
	close(fd);
	close(fd6);
	/* TCP_INFO and TCP_CONGESTION, which iperf3 reads on every connection */
	int ti_fd = tcp_connect(PEER_IP, PORT_ECHO);
	struct tcp_info ti;
	memset(&ti, 0xee, sizeof ti);
	socklen_t til = sizeof ti;
	r = getsockopt(ti_fd, IPPROTO_TCP, TCP_INFO, &ti, &til);
	CHECK("TCP_INFO of a connected socket: ESTABLISHED, an MSS, a window",
	      r == 0 && til == sizeof ti && ti.tcpi_state == 1 && ti.tcpi_snd_mss > 500 && ti.tcpi_snd_cwnd > 0,
	      "r=%d errno %s len %u state %u mss %u cwnd %u", r, ename(errno), (unsigned)til, ti.tcpi_state,
	      ti.tcpi_snd_mss, ti.tcpi_snd_cwnd);
	char ccname[16] = {0};
	socklen_t ccl = sizeof ccname;
	r = getsockopt(ti_fd, IPPROTO_TCP, TCP_CONGESTION, ccname, &ccl);
	CHECK("TCP_CONGESTION names the algorithm (the fixture stack's default)",
	      r == 0 && ccl == sizeof ccname && strcmp(ccname, "cubic") == 0, "r=%d errno %s '%s'", r, ename(errno),
	      ccname);
	/* a program picks its own, as with the kernel: bbr, then reno; unknown names are ENOENT */
	r = setsockopt(ti_fd, IPPROTO_TCP, TCP_CONGESTION, "bbr", 3);
	CHECK("TCP_CONGESTION set to bbr (no NUL, as iperf3 -C passes it)", r == 0, "errno %s", ename(errno));
	memset(ccname, 0, sizeof ccname);
	ccl = sizeof ccname;
	r = getsockopt(ti_fd, IPPROTO_TCP, TCP_CONGESTION, ccname, &ccl);
	CHECK("TCP_CONGESTION reads back bbr", r == 0 && strcmp(ccname, "bbr") == 0, "r=%d errno %s '%s'", r,
	      ename(errno), ccname);
	char msg[3000], back[3000];
	for (size_t i = 0; i < sizeof msg; i++)
		msg[i] = (char)(i * 7 + 1);
	r = write_all(ti_fd, msg, sizeof msg);
	size_t got = r == 0 ? read_full(ti_fd, back, sizeof back) : 0;
	CHECK("the connection carries data both ways under bbr", got == sizeof back && memcmp(msg, back, got) == 0,
	      "write %d, read %zu", r, got);
	r = setsockopt(ti_fd, IPPROTO_TCP, TCP_CONGESTION, "westwood", 9);
	CHECK("TCP_CONGESTION with a name the stack has not: ENOENT", r == -1 && errno == ENOENT, "r=%d errno %s", r,
	      ename(errno));
	r = setsockopt(ti_fd, IPPROTO_TCP, TCP_CONGESTION, "reno", 5);
	memset(ccname, 0, sizeof ccname);
	ccl = sizeof ccname;
	int r2 = getsockopt(ti_fd, IPPROTO_TCP, TCP_CONGESTION, ccname, &ccl);
	CHECK("TCP_CONGESTION reno, and reads back reno", r == 0 && r2 == 0 && strcmp(ccname, "reno") == 0,
	      "r=%d r2=%d errno %s '%s'", r, r2, ename(errno), ccname);
	close(ti_fd);
	int pre = socket(AF_INET, SOCK_STREAM, 0);
	r = setsockopt(pre, IPPROTO_TCP, TCP_CONGESTION, "bbr", 4);
	memset(ccname, 0, sizeof ccname);
	ccl = sizeof ccname;
	r2 = getsockopt(pre, IPPROTO_TCP, TCP_CONGESTION, ccname, &ccl);
	CHECK("TCP_CONGESTION set before connect is kept", r == 0 && r2 == 0 && strcmp(ccname, "bbr") == 0,
	      "r=%d r2=%d errno %s '%s'", r, r2, ename(errno), ccname);
	close(pre);
	return finish();
}
