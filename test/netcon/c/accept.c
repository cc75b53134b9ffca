/* accept()/accept4(): flags apply to the new fd only, addresses, truncation, timeouts. */
#include "ztest.h"

static int fl(int fd)
{
	return fcntl(fd, F_GETFL) & O_NONBLOCK;
}

static int cloexec(int fd)
{
	return fcntl(fd, F_GETFD) & FD_CLOEXEC;
}

int main(void)
{
	watchdog(60);
	uint16_t port = 0;
	int l = tcp_listen(0, 0, &port);
	REQUIRE("listen on 0.0.0.0:0", l >= 0, "errno %s", ename(errno));
	CHECK("listen: an ephemeral port", port != 0, "port 0");

	int c1 = tcp_connect(SELF_IP, port);
	CHECK("connect to self", c1 >= 0, "errno %s", ename(errno));
	struct sockaddr_in peer;
	socklen_t plen = sizeof peer;
	int a1 = accept4(l, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
	CHECK("accept4(SOCK_NONBLOCK|SOCK_CLOEXEC)", a1 >= 0, "errno %s", ename(errno));
	CHECK("accept4: the new fd is nonblocking and close-on-exec", fl(a1) && cloexec(a1),
	      "O_NONBLOCK=%d FD_CLOEXEC=%d", fl(a1), cloexec(a1));
	CHECK("accept4: the listener keeps its flags", !fl(l) && !cloexec(l), "O_NONBLOCK=%d FD_CLOEXEC=%d",
	      fl(l), cloexec(l));
	struct sockaddr_in c1name;
	socklen_t c1len = sizeof c1name;
	getsockname(c1, (struct sockaddr *)&c1name, &c1len);
	CHECK("accept: peer address is the client's local address",
	      plen == sizeof peer && peer.sin_family == AF_INET && peer.sin_addr.s_addr == htonl(SELF_IP) &&
		      peer.sin_port == c1name.sin_port,
	      "len %u family %d %s:%u vs client port %u", plen, peer.sin_family, inet_ntoa(peer.sin_addr),
	      ntohs(peer.sin_port), ntohs(c1name.sin_port));
	struct sockaddr_in local;
	socklen_t llen = sizeof local;
	int r = getsockname(a1, (struct sockaddr *)&local, &llen);
	CHECK("accepted socket: getsockname is 10.9.0.1:<listening port>",
	      r == 0 && local.sin_addr.s_addr == htonl(SELF_IP) && ntohs(local.sin_port) == port,
	      "r=%d %s:%u", r, inet_ntoa(local.sin_addr), ntohs(local.sin_port));
	int v = -1;
	socklen_t vlen = sizeof v;
	getsockopt(a1, SOL_SOCKET, SO_ACCEPTCONN, &v, &vlen);
	CHECK("accepted socket: SO_ACCEPTCONN 0", v == 0, "%d", v);
	char buf[8];
	CHECK("accepted socket carries data", write_all(c1, "hi", 2) == 0 &&
						      wait_fd(a1, POLLIN, 5000) && read(a1, buf, sizeof buf) == 2,
	      "errno %s", ename(errno));

	set_nonblocking(l, 1);
	int c2 = tcp_connect(SELF_IP, port);
	wait_fd(l, POLLIN, 5000);
	char small[4];
	socklen_t slen = sizeof small;
	int a2 = accept(l, (struct sockaddr *)small, &slen);
	CHECK("plain accept on a nonblocking listener: a blocking fd", a2 >= 0 && !fl(a2) && !cloexec(a2),
	      "fd %d errno %s", a2, ename(errno));
	CHECK("accept: a short buffer is truncated, the full length reported",
	      slen == sizeof(struct sockaddr_in) && small[0] == AF_INET, "len %u", slen);
	r = accept(l, NULL, NULL);
	CHECK("accept with nothing waiting: EAGAIN", r < 0 && errno == EAGAIN, "r=%d errno %s", r,
	      ename(errno));
	r = accept4(l, NULL, NULL, 0x40000000);
	CHECK("accept4 with unknown flags: EINVAL", r < 0 && errno == EINVAL, "r=%d errno %s", r,
	      ename(errno));

	int c3 = tcp_connect(SELF_IP, port);
	wait_fd(l, POLLIN, 5000);
	int a3 = accept(l, NULL, NULL);
	CHECK("accept with NULL address", a3 >= 0, "errno %s", ename(errno));
	plen = sizeof peer;
	r = getpeername(a3, (struct sockaddr *)&peer, &plen);
	CHECK("getpeername of an accepted socket", r == 0 && peer.sin_addr.s_addr == htonl(SELF_IP),
	      "r=%d errno %s", r, ename(errno));

	set_nonblocking(l, 0);
	struct timeval tv = {0, 300000};
	setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	int64_t t0 = now_ms();
	r = accept(l, NULL, NULL);
	int64_t dt = now_ms() - t0;
	CHECK("blocking accept with SO_RCVTIMEO: EAGAIN after the timeout",
	      r < 0 && errno == EAGAIN && dt >= 250 && dt < 3000, "r=%d errno %s after %lld ms", r,
	      ename(errno), (long long)dt);

	int s = socket(AF_INET, SOCK_STREAM, 0);
	r = accept(s, NULL, NULL);
	CHECK("accept on a socket that does not listen: EINVAL", r < 0 && errno == EINVAL, "r=%d errno %s",
	      r, ename(errno));
	close(s);
	close(c1);
	close(c2);
	close(c3);
	close(a1);
	close(a2);
	close(a3);
	close(l);
	return finish();
}
