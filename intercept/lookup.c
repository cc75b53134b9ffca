/*
 * Recognising our sockets. The fd's inode (fstat) is the key: the table answers for sockets this
 * process made or accepted. For any other AF_UNIX socket the kernel's names decide: bound to
 * "\0ztnc/<svc>/s<id>" (made by socket() here or in an ancestor before exec) or connected to the
 * service's "\0ztnc/<svc>/c<id>" (accepted). Such an fd is described by an INFO call and cached.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "intercept.h"

/* A connect made before an exec may have left the fd's send buffer shrunk (sndbuf_restore), and
 * the record that knew the size is gone: give such an fd the kernel's default size. 0 when the
 * fd's buffer is not at the minimum (nothing was shrunk, or the program chose it). */
static int shrunk_sndbuf_default(int fd)
{
	int cur = 0;
	socklen_t l = sizeof cur;
	if (real_getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &cur, &l) != 0 || cur != ZT_SNDBUF_MIN)
		return 0;
	int v = 212992; /* the usual net.core.wmem_default */
	FILE *f = fopen("/proc/sys/net/core/wmem_default", "re");
	if (f) {
		if (fscanf(f, "%d", &v) != 1 || v < ZT_SNDBUF_MIN)
			v = 212992;
		fclose(f);
	}
	return v / 2; /* the kernel doubles what is set */
}

static int by_name(int fd, const struct stat *st, struct zt_sock *s)
{
	struct sockaddr_un sun;
	socklen_t len = sizeof sun;
	char kind = 0;
	uint32_t svc = 0, id = 0;
	memset(&sun, 0, sizeof sun);
	if (real_getsockname(fd, (struct sockaddr *)&sun, &len) != 0 || sun.sun_family != AF_UNIX)
		return 0;
	/* The peer's name first: an accepted connection's own name is its listener's "s" name (the
	 * kernel gives accepted AF_UNIX sockets the listener's address), so only the service's "c"
	 * name on the other end tells the connection from the listener. */
	struct sockaddr_un peer;
	socklen_t plen = sizeof peer;
	memset(&peer, 0, sizeof peer);
	if (real_getpeername(fd, (struct sockaddr *)&peer, &plen) == 0 &&
	    zt_name_parse(&peer, plen, &kind, &svc, &id) && kind == 'c') {
		/* accepted: described by the service's record of the connection */
	} else if (!zt_name_parse(&sun, len, &kind, &svc, &id) || kind != 's') {
		return 0;
	}
	if (table_link(fd, st->st_dev, st->st_ino, s))
		return 1; /* a dup of an fd we know */
	uint32_t cur = zt_service_pid();
	if (cur == 0)
		return -1; /* errno ENETDOWN */
	if (cur != svc) {
		errno = ENETDOWN; /* made by an earlier service instance: dead */
		return -1;
	}
	struct zt_reply rep;
	int e = zt_call(svc, ZOP_INFO, id, 0, 0, 0, 0, &rep);
	if (e) {
		errno = e;
		return -1;
	}
	memset(s, 0, sizeof *s);
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	s->sockid = id;
	s->svc_pid = svc;
	/* The family the program asked for at SOCKET (an accepted connection: its listener's). */
	s->family = rep.val[1] == AF_INET6 ? AF_INET6 : AF_INET;
	s->state = rep.val[0] <= ZS_FAILED ? (uint8_t)rep.val[0] : ZS_FAILED;
	uint32_t d[4];
	for (int i = 0; i < 4; i++)
		d[i] = (uint32_t)rep.data[4 * i] | (uint32_t)rep.data[4 * i + 1] << 8 |
		       (uint32_t)rep.data[4 * i + 2] << 16 | (uint32_t)rep.data[4 * i + 3] << 24;
	s->laddr = d[0];
	s->lport = (uint16_t)d[1];
	s->raddr = d[2];
	s->rport = (uint16_t)d[3];
	if (kind == 'c')
		s->flags |= ZF_ACCEPTED | ZF_REPORTED;
	else if (s->state >= ZS_CONNECTING)
		s->flags |= ZF_ATTACHED;
	if (s->state == ZS_CONNECTED)
		s->flags |= ZF_REPORTED;
	if (kind == 's' && (s->state == ZS_CONNECTING || s->state == ZS_CONNECTED))
		s->sndbuf_restore = shrunk_sndbuf_default(fd);
	table_put(fd, s);
	if (s->sndbuf_restore != 0)
		zt_sndbuf_settle(fd, s);
	zt_debug("fd %d recognised by name as %c%08x (state %u)", fd, kind, (unsigned)id,
		 (unsigned)s->state);
	return 1;
}

int zt_lookup(int fd, struct zt_sock *s)
{
	int saved = errno;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
		errno = saved;
		return 0;
	}
	if (table_get(fd, st.st_dev, st.st_ino, s)) {
		if (s->sndbuf_restore != 0)
			zt_sndbuf_settle(fd, s);
		return 1;
	}
	int r = by_name(fd, &st, s);
	if (r >= 0)
		errno = saved;
	return r;
}

