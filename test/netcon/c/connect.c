/* connect(): blocking and nonblocking, outcomes through SO_ERROR and the return value. */
#include "ztest.h"

static int so_error(int fd)
{
	int v = -1;
	socklen_t len = sizeof v;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &len) != 0)
		return -errno;
	return v;
}

/* A failed connect wakes a poller with POLLERR|POLLHUP, and POLLOUT follows: the service's close
 * wakes us before the kernel has freed the stuffing it left unread, so for an instant the fd is
 * not yet writable (TCP would show all three at once). Returns the events after both. */
static int wait_failed(int fd, int ms)
{
	int ev = wait_fd(fd, POLLOUT, ms);
	/* poll returns at once while POLLHUP holds, so look again until POLLOUT joins (bounded). */
	for (int64_t t0 = now_ms(); (ev & (POLLERR | POLLHUP)) && !(ev & POLLOUT) && now_ms() - t0 < 1000;) {
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
		ev |= wait_fd(fd, POLLOUT, 0);
	}
	return ev;
}

static void blocking_echo(void)
{
	int fd = tcp_connect(PEER_IP, PORT_ECHO);
	CHECK("blocking connect to echo", fd >= 0, "errno %s", ename(errno));
	if (fd < 0)
		return;
	CHECK("blocking connect: SO_ERROR 0", so_error(fd) == 0, "SO_ERROR %d", so_error(fd));
	CHECK("blocking connect: writable at once", wait_fd(fd, POLLOUT, 0) & POLLOUT, "not writable");
	struct sockaddr_in a = sin4(PEER_IP, PORT_ECHO);
	int r = connect(fd, (struct sockaddr *)&a, sizeof a);
	CHECK("connect again on a connected socket: EISCONN", r < 0 && errno == EISCONN, "r=%d errno %s",
	      r, ename(errno));
	char buf[6] = {0};
	CHECK("blocking connect: echo", write_all(fd, "hello", 5) == 0 && read_full(fd, buf, 5) == 5 &&
					       memcmp(buf, "hello", 5) == 0, "got '%s'", buf);
	close(fd);
}

static void nonblocking_echo(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = sin4(PEER_IP, PORT_ECHO);
	int r = connect(fd, (struct sockaddr *)&a, sizeof a);
	CHECK("nonblocking connect: EINPROGRESS", r < 0 && errno == EINPROGRESS, "r=%d errno %s", r,
	      ename(errno));
	int ev = wait_fd(fd, POLLOUT, 5000);
	CHECK("nonblocking connect: writable after the handshake", ev == POLLOUT, "revents 0x%x", ev);
	CHECK("nonblocking connect: SO_ERROR 0", so_error(fd) == 0, "SO_ERROR %d", so_error(fd));
	r = connect(fd, (struct sockaddr *)&a, sizeof a);
	CHECK("first connect after the handshake returns 0", r == 0, "r=%d errno %s", r, ename(errno));
	r = connect(fd, (struct sockaddr *)&a, sizeof a);
	CHECK("then EISCONN", r < 0 && errno == EISCONN, "r=%d errno %s", r, ename(errno));
	char buf[4];
	set_nonblocking(fd, 0);
	CHECK("nonblocking connect: echo", write_all(fd, "abc", 3) == 0 && read_full(fd, buf, 3) == 3 &&
						  memcmp(buf, "abc", 3) == 0, "bad echo");
	close(fd);
}

/* The record still says "connecting" when the program has filled the connected fd before asking
 * anything: the library must not take "not writable" for "still connecting". */
static void filled_before_asking(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = sin4(PEER_IP, PORT_HOLD);
	connect(fd, (struct sockaddr *)&a, sizeof a);
	wait_fd(fd, POLLOUT, 5000);
	static char buf[65536];
	size_t total = 0;
	for (int quiet = 0; quiet < 3;) {
		ssize_t w = write(fd, buf, sizeof buf);
		if (w > 0) {
			total += (size_t)w;
			quiet = 0;
		} else if (!(wait_fd(fd, POLLOUT, 200) & POLLOUT)) {
			quiet++;
		}
	}
	CHECK("filled fd: not writable", wait_fd(fd, POLLOUT, 0) == 0, "writable after %zu bytes", total);
	struct sockaddr_in pn;
	socklen_t len = sizeof pn;
	int r = getpeername(fd, (struct sockaddr *)&pn, &len);
	CHECK("filled fd: getpeername still knows the peer", r == 0 && ntohs(pn.sin_port) == PORT_HOLD,
	      "r=%d errno %s", r, ename(errno));
	r = connect(fd, (struct sockaddr *)&a, sizeof a);
	CHECK("filled fd: connect() returns 0 the first time after the handshake", r == 0,
	      "r=%d errno %s", r, ename(errno));
	r = connect(fd, (struct sockaddr *)&a, sizeof a);
	CHECK("filled fd: then EISCONN", r < 0 && errno == EISCONN, "r=%d errno %s", r, ename(errno));
	close(fd);
}

