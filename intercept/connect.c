/*
 * connect(): the "stuffed attach" of PROTOCOL.md. The program's own fd (its number, flags and
 * epoll registrations unchanged) is connected to <nwid>.data, then filled with the attach header
 * and zeros until its send buffer is full, so the fd is not writable until the service has read
 * those bytes, which it does exactly when the TCP handshake succeeds. A failure closes the
 * service's end unread (POLLOUT|POLLERR|POLLHUP) and SO_ERROR, read from the service, says why.
 *
 * Linux lets a program call connect() again on a socket whose connect failed. An AF_UNIX fd
 * cannot be disconnected, so the retry replaces the fd's socket (a new one, dup3'd onto the same
 * number): the only case where an fd changes under the program. Options the service recorded for
 * the old socket and epoll registrations of the fd are lost then, which the kernel would keep.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "intercept.h"

static int fail(int e)
{
	errno = e;
	return -1;
}

static int is_nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl >= 0 && (fl & O_NONBLOCK);
}

/* The fd's send buffer at the kernel's minimum for the stuffing (a few bytes fill it), with the
 * size to restore kept in the record. Without this each connect copied about 200 KB of zeros into
 * the kernel and the service read them out again: half the CPU of a connect. */
static void shrink_sndbuf(int fd, struct zt_sock *s)
{
	int cur = 0, one = 1;
	socklen_t l = sizeof cur;
	if (s->sndbuf_restore == 0) {
		if (real_getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &cur, &l) != 0 || cur <= ZT_SNDBUF_MIN)
			return;
		cur /= 2; /* the kernel doubles what is set */
	} else {
		cur = s->sndbuf_restore; /* a retry on a fresh socket: the program's size is kept */
	}
	if (real_setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &one, sizeof one) == 0)
		s->sndbuf_restore = cur;
}

void zt_sndbuf_settle(int fd, struct zt_sock *s)
{
	if (s->sndbuf_restore == 0 || s->state == ZS_FAILED)
		return;
	/* Writable means the service has read the stuffing: the connect is over. */
	struct pollfd p = {.fd = fd, .events = POLLOUT, .revents = 0};
	int saved = errno;
	if (poll(&p, 1, 0) == 1 && (p.revents & (POLLOUT | POLLERR | POLLHUP)) == POLLOUT) {
		int v = s->sndbuf_restore;
		real_setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
		s->sndbuf_restore = 0;
		table_update(fd, s);
	}
	errno = saved;
}

/* Connect fd to the data listener and stuff it. 0 or errno; sets ZF_ATTACHED once connected. */
static int attach(int fd, struct zt_sock *s, uint32_t *stuffed)
{
	struct sockaddr_un sun;
	socklen_t len;
	if (zt_endpoint("data", &sun, &len) != 0)
		return ENETDOWN;
	int64_t deadline = zt_now_ms() + ZT_REPLY_TIMEOUT_MS;
	long backoff_ns = 100000;
	for (;;) {
		if (real_connect(fd, (struct sockaddr *)&sun, len) == 0 || errno == EISCONN)
			break;
		if (errno == EINTR)
			continue; /* an interrupted AF_UNIX connect can simply be made again */
		/* A nonblocking AF_UNIX connect to a full backlog fails with EAGAIN and there is
		 * nothing to poll for; the service drains its backlog quickly, so retry a while. */
		if (errno == EAGAIN && zt_now_ms() < deadline) {
			struct timespec ts = {0, backoff_ns};
			nanosleep(&ts, NULL);
			backoff_ns = backoff_ns * 2 > 50000000 ? 50000000 : backoff_ns * 2;
			continue;
		}
		int e = errno;
		zt_debug("attach of s%08x to %s failed: %s", (unsigned)s->sockid, sun.sun_path,
			 strerror(e));
		return e == EAGAIN ? EAGAIN : ENETDOWN;
	}
	s->flags |= ZF_ATTACHED;
	shrink_sndbuf(fd, s);
	uint8_t hdr[16];
	memset(hdr, 0, sizeof hdr);
	for (int i = 0; i < 4; i++) {
		hdr[i] = (uint8_t)(ZT_MAGIC_ATTACH >> (8 * i));
		hdr[4 + i] = (uint8_t)(s->sockid >> (8 * i));
	}
	ssize_t n;
	do
		n = send(fd, hdr, sizeof hdr, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof hdr)
		return ENETDOWN; /* a fresh connection always takes 16 bytes */
	uint64_t total = sizeof hdr;
	static const uint8_t zeros[65536];
	for (;;) {
		n = send(fd, zeros, sizeof zeros, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0)
			total += (uint64_t)n;
		else if (n < 0 && errno == EINTR)
			continue;
		else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break; /* full: the fd is not writable now */
		else
			return ENETDOWN;
		if (total > 0x7fffffffu)
			return ENOBUFS; /* cannot happen: SO_SNDBUF is at most a few MiB */
	}
	*stuffed = (uint32_t)total;
	return 0;
}