int zt_lookup_fresh(int fd, struct zt_sock *s)
{
	int r = zt_lookup(fd, s);
	if (r != 1 || (s->state != ZS_NEW && s->state != ZS_BOUND) || (s->flags & ZF_GHOST))
		return r;
	int saved = errno;
	int acc = 0;
	socklen_t alen = sizeof acc;
	struct sockaddr_un sun;
	socklen_t slen = sizeof sun;
	int listening = real_getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &alen) == 0 && acc;
	int attached = !listening && real_getpeername(fd, (struct sockaddr *)&sun, &slen) == 0;
	errno = saved;
	if (!listening && !attached)
		return 1;
	struct zt_reply rep;
	int e = zt_call(s->svc_pid, ZOP_INFO, s->sockid, 0, 0, 0, 0, &rep);
	if (e) {
		errno = e;
		return -1;
	}
	uint32_t d[4];
	for (int i = 0; i < 4; i++)
		d[i] = (uint32_t)rep.data[4 * i] | (uint32_t)rep.data[4 * i + 1] << 8 |
		       (uint32_t)rep.data[4 * i + 2] << 16 | (uint32_t)rep.data[4 * i + 3] << 24;
	s->state = rep.val[0] <= ZS_FAILED ? (uint8_t)rep.val[0] : ZS_FAILED;
	if (listening && s->state != ZS_LISTENING)
		s->state = ZS_BOUND; /* listening at the kernel, not (yet) at the service */
	s->laddr = d[0];
	s->lport = (uint16_t)d[1];
	s->raddr = d[2];
	s->rport = (uint16_t)d[3];
	if (attached)
		s->flags |= ZF_ATTACHED | (s->state == ZS_CONNECTED ? ZF_REPORTED : 0);
	table_update(fd, s);
	zt_debug("fd %d: another process made s%08x %s (state %u)", fd, (unsigned)s->sockid,
		 listening ? "listen" : "connect", (unsigned)s->state);
	errno = saved;
	return 1;
}

int zt_bind_name(int fd, uint32_t svc_pid, uint32_t sockid)
{
	struct sockaddr_un sun;
	socklen_t len = zt_name_make(&sun, 's', svc_pid, sockid);
	return real_bind(fd, (struct sockaddr *)&sun, len) == 0 ? 0 : errno;
}

void zt_release(const struct zt_sock *s)
{
	if (s->flags & ZF_ACCEPTED || s->state == ZS_CONNECTED)
		return; /* the service sees the end of the stream itself (and holds an accepted name) */
	int saved = errno;
	int t = real_socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (t >= 0) {
		/* Only when no process holds the socket any more can its name be bound again. */
		if (zt_bind_name(t, s->svc_pid, s->sockid) == 0) {
			struct zt_reply rep;
			zt_call(s->svc_pid, ZOP_CLOSE, s->sockid, 0, 0, 0, 0, &rep);
			zt_debug("s%08x closed everywhere: CLOSE sent", (unsigned)s->sockid);
		}
		real_close(t);
	}
	errno = saved;
}

int zt_take_so_error(int fd, const struct zt_sock *s, int *so)
{
	/* Only a failure or a reset leaves something to ask: the service then closes its end, so the
	 * fd shows POLLERR or POLLHUP. Otherwise SO_ERROR is 0 (connected, or still connecting) and
	 * the common check after a nonblocking connect costs no call. */
	struct pollfd p = {.fd = fd, .events = POLLOUT, .revents = 0};
	int pr;
	do
		pr = poll(&p, 1, 0);
	while (pr < 0 && errno == EINTR);
	if (pr >= 0 && !(p.revents & (POLLERR | POLLHUP)) && s->state != ZS_FAILED) {
		*so = 0;
		return 0;
	}
	struct zt_reply rep;
	int e = zt_call(s->svc_pid, ZOP_GETSOCKOPT, s->sockid, SOL_SOCKET, SO_ERROR, 0, 0, &rep);
	/* Also read (and so clear) the unix fd's own pending error: the service's end closed with
	 * unread bytes (a failed connect, or a reset) leaves ECONNRESET there, which keeps POLLERR
	 * up; TCP drops POLLERR once SO_ERROR is read, and so must we. */
	int saved = errno, k = 0;
	socklen_t klen = sizeof k;
	if (real_getsockopt(fd, SOL_SOCKET, SO_ERROR, &k, &klen) != 0)
		k = 0;
	errno = saved;
	if (e)
		return e;
	*so = rep.val[0] < 4096 ? (int)rep.val[0] : EPROTO;
	if (*so == 0 && k != 0 && s->state == ZS_CONNECTED)
		*so = k; /* the service had nothing to say, the kernel had a reset */
	return 0;
}

int zt_connect_progress(int fd, const struct zt_sock *s)
{
	if (s->state != ZS_CONNECTING)
		return s->state;
	struct pollfd p = {.fd = fd, .events = POLLOUT, .revents = 0};
	int r;
	do
		r = poll(&p, 1, 0);
	while (r < 0 && errno == EINTR);
	if (r > 0 && (p.revents & (POLLERR | POLLHUP)))
		return ZS_FAILED; /* the service closed its end without reading: failed */
	if (r > 0 && (p.revents & POLLOUT))
		return ZS_CONNECTED; /* the service read the stuffing: the handshake ended */
	/* Not writable: still connecting, or connected and the program filled the buffer since. */
	struct zt_reply rep;
	int e = zt_call(s->svc_pid, ZOP_INFO, s->sockid, 0, 0, 0, 0, &rep);
	if (e) {
		errno = e;
		return -1;
	}
	if (rep.val[0] == ZS_CONNECTED)
		return ZS_CONNECTED;
	return rep.val[0] == ZS_CONNECTING ? ZS_CONNECTING : ZS_FAILED;
}