static void refused(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = sin4(PEER_IP, PORT_CLOSED);
	int r = connect(fd, (struct sockaddr *)&a, sizeof a);
	CHECK("refused, nonblocking: EINPROGRESS", r < 0 && errno == EINPROGRESS, "r=%d errno %s", r,
	      ename(errno));
	int ev = wait_failed(fd, 5000);
	CHECK("refused: POLLOUT|POLLERR|POLLHUP", (ev & POLLOUT) && (ev & (POLLERR | POLLHUP)),
	      "revents 0x%x", ev);
	int e = so_error(fd);
	CHECK("refused: SO_ERROR ECONNREFUSED", e == ECONNREFUSED, "SO_ERROR %d", e);
	e = so_error(fd);
	CHECK("refused: SO_ERROR read once, then 0", e == 0, "SO_ERROR %d", e);
	ev = wait_fd(fd, POLLIN | POLLOUT, 0);
	CHECK("refused: POLLERR gone once SO_ERROR is read, as TCP", !(ev & POLLERR), "revents 0x%x", ev);
	char c;
	ssize_t rd = read(fd, &c, 1);
	CHECK("refused: then read() gives 0, as TCP", rd == 0, "read %zd errno %s", rd, ename(errno));
	close(fd);

	errno = 0;
	fd = tcp_connect(PEER_IP, PORT_CLOSED);
	CHECK("refused, blocking: ECONNREFUSED", fd < 0 && errno == ECONNREFUSED, "fd=%d errno %s", fd,
	      ename(errno));

	/* Linux lets the program connect the same socket again after a failure. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	r = connect(fd, (struct sockaddr *)&a, sizeof a);
	CHECK("retry: first attempt refused", r < 0 && errno == ECONNREFUSED, "r=%d errno %s", r,
	      ename(errno));
	struct sockaddr_in echo = sin4(PEER_IP, PORT_ECHO);
	r = connect(fd, (struct sockaddr *)&echo, sizeof echo);
	char buf[3];
	CHECK("retry on the same socket connects", r == 0 && write_all(fd, "xy", 2) == 0 &&
						       read_full(fd, buf, 2) == 2,
	      "r=%d errno %s", r, ename(errno));
	close(fd);
}

/* 10.9.0.3 does not exist: ARP fails after about 3 s. A nonblocking and a blocking attempt run
 * side by side. While the first waits, the fd must not look writable. */
static void unreachable(void)
{
	int nb = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = sin4(DEAD_IP, 80);
	int r = connect(nb, (struct sockaddr *)&a, sizeof a);
	CHECK("unreachable, nonblocking: EINPROGRESS", r < 0 && errno == EINPROGRESS, "r=%d errno %s",
	      r, ename(errno));
	int ev = wait_fd(nb, POLLIN | POLLOUT, 0);
	CHECK("connecting fd not writable right after connect", ev == 0, "revents 0x%x", ev);
	r = connect(nb, (struct sockaddr *)&a, sizeof a);
	CHECK("second connect while connecting: EALREADY", r < 0 && errno == EALREADY, "r=%d errno %s",
	      r, ename(errno));
	struct sockaddr_in peer;
	socklen_t plen = sizeof peer;
	r = getpeername(nb, (struct sockaddr *)&peer, &plen);
	CHECK("getpeername while connecting: ENOTCONN", r < 0 && errno == ENOTCONN, "r=%d errno %s", r,
	      ename(errno));
	int64_t t0 = now_ms();
	errno = 0;
	int fd = tcp_connect(DEAD_IP, 80);
	int e = errno;
	int64_t dt = now_ms() - t0;
	CHECK("unreachable, blocking: EHOSTUNREACH", fd < 0 && e == EHOSTUNREACH, "fd=%d errno %s", fd,
	      ename(e));
	CHECK("unreachable, blocking: took the ARP time", dt >= 1000 && dt < 15000, "%lld ms",
	      (long long)dt);
	ev = wait_failed(nb, 10000);
	CHECK("unreachable, nonblocking: POLLOUT|POLLERR", (ev & POLLOUT) && (ev & (POLLERR | POLLHUP)),
	      "revents 0x%x", ev);
	e = so_error(nb);
	CHECK("unreachable, nonblocking: SO_ERROR EHOSTUNREACH", e == EHOSTUNREACH, "SO_ERROR %d", e);
	close(nb);
}

static void bad_arguments(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = sin4(PEER_IP, PORT_ECHO);
	int r = connect(fd, (struct sockaddr *)&a, sizeof a - 1);
	CHECK("connect with a short addrlen: EINVAL", r < 0 && errno == EINVAL, "r=%d errno %s", r,
	      ename(errno));
	struct sockaddr_in6 a6 = sin6m(PEER_IP, PORT_ECHO);
	r = connect(fd, (struct sockaddr *)&a6, sizeof a6);
	CHECK("AF_INET6 address on an AF_INET socket: EAFNOSUPPORT", r < 0 && errno == EAFNOSUPPORT,
	      "r=%d errno %s", r, ename(errno));
	struct sockaddr un = {.sa_family = AF_UNSPEC};
	r = connect(fd, &un, sizeof un);
	CHECK("AF_UNSPEC on an unconnected socket: 0", r == 0, "r=%d errno %s", r, ename(errno));
	errno = 1234;
	fd = tcp_connect(PEER_IP, PORT_DISCARD);
	CHECK("a successful connect leaves errno alone", fd >= 0 && errno == 1234, "errno %d", errno);
	close(fd);
}

int main(void)
{
	watchdog(60);
	blocking_echo();
	nonblocking_echo();
	filled_before_asking();
	refused();
	bad_arguments();
	unreachable();
	return finish();
}
