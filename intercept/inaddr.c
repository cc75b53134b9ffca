/*
 * Addresses between the program and the protocol. The stack is IPv4-only: an AF_INET6 socket is
 * emulated as a dual-stack socket on a host without IPv6 addresses, so :: and ::ffff:a.b.c.d map
 * to IPv4, any other IPv6 address is unreachable (connect) or not ours (bind), and every name the
 * program reads back is a sockaddr_in6 (v4-mapped). Checks and errnos follow Linux's
 * inet_bind/inet6_bind/tcp_v4_connect/tcp_v6_connect, measured on this kernel.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "intercept.h"

static int parse_in(const struct sockaddr *sa, socklen_t len, int for_connect, uint32_t *ip,
		    uint16_t *port)
{
	if (len < sizeof(struct sockaddr_in))
		return EINVAL;
	struct sockaddr_in sin;
	memcpy(&sin, sa, sizeof sin);
	/* inet_bind accepts AF_UNSPEC with INADDR_ANY, for old programs. */
	int unspec_any = !for_connect && sin.sin_family == AF_UNSPEC &&
			 sin.sin_addr.s_addr == htonl(INADDR_ANY);
	if (sin.sin_family != AF_INET && !unspec_any)
		return EAFNOSUPPORT;
	*ip = ntohl(sin.sin_addr.s_addr);
	*port = ntohs(sin.sin_port);
	return 0;
}

static int parse_in6(const struct zt_sock *s, const struct sockaddr *sa, socklen_t len,
		     int for_connect, uint32_t *ip, uint16_t *port, int *any6)
{
	if (len < 24) /* SIN6_LEN_RFC2133: the RFC 2133 sockaddr_in6, without sin6_scope_id */
		return EINVAL;
	struct sockaddr_in6 sin6;
	memset(&sin6, 0, sizeof sin6);
	memcpy(&sin6, sa, len < sizeof sin6 ? len : sizeof sin6);
	if (sin6.sin6_family != AF_INET6)
		return EAFNOSUPPORT;
	const uint8_t *a = sin6.sin6_addr.s6_addr;
	static const uint8_t zero[16];
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	*port = ntohs(sin6.sin6_port);
	if (memcmp(a, zero, 16) == 0) {
		*ip = 0;
		*any6 = 1;
		return 0;
	}
	if (memcmp(a, mapped, 12) == 0) {
		if (s->flags & ZF_V6ONLY)
			return for_connect ? ENETUNREACH : EINVAL;
		*ip = (uint32_t)a[12] << 24 | (uint32_t)a[13] << 16 | (uint32_t)a[14] << 8 | a[15];
		return 0;
	}
	return for_connect ? ENETUNREACH : EADDRNOTAVAIL;
}

int zt_addr_in(const struct zt_sock *s, const struct sockaddr *sa, socklen_t len, int for_connect,
	       uint32_t *ip, uint16_t *port, int *any6)
{
	*any6 = 0;
	if (!sa)
		return EFAULT;
	if (s->family == AF_INET6)
		return parse_in6(s, sa, len, for_connect, ip, port, any6);
	return parse_in(sa, len, for_connect, ip, port);
}

int zt_addr_out(int family, uint32_t ip, uint16_t port, struct sockaddr *sa, socklen_t *lenp)
{
	union {
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} u;
	size_t full;
	memset(&u, 0, sizeof u);
	if (family == AF_INET6) {
		u.in6.sin6_family = AF_INET6;
		u.in6.sin6_port = htons(port);
		if (ip != 0) { /* the wildcard stays ::, as a dual-stack socket bound to :: shows */
			uint8_t *a = u.in6.sin6_addr.s6_addr;
			a[10] = a[11] = 0xff;
			a[12] = (uint8_t)(ip >> 24);
			a[13] = (uint8_t)(ip >> 16);
			a[14] = (uint8_t)(ip >> 8);
			a[15] = (uint8_t)ip;
		}
		full = sizeof u.in6;
	} else {
		u.in.sin_family = AF_INET;
		u.in.sin_port = htons(port);
		u.in.sin_addr.s_addr = htonl(ip);
		full = sizeof u.in;
	}
	if (!lenp)
		return EFAULT;
	int want = (int)*lenp; /* the kernel reads the length as an int: negative is EINVAL */
	if (want < 0)
		return EINVAL;
	size_t n = (size_t)want < full ? (size_t)want : full;
	if (n && !sa)
		return EFAULT;
	if (n)
		memcpy(sa, &u, n);
	*lenp = (socklen_t)full;
	return 0;
}