/* Replace the fd's socket by a fresh one (see the top of the file). 0 or errno. */
static int reattach(int fd, struct zt_sock *s)
{
	int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);
	if (fl < 0 || fdfl < 0)
		return errno;
	int nfd = real_socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (fl & O_NONBLOCK ? SOCK_NONBLOCK : 0), 0);
	if (nfd < 0)
		return errno;
	struct zt_reply rep;
	int e = zt_call(0, ZOP_SOCKET, 0, AF_INET, SOCK_STREAM, 0, (uint32_t)s->family, &rep);
	if (e == 0 && rep.sockid == 0)
		e = EPROTO;
	if (e == 0)
		e = zt_bind_name(nfd, rep.svc_pid, rep.sockid) ? ENETDOWN : 0;
	static const int keep[] = {SO_SNDTIMEO, SO_RCVTIMEO, SO_SNDBUF, SO_RCVBUF};
	for (size_t i = 0; e == 0 && i < sizeof keep / sizeof keep[0]; i++) {
		union {
			struct timeval tv;
			int v;
		} u;
		socklen_t l = sizeof u;
		if (keep[i] == SO_SNDBUF && s->sndbuf_restore != 0)
			continue; /* the old fd's is the shrunk one; the attach shrinks the new one */
		if (real_getsockopt(fd, SOL_SOCKET, keep[i], &u, &l) == 0) {
			if (keep[i] == SO_SNDBUF || keep[i] == SO_RCVBUF)
				u.v /= 2; /* the kernel doubles what is set */
			real_setsockopt(nfd, SOL_SOCKET, keep[i], &u, l);
		}
	}
	if (e == 0 && dup3(nfd, fd, fdfl & FD_CLOEXEC ? O_CLOEXEC : 0) < 0)
		e = errno;
	real_close(nfd);
	struct stat st;
	if (e == 0 && fstat(fd, &st) != 0)
		e = errno;
	if (e)
		return e;
	zt_release(s); /* the old socket, if nothing else holds it */
	zt_debug("fd %d: connect retry, s%08x replaced by s%08x", fd, (unsigned)s->sockid,
		 (unsigned)rep.sockid);
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->sockid = rep.sockid;
	s->svc_pid = rep.svc_pid;
	s->state = ZS_NEW;
	s->flags &= (uint16_t) ~(ZF_ATTACHED | ZF_REPORTED);
	table_put(fd, s);
	if (!(s->flags & ZF_USERBOUND)) {
		s->laddr = 0;
		s->lport = 0;
		return 0;
	}
	uint32_t bflags = (s->flags & ZF_REUSEADDR ? 1u : 0) | (s->flags & ZF_REUSEPORT ? 2u : 0);
	e = zt_call(s->svc_pid, ZOP_BIND, s->sockid, s->laddr, s->lport, bflags, 0, &rep);
	if (e == 0)
		s->state = ZS_BOUND;
	return e;
}

/* The outcome is known (the fd polled writable): SO_ERROR decides. */
static int finish(int fd, struct zt_sock *s, int saved)
{
	int so = 0, e = zt_take_so_error(fd, s, &so);
	if (e == 0 && so == 0) {
		s->state = ZS_CONNECTED;
		s->flags |= ZF_REPORTED;
		table_update(fd, s);
		zt_sndbuf_settle(fd, s);
		errno = saved;
		return 0;
	}
	s->state = ZS_FAILED;
	table_update(fd, s);
	return fail(e ? e : so);
}

/* A blocking connect: wait as the kernel would, bounded by SO_SNDTIMEO. */
static int wait_connected(int fd, struct zt_sock *s, int saved)
{
	int tmo = zt_sock_timeout_ms(fd, SO_SNDTIMEO);
	int64_t deadline = tmo < 0 ? -1 : zt_now_ms() + tmo;
	for (;;) {
		int timeout = -1;
		if (deadline >= 0) {
			int64_t left = deadline - zt_now_ms();
			timeout = left < 0 ? 0 : (int)left;
		}
		struct pollfd p = {.fd = fd, .events = POLLOUT, .revents = 0};
		int r = poll(&p, 1, timeout);
		if (r > 0)
			return finish(fd, s, saved);
		if (r == 0)
			return fail(EINPROGRESS); /* the kernel's answer when SO_SNDTIMEO expires */
		if (errno != EINTR)
			return -1;
		if (!zt_eintr_restarts())
			return fail(EINTR); /* the connect goes on; connect() again waits for it */
	}
}

