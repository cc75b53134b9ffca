/* Ends of a connection: shutdown(SHUT_WR) is a FIN the peer sees while we keep reading; the
 * peer's FIN is EOF; a server that sends and closes delivers every byte first. */
#include "ztest.h"

static void half_close_echo(void)
{
	int fd = tcp_connect(PEER_IP, PORT_ECHO);
	REQUIRE("connect to echo", fd >= 0, "errno %s", ename(errno));
	char out[100000], in[100001];
	for (size_t i = 0; i < sizeof out; i++)
		out[i] = (char)(i * 7);
	CHECK("write 100000 bytes", write_all(fd, out, sizeof out) == 0, "errno %s", ename(errno));
	int r = shutdown(fd, SHUT_WR);
	CHECK("shutdown(SHUT_WR)", r == 0, "errno %s", ename(errno));
	ssize_t w = write(fd, "x", 1);
	CHECK("write after SHUT_WR: EPIPE", w < 0 && errno == EPIPE, "w=%zd errno %s", w, ename(errno));
	size_t got = read_full(fd, in, sizeof in);
	CHECK("the whole echo arrives after our FIN, then EOF",
	      got == sizeof out && memcmp(in, out, sizeof out) == 0, "got %zu bytes", got);
	close(fd);
}

static void discard(void)
{
	int fd = tcp_connect(PEER_IP, PORT_DISCARD);
	REQUIRE("connect to discard", fd >= 0, "errno %s", ename(errno));
	char buf[4096] = {0};
	CHECK("write to discard", write_all(fd, buf, sizeof buf) == 0, "errno %s", ename(errno));
	shutdown(fd, SHUT_WR);
	ssize_t r = read(fd, buf, sizeof buf);
	CHECK("discard closes after our FIN: read 0", r == 0, "r=%zd errno %s", r, ename(errno));
	close(fd);
}

static void source(void)
{
	int fd = tcp_connect(PEER_IP, PORT_SOURCE);
	REQUIRE("connect to source", fd >= 0, "errno %s", ename(errno));
	static unsigned char buf[(1 << 20) + 1];
	size_t got = read_full(fd, buf, sizeof buf);
	size_t bad = 0;
	for (size_t i = 0; i < got && i < (1u << 20); i++)
		bad += buf[i] != i % 251;
	CHECK("source: 1 MiB of i%251, then EOF", got == (1u << 20) && bad == 0, "got %zu, %zu wrong", got,
	      bad);
	close(fd);
}

static void unconnected(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int r = shutdown(fd, SHUT_WR);
	CHECK("shutdown of an unconnected socket: ENOTCONN", r < 0 && errno == ENOTCONN, "r=%d errno %s",
	      r, ename(errno));
	r = shutdown(fd, 7);
	CHECK("shutdown with a bad how: EINVAL", r < 0 && errno == EINVAL, "r=%d errno %s", r, ename(errno));
	close(fd);
}

int main(void)
{
	watchdog(60);
	half_close_echo();
	discard();
	source();
	unconnected();
	return finish();
}
