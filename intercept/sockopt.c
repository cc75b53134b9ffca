/*
 * getsockopt()/setsockopt(). An AF_UNIX fd refuses every TCP/IP/IPv6-level option and reports
 * itself as AF_UNIX, so those are answered here or by the service (which owns the TCP socket):
 * - local: SO_TYPE, SO_DOMAIN, SO_PROTOCOL, IPV6_V6ONLY;
 * - service: SO_ERROR (read and cleared there), SO_KEEPALIVE, SO_LINGER, SO_RCVBUF, SO_SNDBUF,
 *   SO_REUSEADDR, SO_REUSEPORT and the IPPROTO_TCP/IP/IPV6 levels (SO_RCVBUF/SO_SNDBUF are also
 *   set on the fd, whose kernel buffers carry the data);
 * - the fd: every other SOL_SOCKET option (SO_RCVTIMEO, SO_PRIORITY, SO_ACCEPTCONN ...), which
 *   acts on the real fd, as it should.
 * Lengths follow the kernel, measured: a get copies min(optlen, size) (IP level: one byte when
 * optlen < 4 and the value fits), a set of an int needs optlen >= 4 (IP level: >= 1).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "intercept.h"

static int fail(int e)
{
	errno = e;
	return -1;
}

/* TCP options whose value is not an int; the protocol carries ints only. */
static int tcp_not_int(int name)
{
	switch (name) {
	case 11: /* TCP_INFO */
	case 13: /* TCP_CONGESTION */
	case 14: /* TCP_MD5SIG */
	case 22: /* TCP_REPAIR_OPTIONS */
	case 26: /* TCP_CC_INFO */
	case 28: /* TCP_SAVED_SYN */
	case 29: /* TCP_REPAIR_WINDOW */
	case 31: /* TCP_ULP */
	case 32: /* TCP_MD5SIG_EXT */
	case 33: /* TCP_FASTOPEN_KEY */
	case 35: /* TCP_ZEROCOPY_RECEIVE */
		return 1;
	}
	return name >= 38 && name <= 44; /* TCP_AO_* */
}

/*
 * TCP_CONGESTION carries a name; the protocol carries ints: the index in this list (the service's
 * CONGESTION_CODES). A name not here is refused with ENOENT, as Linux refuses an unknown one.
 */
static const char *const cc_names[] = {"cubic", "reno", "bbr"};
#define CC_COUNT ((int)(sizeof cc_names / sizeof cc_names[0]))
#define CC_NAME_MAX 16 /* TCP_CA_NAME_MAX */

static int cc_code(const void *val, socklen_t len, uint32_t *code)
{
	char name[CC_NAME_MAX];
	size_t n = len < CC_NAME_MAX - 1 ? (size_t)len : CC_NAME_MAX - 1;
	if (n && !val)
		return EFAULT;
	memcpy(name, val, n);
	name[n] = 0;
	for (int i = 0; i < CC_COUNT; i++) {
		if (strcmp(name, cc_names[i]) == 0) {
			*code = (uint32_t)i;
			return 0;
		}
	}
	return ENOENT;
}

static int service_sockopt(int name)
{
	return name == SO_ERROR || name == SO_KEEPALIVE || name == SO_LINGER || name == SO_RCVBUF ||
	       name == SO_SNDBUF || name == SO_REUSEADDR || name == SO_REUSEPORT;
}

static int put_bytes(void *val, socklen_t *lenp, const void *src, size_t size)
{
	int want = (int)*lenp;
	if (want < 0)
		return EINVAL;
	size_t n = (size_t)want < size ? (size_t)want : size;
	if (n && !val)
		return EFAULT;
	if (n)
		memcpy(val, src, n);
	*lenp = (socklen_t)n;
	return 0;
}

/*
 * TCP_INFO as Linux lays it out, filled from the stack's connection (state, RTT, MSS, congestion
 * window, retransmissions); fields the stack does not keep are 0. Programs such as iperf3 and nginx
 * ($tcpinfo_rtt) read it.
 */
