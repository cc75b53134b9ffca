/*
 * The life of a socket: socket, bind, listen, shutdown, close. (connect.c, accept.c, sockname.c
 * and sockopt.c hold the rest.) Every hook is the real function when ZT_NC_NWID is unset, and for
 * any fd that is not one of ours. A hook that succeeds leaves errno as it found it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/stat.h>

#include "intercept.h"

static int warned_udp, warned_other;

static int fail(int e)
{
	errno = e;
	return -1;
}

int zt_socket(int domain, int type, int protocol)
{
	int mode = zt_mode();
	if (mode == ZM_INERT || (domain != AF_INET && domain != AF_INET6))
		return real_socket(domain, type, protocol);
	if (mode == ZM_BROKEN)
		return fail(EACCES);
	int saved = errno;
	int flags = type & (SOCK_NONBLOCK | SOCK_CLOEXEC);
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (base & ~0xf)
		return fail(EINVAL);
	if (base != SOCK_STREAM || (protocol != 0 && protocol != IPPROTO_TCP)) {
		/* Never a host socket: the program must not leave the network it was put in. */
		if (base == SOCK_DGRAM)
			zt_log_once(&warned_udp, "UDP sockets are not supported yet: socket() fails "
						 "with EPROTONOSUPPORT");
		else
			zt_log_once(&warned_other, "only TCP sockets are supported: socket(%d, %d, %d) "
						   "fails with EPROTONOSUPPORT", domain, base, protocol);
		return fail(EPROTONOSUPPORT);
	}
	int fd = real_socket(AF_UNIX, SOCK_STREAM | flags, 0);
	if (fd < 0)
		return -1;
	struct zt_reply rep;
	int e = zt_call(0, ZOP_SOCKET, 0, AF_INET, SOCK_STREAM, (uint32_t)protocol, (uint32_t)domain, &rep);
	if (e == 0 && rep.sockid == 0)
		e = EPROTO;
	if (e == 0 && (e = zt_bind_name(fd, rep.svc_pid, rep.sockid)) != 0) {
		zt_log("cannot bind the abstract name of socket s%08x: %s", (unsigned)rep.sockid,
		       strerror(e));
		e = ENETDOWN;
	}
	struct stat st;
	if (e == 0 && fstat(fd, &st) != 0)
		e = errno;
	if (e) {
		real_close(fd);
		return fail(e);
	}
	struct zt_sock s;
	zt_sock_init(&s, &st, rep.sockid, rep.svc_pid, domain, ZS_NEW);
	table_put(fd, &s);
	zt_debug("socket(%s) = fd %d, s%08x", domain == AF_INET ? "AF_INET" : "AF_INET6", fd,
		 (unsigned)s.sockid);
	errno = saved;
	return fd;
}

ZT_EXPORT int socket(int domain, int type, int protocol)
{
	return zt_socket(domain, type, protocol);
}

