/*
 * Abstract socket names. A program socket is bound at socket() time to
 * "\0ztnc/<service pid>/s<sockid, 8 hex>"; the service's end of an accepted connection is bound to
 * "\0ztnc/<service pid>/c<connid, 8 hex>". The kernel keeps a name exactly as long as some process
 * holds the socket, so a name recognises an fd that crossed fork/exec/dup without any table, and a
 * successful bind of the name proves the socket is gone everywhere.
 * Abstract names are compared over their exact length: no terminating NUL is part of the name.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "intercept.h"

#define PREFIX "ztnc/"

socklen_t zt_name_make(struct sockaddr_un *sun, char kind, uint32_t svc_pid, uint32_t id)
{
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	/* At most 1 + 5 + 10 + 1 + 1 + 8 = 26 bytes: always fits in sun_path (108). */
	int n = snprintf(sun->sun_path + 1, sizeof sun->sun_path - 1, PREFIX "%u/%c%08x",
			 (unsigned)svc_pid, kind, (unsigned)id);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int zt_name_parse(const struct sockaddr_un *sun, socklen_t len, char *kind, uint32_t *svc_pid,
		  uint32_t *id)
{
	size_t off = offsetof(struct sockaddr_un, sun_path);
	if (sun->sun_family != AF_UNIX || len <= off + 1 || len > sizeof *sun)
		return 0;
	const char *p = sun->sun_path;
	size_t n = len - off; /* bytes of sun_path in the name, the leading NUL included */
	size_t plen = sizeof PREFIX - 1;
	if (p[0] != '\0' || n < 1 + plen + 1 + 1 + 1 + 8 || memcmp(p + 1, PREFIX, plen) != 0)
		return 0;
	size_t i = 1 + plen;
	uint64_t pid = 0;
	size_t digits = 0;
	while (i < n && p[i] >= '0' && p[i] <= '9' && digits < 10) {
		pid = pid * 10 + (uint64_t)(p[i] - '0');
		i++;
		digits++;
	}
	if (digits == 0 || pid == 0 || pid > UINT32_MAX || i + 2 + 8 != n || p[i] != '/')
		return 0;
	char k = p[i + 1];
	if (k != 's' && k != 'c')
		return 0;
	uint32_t v = 0;
	for (size_t j = i + 2; j < n; j++) {
		int h = hexval(p[j]);
		if (h < 0)
			return 0;
		v = v << 4 | (uint32_t)h;
	}
	*kind = k;
	*svc_pid = (uint32_t)pid;
	*id = v;
	return 1;
}