static int tcp_info(const struct zt_sock *s, void *val, socklen_t *lenp)
{
	struct zt_reply rep;
	int e = zt_call(s->svc_pid, ZOP_GETSOCKOPT, s->sockid, IPPROTO_TCP, TCP_INFO, 0, 0, &rep);
	if (e)
		return e;
	uint32_t d[8];
	for (int i = 0; i < 8; i++)
		d[i] = (uint32_t)rep.data[4 * i] | (uint32_t)rep.data[4 * i + 1] << 8 |
		       (uint32_t)rep.data[4 * i + 2] << 16 | (uint32_t)rep.data[4 * i + 3] << 24;
	struct tcp_info ti;
	memset(&ti, 0, sizeof ti);
	ti.tcpi_state = (uint8_t)(d[0] <= 11 ? d[0] : 7);
	ti.tcpi_rtt = d[1];
	ti.tcpi_rttvar = d[2];
	ti.tcpi_snd_cwnd = d[3];
	ti.tcpi_snd_mss = d[4];
	ti.tcpi_rcv_mss = d[4];
	ti.tcpi_snd_ssthresh = d[5];
	ti.tcpi_unacked = d[6];
	ti.tcpi_total_retrans = d[7];
	ti.tcpi_rto = rep.val[0];
	return put_bytes(val, lenp, &ti, sizeof ti);
}

static int put_int(int level, void *val, socklen_t *lenp, int v)
{
	int want = (int)*lenp;
	if (level == IPPROTO_IP && want > 0 && want < (int)sizeof(int) && v >= 0 && v <= 255) {
		unsigned char c = (unsigned char)v;
		return put_bytes(val, lenp, &c, 1);
	}
	return put_bytes(val, lenp, &v, sizeof v);
}

static int get_opt(int fd, const struct zt_sock *s, int level, int name, void *val, socklen_t *lenp)
{
	if (!lenp)
		return EFAULT;
	if ((int)*lenp < 0)
		return EINVAL;
	if (level == SOL_SOCKET) {
		if (name == SO_TYPE)
			return put_int(level, val, lenp, SOCK_STREAM);
		if (name == SO_DOMAIN)
			return put_int(level, val, lenp, s->family);
		if (name == SO_PROTOCOL)
			return put_int(level, val, lenp, IPPROTO_TCP);
		if (name == SO_ERROR && (s->flags & ZF_GHOST))
			return put_int(level, val, lenp, 0);
		if (name == SO_ERROR) {
			int so = 0, e = zt_take_so_error(fd, s, &so);
			return e ? e : put_int(level, val, lenp, so);
		}
		if (!service_sockopt(name))
			return real_getsockopt(fd, level, name, val, lenp) == 0 ? 0 : errno;
	} else if (level == IPPROTO_IPV6) {
		if (s->family != AF_INET6)
			return EOPNOTSUPP;
		if (name == IPV6_V6ONLY)
			return put_int(level, val, lenp, (s->flags & ZF_V6ONLY) ? 1 : 0);
	} else if (level == IPPROTO_TCP) {
		if (name == TCP_CONGESTION) {
			/* the connection's congestion control, as Linux answers: the name in a 16-byte field */
			struct zt_reply rep;
			int e = zt_call(s->svc_pid, ZOP_GETSOCKOPT, s->sockid, IPPROTO_TCP, TCP_CONGESTION, 0, 0, &rep);
			if (e)
				return e;
			if (rep.val[0] >= (uint32_t)CC_COUNT)
				return EPROTO;
			char cc[CC_NAME_MAX] = {0};
			memcpy(cc, cc_names[rep.val[0]], strlen(cc_names[rep.val[0]]));
			return put_bytes(val, lenp, cc, sizeof cc);
		}
		if (name == TCP_INFO)
			return tcp_info(s, val, lenp);
		if (tcp_not_int(name))
			return ENOPROTOOPT;
	} else if (level != IPPROTO_IP) {
		return s->family == AF_INET6 ? ENOPROTOOPT : EOPNOTSUPP;
	}
	struct zt_reply rep;
	int e = zt_call(s->svc_pid, ZOP_GETSOCKOPT, s->sockid, (uint32_t)level, (uint32_t)name, 0, 0, &rep);
	if (e)
		return e;
	if (level == SOL_SOCKET && name == SO_LINGER) {
		struct linger l = {.l_onoff = (int)rep.val[0], .l_linger = (int)rep.val[1]};
		return put_bytes(val, lenp, &l, sizeof l);
	}
	return put_int(level, val, lenp, (int)rep.val[0]);
}

ZT_EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *lenp)
{
	struct zt_sock s;
	if (zt_mode() != ZM_ACTIVE)
		return real_getsockopt(fd, level, name, val, lenp);
	int saved = errno;
	int r = zt_lookup(fd, &s);
	if (r == 0)
		return real_getsockopt(fd, level, name, val, lenp);
	if (r < 0)
		return -1;
	int e = get_opt(fd, &s, level, name, val, lenp);
	zt_debug("getsockopt(fd %d, %d, %d): %s", fd, level, name, e ? strerror(e) : "ok");
	if (e)
		return fail(e);
	errno = saved;
	return 0;
}

