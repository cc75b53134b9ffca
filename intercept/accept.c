/*
 * accept()/accept4(). A listening socket of ours is a real AF_UNIX listener that the service
 * connects to once per accepted TCP connection, so readiness, blocking and "each connection to
 * exactly one of several processes" are the kernel's. The library only reads the 32-byte
 * preamble the service wrote first (who the peer is) and checks that the service wrote it.
 * The program's flags go to the real accept4 and so apply to the new fd only.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "intercept.h"

static int fail(int e)
{
	errno = e;
	return -1;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A blocking listener: wait for a connection, but notice a dead service (its control channel
 * hangs up) instead of blocking forever. Honours SO_RCVTIMEO and signals as accept would.
 * 0 when a connection may be pending, else errno. */
static int wait_listener(int lfd)
{
	int tmo = zt_sock_timeout_ms(lfd, SO_RCVTIMEO);
	int64_t deadline = tmo < 0 ? -1 : zt_now_ms() + tmo;
	int watch = zt_channel_watch_fd();
	if (watch < 0 && errno == EACCES) {
		/* The service runs but this process may not call it (a worker that dropped privileges
		 * after fork, like apache's and nginx's): the listener itself still works, so wait on it
		 * alone, as the kernel would. */
		int ev = zt_poll_until(lfd, POLLIN, deadline);
		return (ev & POLLIN) ? 0 : ev < 0 ? errno : EAGAIN;
	}
	if (watch < 0) /* no service: only what already waits can be accepted */
		return (zt_poll_until(lfd, POLLIN, 0) & POLLIN) ? 0 : ENETDOWN;
	int e;
	for (;;) {
		int timeout = -1;
		if (deadline >= 0) {
			int64_t left = deadline - zt_now_ms();
			timeout = left < 0 ? 0 : (int)left;
		}
		struct pollfd p[2] = {{.fd = lfd, .events = POLLIN, .revents = 0},
				      {.fd = watch, .events = POLLRDHUP, .revents = 0}};
		int r = poll(p, 2, timeout);
		if (r > 0 && p[0].revents) {
			e = 0; /* pending (or an error the real accept4 will report) */
			break;
		}
		if (r > 0) {
			e = ENETDOWN; /* the control channel hung up: the service is gone */
			zt_debug("accept(fd %d): the service is gone", lfd);
			break;
		}
		if (r == 0) {
			e = EAGAIN; /* what accept says when SO_RCVTIMEO expires */
			break;
		}
		if (errno != EINTR) {
			e = errno;
			break;
		}
		if (!zt_eintr_restarts()) {
			e = EINTR;
			break;
		}
	}
	real_close(watch);
	return e;
}

/* Read exactly the 32-byte preamble, waiting at most 1 s even on a nonblocking fd. */
static int read_preamble(int fd, uint8_t buf[ZT_PREAMBLE_SIZE])
{
	int64_t deadline = zt_now_ms() + ZT_PREAMBLE_TIMEOUT_MS;
	size_t got = 0;
	while (got < ZT_PREAMBLE_SIZE) {
		ssize_t n = recv(fd, buf + got, ZT_PREAMBLE_SIZE - got, MSG_DONTWAIT);
		if (n > 0) {
			got += (size_t)n;
		} else if (n == 0) {
			return -1;
		} else if (errno == EINTR) {
			continue;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (!(zt_poll_until(fd, POLLIN, deadline) & (POLLIN | POLLHUP | POLLERR)))
				return -1;
		} else {
			return -1;
		}
	}
	return 0;
}

int zt_accept4(int lfd, struct sockaddr *sa, socklen_t *len, int flags, int plain)
{
	struct zt_sock ls;
	if (zt_mode() != ZM_ACTIVE)
		return plain ? real_accept(lfd, sa, len) : real_accept4(lfd, sa, len, flags);
	int saved = errno;
	int r = zt_lookup_fresh(lfd, &ls);
	if (r == 0)
		return plain ? real_accept(lfd, sa, len) : real_accept4(lfd, sa, len, flags);
	if (r < 0)
		return -1;
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return fail(EINVAL);
	if (ls.state != ZS_LISTENING)
		return fail(EINVAL);
	int fl = fcntl(lfd, F_GETFL);
	if (fl >= 0 && !(fl & O_NONBLOCK)) {
		int e = wait_listener(lfd);
		if (e)
			return fail(e);
	}
	int fd = real_accept4(lfd, NULL, NULL, flags);
	if (fd < 0)
		return -1;
	uint8_t pre[ZT_PREAMBLE_SIZE];
	struct ucred cred = {0, 0, 0};
	socklen_t clen = sizeof cred;
	uint32_t svc = zt_service_pid();
	/* The service is recognised by its instance cookie, a secret only processes that reached
	 * its owner-only control socket (or their children) know. Not by pid: a program in another
	 * PID namespace sees the service under another pid. Not by uid: a worker that dropped
	 * privileges after fork (nginx, apache, sshd) runs as another user than the service. */
	int bad = read_preamble(fd, pre) != 0 || le32(pre) != ZT_MAGIC_ACCEPT || svc == 0 ||
		  ((uint64_t)le32(pre + 24) | (uint64_t)le32(pre + 28) << 32) != zt_service_cookie();
	if (bad)
		real_getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen); /* for the debug line */
	struct stat st;
	if (!bad && fstat(fd, &st) != 0)
		bad = 1;
	if (bad) {
		/* Not the service (anyone who can reach the abstract name can connect), or it
		 * died before saying who the peer is. */
		zt_debug("accept(fd %d): dropped a connection without a valid preamble (pid %d)", lfd,
			 (int)cred.pid);
		real_close(fd);
		return fail(ECONNABORTED);
	}
	struct zt_sock s;
	zt_sock_init(&s, &st, le32(pre + 4), svc, ls.family, ZS_CONNECTED);
	s.flags = ZF_ACCEPTED | ZF_REPORTED;
	s.raddr = le32(pre + 8);
	s.rport = (uint16_t)le32(pre + 12);
	s.laddr = le32(pre + 16);
	s.lport = (uint16_t)le32(pre + 20);
	if (sa) { /* the kernel ignores addrlen when addr is NULL */
		int e = zt_addr_out(s.family, s.raddr, s.rport, sa, len);
		if (e) {
			real_close(fd);
			return fail(e);
		}
	}
	table_put(fd, &s);
	zt_debug("accept(fd %d) = fd %d, c%08x from %08x:%u", lfd, fd, (unsigned)s.sockid,
		 (unsigned)s.raddr, (unsigned)s.rport);
	errno = saved;
	return fd;
}

ZT_EXPORT int accept(int fd, zt_sa_arg sa, socklen_t *len)
{
	return zt_accept4(fd, ZT_SA(sa), len, 0, 1);
}

ZT_EXPORT int accept4(int fd, zt_sa_arg sa, socklen_t *len, int flags)
{
	return zt_accept4(fd, ZT_SA(sa), len, flags, 0);
}
