/*
 * The control channel: one AF_UNIX stream connection per process to
 * $ZT_NC_HOME/netcon.d/<nwid>.rpc, carrying 64-byte calls (PROTOCOL.md), one in flight.
 *
 * - The mutex is held for one call only (connect+HELLO when the channel is new), each step bounded
 *   by the 2 s reply timeout, never across a wait of the program's (connect, accept).
 * - After fork the child inherits the parent's channel fd but must never write on it (its replies
 *   would go to whichever process reads first). The channel records its owner's pid; a child sees
 *   a different getpid(), closes its inherited copy and opens its own. The atfork child handler
 *   re-makes the mutex, which another thread of the parent may have held at fork time.
 * - The program may close or dup2 over the channel's fd number (daemons close every fd). The fd's
 *   inode is checked before each call; on a mismatch the number is no longer ours and is left
 *   alone.
 * - Any failure (timeout, EOF, a reply that does not match) drops the channel, since a late reply
 *   would otherwise answer the next call; the next call connects again.
 * - A signal handler that makes a socket call while its thread is in a call here would wait for
 *   itself; such a nested call fails with EAGAIN instead (socket calls are async-signal-safe).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "intercept.h"

/* Why the last attempt to open the channel failed: EACCES means the service is there but this
 * process may not talk to it (a worker that switched to another user after fork). */
static int last_open_errno;

static struct {
	pthread_mutex_t mu;
	int fd;
	dev_t dev;
	ino_t ino;
	pid_t owner;
	uint32_t seq;
	uint32_t svc_pid; /* last HELLO's answer; kept after fork (the service did not change) */
	uint64_t cookie;  /* the service instance's cookie (HELLO), carried by accept preambles */
} ch = {PTHREAD_MUTEX_INITIALIZER, -1, 0, 0, 0, 0, 0, 0};

static __thread int in_call; /* this thread holds ch.mu (or is about to) */

static int lock_channel(void)
{
	if (in_call)
		return 0;
	in_call = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	pthread_mutex_lock(&ch.mu);
	return 1;
}

static void unlock_channel(void)
{
	pthread_mutex_unlock(&ch.mu);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	in_call = 0;
}