/* The int a set carries: 0 or errno. */
static int read_int(int level, const void *val, socklen_t len, int *v)
{
	if (level == IPPROTO_IP && len < sizeof(int)) {
		*v = 0;
		if (len >= 1) {
			if (!val)
				return EFAULT;
			*v = *(const unsigned char *)val;
		}
		return 0;
	}
	if (len < sizeof(int))
		return EINVAL;
	if (!val)
		return EFAULT;
	memcpy(v, val, sizeof *v);
	return 0;
}

static int set_opt(int fd, struct zt_sock *s, int level, int name, const void *val, socklen_t len)
{
	if ((int)len < 0)
		return EINVAL;
	uint32_t a2 = 0, a3 = 0;
	int v = 0, e;
	if (level == SOL_SOCKET) {
		if (!service_sockopt(name) || name == SO_ERROR)
			return real_setsockopt(fd, level, name, val, len) == 0 ? 0 : errno;
		if (name == SO_LINGER) {
			struct linger l;
			if (len < sizeof l)
				return EINVAL;
			if (!val)
				return EFAULT;
			memcpy(&l, val, sizeof l);
			a2 = (uint32_t)l.l_onoff;
			a3 = (uint32_t)l.l_linger;
		} else if ((e = read_int(level, val, len, &v)) != 0) {
			return e;
		}
	} else if (level == IPPROTO_IPV6) {
		if (s->family != AF_INET6)
			return ENOPROTOOPT;
		if ((e = read_int(level, val, len, &v)) != 0)
			return e;
		if (name == IPV6_V6ONLY) {
			/* Only before bind, as in the kernel; it only matters for binding ::. */
			if (s->state != ZS_NEW || (s->flags & ZF_GHOST))
				return EINVAL;
			s->flags = v ? (uint16_t)(s->flags | ZF_V6ONLY) : (uint16_t)(s->flags & ~ZF_V6ONLY);
			table_update(fd, s);
			return 0;
		}
	} else if (level == IPPROTO_TCP) {
		if (name == TCP_CONGESTION) {
			uint32_t code;
			if ((e = cc_code(val, len, &code)) != 0)
				return e;
			v = (int)code;
		} else if (tcp_not_int(name)) {
			return ENOPROTOOPT;
		} else if ((e = read_int(level, val, len, &v)) != 0) {
			return e;
		}
	} else if (level == IPPROTO_IP) {
		if ((e = read_int(level, val, len, &v)) != 0)
			return e;
	} else {
		return ENOPROTOOPT;
	}
	if (!(level == SOL_SOCKET && name == SO_LINGER))
		a2 = (uint32_t)v;
	struct zt_reply rep;
	e = zt_call(s->svc_pid, ZOP_SETSOCKOPT, s->sockid, (uint32_t)level, (uint32_t)name, a2, a3, &rep);
	if (e)
		return e;
	if (level == SOL_SOCKET && name == SO_SNDBUF && s->sndbuf_restore != 0) {
		/* connecting with the buffer shrunk: the size applies once connected */
		s->sndbuf_restore = v > 0 ? v : 1;
		table_update(fd, s);
	} else if (level == SOL_SOCKET && (name == SO_RCVBUF || name == SO_SNDBUF)) {
		real_setsockopt(fd, level, name, val, len); /* the fd's own buffers carry the data */
	}
	if (level == SOL_SOCKET && (name == SO_REUSEADDR || name == SO_REUSEPORT)) {
		uint16_t bit = name == SO_REUSEADDR ? ZF_REUSEADDR : ZF_REUSEPORT;
		s->flags = v ? (uint16_t)(s->flags | bit) : (uint16_t)(s->flags & ~bit);
		table_update(fd, s);
	}
	return 0;
}

ZT_EXPORT int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	struct zt_sock s;
	if (zt_mode() != ZM_ACTIVE)
		return real_setsockopt(fd, level, name, val, len);
	int saved = errno;
	int r = zt_lookup(fd, &s);
	if (r == 0)
		return real_setsockopt(fd, level, name, val, len);
	if (r < 0)
		return -1;
	int e = set_opt(fd, &s, level, name, val, len);
	zt_debug("setsockopt(fd %d, %d, %d): %s", fd, level, name, e ? strerror(e) : "ok");
	if (e)
		return fail(e);
	errno = saved;
	return 0;
}
