/*
 * getsockname()/getpeername() from what the library recorded (SOCKET/BIND/LISTEN/CONNECT replies
 * and accept preambles), in the family the program asked for. The service is asked only when the
 * record cannot know: the local port of a connection before CONNECT chose it, and whether a
 * nonblocking connect has ended.
 */
#include <errno.h>

#include "intercept.h"

static int fail(int e)
{
	errno = e;
	return -1;
}

ZT_EXPORT int getsockname(int fd, zt_sa_arg arg, socklen_t *len)
{
	struct sockaddr *sa = ZT_SA(arg);
	struct zt_sock s;
	if (zt_mode() != ZM_ACTIVE)
		return real_getsockname(fd, sa, len);
	int saved = errno;
	int r = zt_lookup_fresh(fd, &s);
	if (r == 0)
		return real_getsockname(fd, sa, len);
	if (r < 0)
		return -1;
	if ((s.state == ZS_CONNECTING || s.state == ZS_CONNECTED) && s.lport == 0 &&
	    !(s.flags & ZF_GHOST)) {
		struct zt_reply rep;
		int e = zt_call(s.svc_pid, ZOP_GETNAME, s.sockid, 0, 0, 0, 0, &rep);
		if (e)
			return fail(e);
		s.laddr = rep.val[0];
		s.lport = (uint16_t)rep.val[1];
		table_update(fd, &s);
	}
	int e = zt_addr_out(s.family, s.laddr, s.lport, sa, len);
	if (e)
		return fail(e);
	errno = saved;
	return 0;
}

ZT_EXPORT int getpeername(int fd, zt_sa_arg arg, socklen_t *len)
{
	struct sockaddr *sa = ZT_SA(arg);
	struct zt_sock s;
	if (zt_mode() != ZM_ACTIVE)
		return real_getpeername(fd, sa, len);
	int saved = errno;
	int r = zt_lookup_fresh(fd, &s);
	if (r == 0)
		return real_getpeername(fd, sa, len);
	if (r < 0)
		return -1;
	if (s.state == ZS_CONNECTING) {
		int st = zt_connect_progress(fd, &s);
		if (st < 0)
			return -1;
		if (st != ZS_CONNECTING && st != ZS_FAILED) {
			s.state = (uint8_t)st;
			table_update(fd, &s);
		}
		/* A failed connect stays CONNECTING here: its SO_ERROR is still to be read. */
		if (st != ZS_CONNECTED)
			return fail(ENOTCONN);
	}
	if (s.state != ZS_CONNECTED)
		return fail(ENOTCONN);
	int e = zt_addr_out(s.family, s.raddr, s.rport, sa, len);
	if (e)
		return fail(e);
	errno = saved;
	return 0;
}