static int warned_down, warned_cred, warned_proto, warned_nwid, warned_path;

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int fd_is(int fd, dev_t dev, ino_t ino)
{
	struct stat st;
	return fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

/* Forget the channel; close its fd only when the number still refers to our socket. */
static void drop_locked(void)
{
	if (fd_is(ch.fd, ch.dev, ch.ino))
		real_close(ch.fd); /* in a child: our inherited copy; the parent keeps its own */
	ch.fd = -1;
	ch.owner = 0;
}

static int usable_locked(void)
{
	if (ch.fd < 0)
		return 0;
	if (ch.owner != getpid()) {
		drop_locked(); /* the parent's channel: close our copy, never write on it */
		return 0;
	}
	if (!fd_is(ch.fd, ch.dev, ch.ino)) {
		ch.fd = -1; /* the program closed or replaced the number: it is not ours anymore */
		ch.owner = 0;
		return 0;
	}
	return 1;
}

/* Send and receive exactly 64 bytes within the reply timeout. 0 or -1. */
static int exchange(int fd, const uint8_t req[ZT_MSG_SIZE], uint8_t rep[ZT_MSG_SIZE])
{
	int64_t deadline = zt_now_ms() + ZT_REPLY_TIMEOUT_MS;
	size_t done = 0;
	while (done < ZT_MSG_SIZE) {
		ssize_t n = send(fd, req + done, ZT_MSG_SIZE - done, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			done += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int ev = zt_poll_until(fd, POLLOUT, deadline);
			if (!(ev & POLLOUT))
				return -1;
		} else {
			return -1;
		}
	}
	done = 0;
	while (done < ZT_MSG_SIZE) {
		ssize_t n = recv(fd, rep + done, ZT_MSG_SIZE - done, MSG_DONTWAIT);
		if (n > 0) {
			done += (size_t)n;
		} else if (n == 0) {
			return -1; /* the service closed the channel */
		} else if (errno == EINTR) {
			continue;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int ev = zt_poll_until(fd, POLLIN, deadline);
			if (!(ev & (POLLIN | POLLHUP | POLLERR)))
				return -1; /* timeout */
		} else {
			return -1;
		}
	}
	return 0;
}

/* One call on the current channel. 0 with the reply decoded, or -1 (the channel is broken). */
static int call_locked(uint16_t op, uint32_t sockid, const uint32_t a[4], struct zt_reply *rep)
{
	uint8_t req[ZT_MSG_SIZE], raw[ZT_MSG_SIZE];
	memset(req, 0, sizeof req);
	uint32_t seq = ++ch.seq;
	put32(req, ZT_MAGIC_RPC);
	req[4] = (uint8_t)op;
	req[5] = (uint8_t)(op >> 8);
	put32(req + 8, seq);
	put32(req + 12, sockid);
	for (int i = 0; i < 4; i++)
		put32(req + 16 + 4 * i, a[i]);
	if (exchange(ch.fd, req, raw) != 0)
		return -1;
	if (get32(raw) != ZT_MAGIC_RPC || (raw[4] | raw[5] << 8) != op || get32(raw + 8) != seq) {
		zt_log_once(&warned_proto, "protocol error on the control channel (op %u): "
					   "reply does not match the call", (unsigned)op);
		return -1;
	}
	rep->sockid = get32(raw + 12);
	rep->err = get32(raw + 16);
	for (int i = 0; i < 3; i++)
		rep->val[i] = get32(raw + 20 + 4 * i);
	memcpy(rep->data, raw + 32, sizeof rep->data);
	rep->svc_pid = ch.svc_pid;
	return 0;
}

/* Moves the channel fd out of the low numbers that programs expect to be theirs (a program that
 * opens a file right after its first socket() may assume which fd it gets, or close ranges). */
static int move_high(int fd)
{
	struct rlimit rl;
	long base = 512;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (long)rl.rlim_cur / 2 < base)
		base = (long)rl.rlim_cur / 2;
	if (fd >= base)
		return fd;
	int nfd = fcntl(fd, F_DUPFD_CLOEXEC, (int)base);
	if (nfd < 0)
		return fd;
	real_close(fd);
	return nfd;
}

static int open_locked(void)
{
	struct sockaddr_un sun;
	socklen_t len;
	if (zt_endpoint("rpc", &sun, &len) != 0) {
		zt_log_once(&warned_path, "the control socket path is longer than 107 bytes");
		return -1;
	}
	int fd = real_socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* A blocking AF_UNIX connect waits while the listener's backlog is full; bound it. */
	struct timeval tv = {ZT_REPLY_TIMEOUT_MS / 1000, 0};
	real_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	int r;
	do
		r = real_connect(fd, (struct sockaddr *)&sun, len);
	while (r < 0 && errno == EINTR);
	if (r < 0 && errno != EISCONN) {
		int e = errno;
		last_open_errno = e;
		real_close(fd);
		if (e == EACCES || e == EPERM)
			zt_log_once(&warned_down, "uid %u may not use %s (the service's owner only): "
						  "sockets inherited from the parent keep working, new "
						  "socket calls fail with ENETDOWN; run the program as "
						  "the service's user",
				    (unsigned)geteuid(), sun.sun_path);
		else
			zt_log_once(&warned_down, "cannot reach zerotier-netcon-service at %s (%s); "
						  "socket calls fail with ENETDOWN", sun.sun_path, strerror(e));
		return -1;
	}
	struct ucred cred = {0, 0, 0};
	socklen_t clen = sizeof cred;
	if (real_getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 ||
	    cred.uid != geteuid()) {
		zt_log_once(&warned_cred, "refusing the service at %s: it runs as uid %u, we as %u",
			    sun.sun_path, (unsigned)cred.uid, (unsigned)geteuid());
		real_close(fd);
		return -1;
	}
	fd = move_high(fd);
	struct stat st;
	if (fstat(fd, &st) != 0) {
		real_close(fd);
		return -1;
	}
	ch.fd = fd;
	ch.dev = st.st_dev;
	ch.ino = st.st_ino;
	ch.owner = getpid();
	uint32_t a[4] = {ZT_PROTO_VERSION, (uint32_t)getpid(), 0, 0};
	struct zt_reply rep;
	if (call_locked(ZOP_HELLO, 0, a, &rep) != 0 || rep.err != 0) {
		zt_log_once(&warned_down, "the service at %s did not answer HELLO; socket calls "
					  "fail with ENETDOWN", sun.sun_path);
		drop_locked();
		return -1;
	}
	uint64_t nw = (uint64_t)get32(rep.data) | (uint64_t)get32(rep.data + 4) << 32;
	if (rep.val[1] != ZT_PROTO_VERSION || nw != zt_nwid() || rep.val[0] == 0) {
		zt_log_once(&warned_nwid, "the service at %s speaks protocol %u for network %016llx; "
					  "we need protocol %u for %016llx",
			    sun.sun_path, (unsigned)rep.val[1], (unsigned long long)nw,
			    ZT_PROTO_VERSION, (unsigned long long)zt_nwid());
		drop_locked();
		return -1;
	}
	__atomic_store_n(&ch.cookie, (uint64_t)get32(rep.data + 12) | (uint64_t)get32(rep.data + 16) << 32,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&ch.svc_pid, rep.val[0], __ATOMIC_RELAXED);
	zt_debug("control channel fd %d to service pid %u", fd, (unsigned)ch.svc_pid);
	return 0;
}

