/* The fd's send buffer during and after a connect. The library shrinks it to the kernel's
 * minimum for the stuffing (a few bytes make the fd unwritable, instead of ~200 KB) and gives it
 * back once the fd shows connected: the program's own size, or the default. The real fd's value
 * is read with the raw syscall, past the hooks (the hooked getsockopt answers from the service). */
#include <sys/syscall.h>
#include <sys/wait.h>

#include "ztest.h"

static int real_sndbuf(int fd)
{
	int v = -1;
	socklen_t l = sizeof v;
	if (syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_SNDBUF, &v, &l) != 0)
		return -1;
	return v;
}

static int default_sndbuf(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0); /* not ours: the kernel's default */
	int v = real_sndbuf(fd);
	close(fd);
	return v;
}

/* Echo 1 MB through fd (a small buffer would still work, only slowly: this checks the data). */
static int echo_mb(int fd)
{
	static char out[1 << 20], in[1 << 20];
	for (size_t i = 0; i < sizeof out; i++)
		out[i] = (char)(i * 13);
	if (fork() == 0) {
		_exit(write_all(fd, out, sizeof out) == 0 ? 0 : 1);
	}
	size_t n = read_full(fd, in, sizeof in);
	int st = 0;
	wait(&st);
	return n == sizeof in && memcmp(in, out, sizeof in) == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(void)
{
	watchdog(60);
	int def = default_sndbuf();
	REQUIRE("the kernel's default send buffer is larger than its minimum", def > 4608, "%d", def);

	int fd = tcp_connect(PEER_IP, PORT_ECHO);
	REQUIRE("blocking connect", fd >= 0, "errno %s", ename(errno));
	int v = real_sndbuf(fd);
	CHECK("blocking connect: the default send buffer is back", v == def, "%d, default %d", v, def);
	CHECK("blocking connect: 1 MB echoes intact", echo_mb(fd), "mismatch");
	close(fd);

	fd = socket(AF_INET, SOCK_STREAM, 0);
	int want = 65536;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof want);
	struct sockaddr_in a = sin4(PEER_IP, PORT_ECHO);
	int r = connect(fd, (struct sockaddr *)&a, sizeof a);
	v = real_sndbuf(fd);
	CHECK("SO_SNDBUF set before connect: kept", r == 0 && v == 2 * want, "r=%d %d", r, v);
	close(fd);

	/* Nonblocking: the size comes back at the program's first call on the fd after it turns
	 * writable, here the usual SO_ERROR check. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	r = connect(fd, (struct sockaddr *)&a, sizeof a);
	CHECK("nonblocking connect: EINPROGRESS", r < 0 && errno == EINPROGRESS, "errno %s", ename(errno));
	int ev = wait_fd(fd, POLLOUT, 5000);
	int e = -1;
	socklen_t el = sizeof e;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
	v = real_sndbuf(fd);
	CHECK("nonblocking connect: writable, SO_ERROR 0, default send buffer", ev == POLLOUT && e == 0 && v == def,
	      "revents 0x%x SO_ERROR %d sndbuf %d", ev, e, v);
	set_nonblocking(fd, 0);
	CHECK("nonblocking connect: 1 MB echoes intact", echo_mb(fd), "mismatch");
	close(fd);

	/* A size set while the connect is under way (10.9.0.3 never answers) does not make the fd
	 * writable early; it is what the fd gets once connected (not seen here: it never is). */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in dead = sin4(DEAD_IP, 80);
	r = connect(fd, (struct sockaddr *)&dead, sizeof dead);
	want = 1 << 20;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof want);
	ev = wait_fd(fd, POLLOUT, 0); /* a grown buffer would show POLLOUT at once */
	CHECK("SO_SNDBUF while connecting: the fd stays unwritable", r < 0 && errno == EINPROGRESS && ev == 0,
	      "r=%d revents 0x%x", r, ev);
	v = real_sndbuf(fd);
	CHECK("SO_SNDBUF while connecting: the fd keeps the minimum", v == 4608, "%d", v);
	close(fd);
	return finish();
}