ZT_EXPORT int bind(int fd, zt_csa_arg arg, socklen_t len)
{
	const struct sockaddr *sa = ZT_SA(arg);
	struct zt_sock s;
	if (zt_mode() != ZM_ACTIVE)
		return real_bind(fd, sa, len);
	int saved = errno;
	int r = zt_lookup(fd, &s);
	if (r == 0)
		return real_bind(fd, sa, len);
	if (r < 0)
		return -1;
	uint32_t ip;
	uint16_t port;
	int any6;
	int e = zt_addr_in(&s, sa, len, 0, &ip, &port, &any6);
	if (e)
		return fail(e);
	if (s.state != ZS_NEW || (s.flags & (ZF_GHOST | ZF_ATTACHED)))
		return fail(EINVAL);
	if (any6 && (s.flags & ZF_V6ONLY)) {
		/* An IPv6-only socket on :: of a host without IPv6: it binds and listens but never
		 * sees a connection. The service is not told, so it does not take the IPv4 port
		 * (nginx binds [::]:80 ipv6only=on next to 0.0.0.0:80). */
		s.flags |= ZF_GHOST | ZF_USERBOUND;
		s.lport = port;
		s.state = ZS_BOUND;
		table_update(fd, &s);
		errno = saved;
		return 0;
	}
	uint32_t bflags = (s.flags & ZF_REUSEADDR ? 1u : 0) | (s.flags & ZF_REUSEPORT ? 2u : 0);
	struct zt_reply rep;
	e = zt_call(s.svc_pid, ZOP_BIND, s.sockid, ip, port, bflags, 0, &rep);
	zt_debug("bind(fd %d, %08x:%u) = %s", fd, (unsigned)ip, (unsigned)port, strerror(e));
	if (e)
		return fail(e);
	s.laddr = rep.val[0];
	s.lport = (uint16_t)rep.val[1];
	s.state = ZS_BOUND;
	s.flags |= ZF_USERBOUND;
	table_update(fd, &s);
	errno = saved;
	return 0;
}

ZT_EXPORT int listen(int fd, int backlog)
{
	struct zt_sock s;
	if (zt_mode() != ZM_ACTIVE)
		return real_listen(fd, backlog);
	int saved = errno;
	int r = zt_lookup_fresh(fd, &s);
	if (r == 0)
		return real_listen(fd, backlog);
	if (r < 0)
		return -1;
	if (s.state == ZS_CONNECTING || s.state == ZS_CONNECTED || (s.flags & ZF_ATTACHED))
		return fail(EINVAL);
	/* The unix listener first, so the service may connect as soon as it knows. Listening
	 * again only changes the backlog, as in the kernel. */
	if (real_listen(fd, backlog) != 0)
		return -1;
	if (s.state == ZS_LISTENING || (s.flags & ZF_GHOST)) {
		s.state = ZS_LISTENING;
		table_update(fd, &s);
		errno = saved;
		return 0;
	}
	/* The kernel reads the backlog as unsigned: a negative one means "as large as allowed". */
	uint32_t b = backlog < 0 ? 4096u : backlog > 4096 ? 4096u : (uint32_t)backlog;
	struct zt_reply rep;
	int e = zt_call(s.svc_pid, ZOP_LISTEN, s.sockid, b, 0, 0, 0, &rep);
	zt_debug("listen(fd %d, %d) = %s", fd, backlog, strerror(e));
	if (e)
		return fail(e);
	s.laddr = rep.val[0];
	s.lport = (uint16_t)rep.val[1];
	s.state = ZS_LISTENING;
	table_update(fd, &s);
	errno = saved;
	return 0;
}

ZT_EXPORT int shutdown(int fd, int how)
{
	struct zt_sock s;
	if (zt_mode() != ZM_ACTIVE)
		return real_shutdown(fd, how);
	int r = zt_lookup_fresh(fd, &s);
	if (r == 0)
		return real_shutdown(fd, how);
	if (r < 0)
		return -1;
	if (how < SHUT_RD || how > SHUT_RDWR)
		return fail(EINVAL);
	/* An unconnected TCP socket says ENOTCONN; an unconnected unix socket would say 0. */
	if (s.state == ZS_NEW || s.state == ZS_BOUND || s.state == ZS_FAILED)
		return fail(ENOTCONN);
	/* On the unix fd, SHUT_WR is EOF at the service's end, which sends the TCP FIN. */
	return real_shutdown(fd, how);
}

ZT_EXPORT int close(int fd)
{
	if (zt_mode() != ZM_ACTIVE)
		return real_close(fd);
	struct zt_sock s;
	int last = 0;
	/* No fstat: close is hot. A stale slot only costs a harmless probe of a dead name. */
	int had = table_take(fd, &s, &last);
	int r = real_close(fd);
	if (had && last) {
		int e = errno;
		zt_release(&s);
		errno = e;
	}
	return r;
}