/* connect() on a socket whose connect is under way. */
static int again(int fd, struct zt_sock *s, int saved)
{
	int st = zt_connect_progress(fd, s);
	if (st < 0)
		return -1;
	if (st == ZS_CONNECTED) {
		/* Linux: the first connect() after the handshake returns 0, the next EISCONN. */
		s->state = ZS_CONNECTED;
		s->flags |= ZF_REPORTED;
		table_update(fd, s);
		zt_sndbuf_settle(fd, s);
		errno = saved;
		return 0;
	}
	if (st == ZS_FAILED) {
		int so = 0, e = zt_take_so_error(fd, s, &so);
		s->state = ZS_FAILED;
		table_update(fd, s);
		return fail(e ? e : so ? so : ECONNABORTED);
	}
	if (is_nonblocking(fd))
		return fail(EALREADY);
	return wait_connected(fd, s, saved);
}

int zt_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct zt_sock s;
	if (zt_mode() != ZM_ACTIVE)
		return real_connect(fd, sa, len);
	int saved = errno;
	int r = zt_lookup_fresh(fd, &s);
	if (r == 0)
		return real_connect(fd, sa, len);
	if (r < 0)
		return -1;
	if (!sa)
		return fail(EFAULT);
	if (len < sizeof(sa_family_t))
		return fail(EINVAL);
	if (sa->sa_family == AF_UNSPEC) {
		/* A disconnect: nothing to do on an unconnected socket; a connection cannot be
		 * undone on an AF_UNIX fd. */
		if (s.state == ZS_NEW || s.state == ZS_BOUND || s.state == ZS_FAILED) {
			errno = saved;
			return 0;
		}
		return fail(EAFNOSUPPORT);
	}
	switch (s.state) {
	case ZS_LISTENING:
		return fail(EISCONN);
	case ZS_CONNECTED:
		if (s.flags & ZF_REPORTED)
			return fail(EISCONN);
		s.flags |= ZF_REPORTED;
		table_update(fd, &s);
		errno = saved;
		return 0;
	case ZS_CONNECTING:
		return again(fd, &s, saved);
	}
	uint32_t ip;
	uint16_t port;
	int any6;
	int e = zt_addr_in(&s, sa, len, 1, &ip, &port, &any6);
	if (e)
		return fail(e);
	if ((s.flags & ZF_GHOST) || (any6 && (s.flags & ZF_V6ONLY)))
		return fail(ENETUNREACH); /* IPv6 proper: no route on this host */
	uint8_t prev = s.state;
	if (!table_cas_state(fd, &s, prev, ZS_CONNECTING))
		return fail(EALREADY); /* another thread is connecting it */
	/* On an error below, the record (CONNECTING since the cas) gets back the local state:
	 * FAILED while the fd is attached, else what it was (NEW or BOUND after a reattach). */
	if ((s.flags & ZF_ATTACHED) && (e = reattach(fd, &s)) != 0) {
		s.state = (s.flags & ZF_ATTACHED) ? ZS_FAILED : s.state;
		table_update(fd, &s);
		return fail(e);
	}
	uint32_t stuffed = 0;
	e = attach(fd, &s, &stuffed);
	struct zt_reply rep;
	if (e == 0)
		e = zt_call(s.svc_pid, ZOP_CONNECT, s.sockid, ip, port, stuffed, 0, &rep);
	zt_debug("connect(fd %d, %08x:%u) stuffed %u: %s", fd, (unsigned)ip, (unsigned)port,
		 (unsigned)stuffed, e ? strerror(e) : "in progress");
	if (e) {
		/* Attached but refused at once: unconnected again, a retry replaces the fd. */
		s.state = (s.flags & ZF_ATTACHED) ? ZS_FAILED : s.state;
		table_update(fd, &s);
		return fail(e);
	}
	s.laddr = rep.val[0];
	s.lport = (uint16_t)rep.val[1];
	s.raddr = ip;
	s.rport = port;
	s.state = ZS_CONNECTING;
	table_update(fd, &s);
	if (is_nonblocking(fd))
		return fail(EINPROGRESS);
	return wait_connected(fd, &s, saved);
}

ZT_EXPORT int connect(int fd, zt_csa_arg sa, socklen_t len)
{
	return zt_connect(fd, ZT_SA(sa), len);
}
