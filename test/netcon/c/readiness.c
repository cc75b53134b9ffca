/* Readiness through poll, select and epoll (level- and edge-triggered), with the registration
 * made before connect() and before listen(), as event loops do. */
#include <sys/epoll.h>
#include <sys/select.h>

#include "ztest.h"

/* Events of fd in epoll set ep after waiting up to ms (0 if none). */
static uint32_t ep_wait(int ep, int fd, int ms)
{
	struct epoll_event evs[4];
	uint32_t got = 0;
	int n;
	do
		n = epoll_wait(ep, evs, 4, ms);
	while (n < 0 && errno == EINTR);
	for (int i = 0; i < n; i++)
		if (evs[i].data.fd == fd)
			got |= evs[i].events;
	return got;
}

/* Waits on an edge-triggered set until an event in mask shows up (the OUT edges a draining peer
 * causes are skipped; each wait blocks until the next edge); returns the events, 0 on timeout. */
static uint32_t ep_wait_for(int ep, int fd, uint32_t mask, int ms)
{
	int64_t deadline = now_ms() + ms;
	for (;;) {
		int64_t left = deadline - now_ms();
		uint32_t ev = ep_wait(ep, fd, left < 0 ? 0 : (int)left);
		if (ev & mask)
			return ev;
		if (left <= 0)
			return 0;
	}
}

static int ep_add(int fd, uint32_t events)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = events, .data.fd = fd};
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	return ep;
}

static int select_rw(int fd, int ms, int *r, int *w)
{
	fd_set rs, ws;
	FD_ZERO(&rs);
	FD_ZERO(&ws);
	FD_SET(fd, &rs);
	FD_SET(fd, &ws);
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	int n = select(fd + 1, &rs, &ws, NULL, &tv);
	*r = n > 0 && FD_ISSET(fd, &rs);
	*w = n > 0 && FD_ISSET(fd, &ws);
	return n;
}

static void before_connect(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int lt = ep_add(fd, EPOLLIN | EPOLLOUT);
	int et = ep_add(fd, EPOLLIN | EPOLLOUT | EPOLLET);
	ep_wait(et, fd, 0); /* an unconnected socket reports OUT|HUP, TCP's too: take that edge */
	ep_wait(lt, fd, 0);
	struct sockaddr_in a = sin4(PEER_IP, PORT_ECHO);
	int r = connect(fd, (struct sockaddr *)&a, sizeof a);
	CHECK("epoll: nonblocking connect EINPROGRESS", r < 0 && errno == EINPROGRESS, "errno %s",
	      ename(errno));
	uint32_t ev = ep_wait(et, fd, 5000);
	CHECK("epoll ET registered before connect: OUT edge on connect", ev == EPOLLOUT, "events 0x%x",
	      ev);
	ev = ep_wait(lt, fd, 5000);
	CHECK("epoll LT registered before connect: OUT", ev == EPOLLOUT, "events 0x%x", ev);
	/* More OUT edges may follow while the service reads the rest of the stuffing (as ACKs give
	 * TCP's), but never an error. */
	ev = ep_wait(et, fd, 100);
	CHECK("epoll ET: no error edge", !(ev & (EPOLLERR | EPOLLHUP)), "events 0x%x", ev);
	int rd, wr;
	select_rw(fd, 0, &rd, &wr);
	CHECK("select: writable, not readable", wr && !rd, "r=%d w=%d", rd, wr);
	CHECK("write", write(fd, "ping", 4) == 4, "errno %s", ename(errno));
	ev = ep_wait_for(et, fd, EPOLLIN, 5000);
	CHECK("epoll ET: IN edge when the echo arrives", ev & EPOLLIN, "events 0x%x", ev);
	ev = ep_wait(lt, fd, 0);
	CHECK("epoll LT: IN|OUT", ev == (EPOLLIN | EPOLLOUT), "events 0x%x", ev);
	select_rw(fd, 0, &rd, &wr);
	CHECK("select: readable and writable", rd && wr, "r=%d w=%d", rd, wr);
	CHECK("poll: POLLIN|POLLOUT", wait_fd(fd, POLLIN | POLLOUT, 0) == (POLLIN | POLLOUT),
	      "revents 0x%x", wait_fd(fd, POLLIN | POLLOUT, 0));
	char buf[8];
	CHECK("read the echo", read(fd, buf, sizeof buf) == 4, "errno %s", ename(errno));
	ev = ep_wait(lt, fd, 0);
	CHECK("epoll LT: only OUT once drained", ev == EPOLLOUT, "events 0x%x", ev);
	shutdown(fd, SHUT_WR);
	ev = ep_wait_for(et, fd, EPOLLIN, 5000);
	CHECK("epoll ET: IN edge at the peer's FIN", ev & EPOLLIN, "events 0x%x", ev);
	CHECK("read 0 at EOF", read(fd, buf, sizeof buf) == 0, "errno %s", ename(errno));
	close(lt);
	close(et);
	close(fd);
}

static void before_listen(void)
{
	int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int lt = ep_add(l, EPOLLIN);
	int et = ep_add(l, EPOLLIN | EPOLLET);
	struct sockaddr_in a = sin4(SELF_IP, 0);
	socklen_t len = sizeof a;
	int r = bind(l, (struct sockaddr *)&a, sizeof a);
	r = r ? r : listen(l, 8);
	r = r ? r : getsockname(l, (struct sockaddr *)&a, &len);
	REQUIRE("listen on 10.9.0.1", r == 0, "errno %s", ename(errno));
	uint32_t ev = ep_wait(lt, l, 0);
	CHECK("listener: no epoll LT event before a connection", ev == 0, "events 0x%x", ev);
	ev = ep_wait(et, l, 0);
	CHECK("listener: no epoll ET event before a connection", ev == 0, "events 0x%x", ev);
	int pe = wait_fd(l, POLLIN, 0);
	CHECK("listener: not readable before a connection", pe == 0, "revents 0x%x", pe);
	int rd, wr;
	select_rw(l, 0, &rd, &wr);
	CHECK("listener: select says nothing", !rd && !wr, "r=%d w=%d", rd, wr);

	int c = socket(AF_INET, SOCK_STREAM, 0);
	r = connect(c, (struct sockaddr *)&a, sizeof a);
	REQUIRE("connect to self", r == 0, "errno %s", ename(errno));
	ev = ep_wait(et, l, 5000);
	CHECK("listener: epoll ET IN edge when a connection waits", ev == EPOLLIN, "events 0x%x", ev);
	ev = ep_wait(lt, l, 5000);
	CHECK("listener: epoll LT IN", ev == EPOLLIN, "events 0x%x", ev);
	select_rw(l, 0, &rd, &wr);
	CHECK("listener: select readable", rd && !wr, "r=%d w=%d", rd, wr);
	int s = accept(l, NULL, NULL);
	CHECK("accept", s >= 0, "errno %s", ename(errno));
	pe = wait_fd(l, POLLIN, 0);
	CHECK("listener: not readable once accepted", pe == 0, "revents 0x%x", pe);
	ev = ep_wait(lt, l, 0);
	CHECK("listener: epoll LT quiet once accepted", ev == 0, "events 0x%x", ev);
	r = accept(l, NULL, NULL);
	CHECK("accept on the empty nonblocking listener: EAGAIN", r < 0 && errno == EAGAIN,
	      "r=%d errno %s", r, ename(errno));
	close(s);
	close(c);
	close(lt);
	close(et);
	close(l);
}

int main(void)
{
	watchdog(60);
	before_connect();
	before_listen();
	return finish();
}
