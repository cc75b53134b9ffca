/* The service dies (the runner kills it when this program prints "KILL-SERVICE-NOW"): an
 * established connection ends (write EPIPE), new sockets fail with ENETDOWN at once, and a
 * thread blocked in accept() wakes with ENETDOWN instead of hanging. Run last. */
#include <pthread.h>

#include "ztest.h"

static int listener;
static volatile int accept_result = 1, accept_errno;
static volatile int64_t accept_done_at;

static void *blocked_accept(void *arg)
{
	(void)arg;
	int r = accept(listener, NULL, NULL);
	accept_errno = errno;
	accept_done_at = now_ms();
	accept_result = r;
	return NULL;
}

int main(void)
{
	watchdog(60);
	int fd = tcp_connect(PEER_IP, PORT_ECHO);
	REQUIRE("connect to echo", fd >= 0, "errno %s", ename(errno));
	char buf[8];
	REQUIRE("echo works", write_all(fd, "abc", 3) == 0 && read_full(fd, buf, 3) == 3, "bad echo");
	listener = tcp_listen(SELF_IP, 0, NULL);
	REQUIRE("listen", listener >= 0, "errno %s", ename(errno));
	int early = socket(AF_INET, SOCK_STREAM, 0);
	REQUIRE("a socket made before the death", early >= 0, "errno %s", ename(errno));
	pthread_t th;
	pthread_create(&th, NULL, blocked_accept, NULL);

	printf("KILL-SERVICE-NOW\n");
	fflush(stdout);
	int ev = wait_fd(fd, POLLRDHUP, 30000);
	int64_t died = now_ms();
	REQUIRE("the connection sees the service's death", ev & (POLLHUP | POLLRDHUP | POLLERR),
		"revents 0x%x", ev);
	ssize_t r = read(fd, buf, sizeof buf);
	CHECK("read: EOF or ECONNRESET", r == 0 || (r < 0 && errno == ECONNRESET), "r=%zd errno %s", r,
	      ename(errno));
	ssize_t w = write(fd, "x", 1);
	CHECK("write on the established connection: EPIPE", w < 0 && errno == EPIPE, "w=%zd errno %s", w,
	      ename(errno));

	int64_t t0 = now_ms();
	int s = socket(AF_INET, SOCK_STREAM, 0);
	int e = errno;
	int64_t dt = now_ms() - t0;
	CHECK("socket() after the death: ENETDOWN", s < 0 && e == ENETDOWN, "s=%d errno %s", s, ename(e));
	CHECK("socket() fails within 1 s", dt < 1000, "%lld ms", (long long)dt);
	struct sockaddr_in a = sin4(PEER_IP, PORT_ECHO);
	t0 = now_ms();
	int c = connect(early, (struct sockaddr *)&a, sizeof a);
	e = errno;
	dt = now_ms() - t0;
	CHECK("connect() after the death: ENETDOWN within 1 s", c < 0 && e == ENETDOWN && dt < 1000,
	      "r=%d errno %s after %lld ms", c, ename(e), (long long)dt);

	while (accept_result == 1 && now_ms() - died < 3000)
		wait_fd(-1, 0, 10);
	CHECK("the thread blocked in accept() wakes with ENETDOWN",
	      accept_result < 0 && accept_errno == ENETDOWN, "result %d errno %s", accept_result,
	      accept_result == 1 ? "(still blocked)" : ename(accept_errno));
	if (accept_result != 1) {
		CHECK("and within 1 s", accept_done_at - died < 1000, "%lld ms",
		      (long long)(accept_done_at - died));
		pthread_join(th, NULL);
	}
	t0 = now_ms();
	int r2 = accept(listener, NULL, NULL);
	e = errno;
	dt = now_ms() - t0;
	CHECK("a new blocking accept(): ENETDOWN, no hang", r2 < 0 && e == ENETDOWN && dt < 1000,
	      "r=%d errno %s after %lld ms", r2, ename(e), (long long)dt);
	errno = 0;
	close(fd);
	close(early);
	CHECK("close() still works", close(listener) == 0, "errno %s", ename(errno));
	return finish();
}