int zt_call(uint32_t svc, uint16_t op, uint32_t sockid, uint32_t a0, uint32_t a1, uint32_t a2,
	    uint32_t a3, struct zt_reply *rep)
{
	uint32_t a[4] = {a0, a1, a2, a3};
	if (!lock_channel())
		return EAGAIN;
	int ok = usable_locked() || open_locked() == 0;
	if (ok && svc != 0 && svc != ch.svc_pid) {
		zt_debug("op %u on s%08x of service %u: the service is now %u", (unsigned)op,
			 (unsigned)sockid, (unsigned)svc, (unsigned)ch.svc_pid);
		unlock_channel();
		return ENETDOWN;
	}
	if (ok && call_locked(op, sockid, a, rep) != 0) {
		zt_log_once(&warned_down, "lost the control channel to zerotier-netcon-service; "
					  "socket calls fail with ENETDOWN");
		drop_locked();
		ok = 0;
	}
	unlock_channel();
	if (!ok)
		return ENETDOWN;
	if (rep->err == 0)
		return 0;
	/* An errno from the service is only a number to return; keep it a plausible one. */
	return rep->err < 4096 ? (int)rep->err : EPROTO;
}

uint64_t zt_service_cookie(void)
{
	return __atomic_load_n(&ch.cookie, __ATOMIC_RELAXED);
}

uint32_t zt_service_pid(void)
{
	uint32_t pid = __atomic_load_n(&ch.svc_pid, __ATOMIC_RELAXED);
	if (pid)
		return pid;
	if (!lock_channel()) {
		errno = EAGAIN;
		return 0;
	}
	if (!usable_locked())
		open_locked();
	pid = ch.svc_pid;
	unlock_channel();
	if (!pid)
		errno = ENETDOWN;
	return pid;
}

int zt_channel_watch_fd(void)
{
	last_open_errno = 0;
	if (!lock_channel()) {
		errno = EAGAIN;
		return -1;
	}
	int fd = -1;
	if (usable_locked() || open_locked() == 0)
		fd = fcntl(ch.fd, F_DUPFD_CLOEXEC, 0);
	unlock_channel();
	if (fd < 0)
		errno = last_open_errno == EACCES || last_open_errno == EPERM ? EACCES : ENETDOWN;
	return fd;
}

void zt_rpc_atfork_child(void)
{
	pthread_mutex_init(&ch.mu, NULL);
	in_call = 0;
}
