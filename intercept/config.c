/*
 * The environment, read once per process: ZT_NC_NWID (16 hex digits: the network whose stack
 * serves this program; unset: the library is inert), ZT_NC_HOME (the service's home, where
 * netcon.d/ lives) and ZT_NC_DEBUG=1 (trace every call on sockets of ours).
 * Read on the first hook call or in the constructor, whichever comes first: a hook can run
 * before our constructor when another library's constructor opens a socket.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "intercept.h"

#define DEFAULT_HOME "/var/lib/zerotier-one"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int mode = ZM_INERT;
static int debug;
static uint64_t nwid;
static char nwid_hex[17];
static char home[4096];

static int parse_nwid(const char *s)
{
	if (strlen(s) != 16)
		return -1;
	uint64_t v = 0;
	for (int i = 0; i < 16; i++) {
		char c = s[i];
		int d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	nwid = v;
	snprintf(nwid_hex, sizeof nwid_hex, "%016llx", (unsigned long long)v);
	return 0;
}

static void atfork_child(void)
{
	table_atfork_child();
	zt_rpc_atfork_child();
}

static void init(void)
{
	const char *d = getenv("ZT_NC_DEBUG");
	debug = d && strcmp(d, "1") == 0;
	const char *n = getenv("ZT_NC_NWID");
	if (!n)
		return; /* inert: every hook is the real function */
	const char *h = getenv("ZT_NC_HOME");
	if (!h || !*h)
		h = DEFAULT_HOME;
	if (parse_nwid(n) != 0) {
		mode = ZM_BROKEN;
		zt_log("ZT_NC_NWID=\"%.40s\" is not a network id (16 hex digits); "
		       "IPv4/IPv6 sockets will fail with EACCES", n);
		return;
	}
	/* Relative to where the program started: it may chdir before it reconnects. */
	char cwd[sizeof home];
	int hl = h[0] == '/' ? snprintf(home, sizeof home, "%s", h)
	       : getcwd(cwd, sizeof cwd) ? snprintf(home, sizeof home, "%s/%s", cwd, h)
				       : -1;
	if (hl < 0 || (size_t)hl >= sizeof home) {
		mode = ZM_BROKEN;
		zt_log("ZT_NC_HOME is too long or unusable; IPv4/IPv6 sockets will fail with EACCES");
		return;
	}
	/* The table lock is taken around fork so the child never inherits it mid-update; the
	 * channel lock is only re-made in the child (the child never uses the parent's channel). */
	pthread_atfork(table_atfork_prepare, table_atfork_parent, atfork_child);
	mode = ZM_ACTIVE;
	struct sockaddr_un sun;
	socklen_t len;
	if (zt_endpoint("data", &sun, &len) != 0) /* the longer of the two */
		zt_log("%s/netcon.d/%s.data is longer than a unix socket path (107 bytes); "
		       "every socket call will fail with ENETDOWN", home, nwid_hex);
}

__attribute__((constructor)) static void ctor(void)
{
	pthread_once(&once, init);
}

int zt_mode(void)
{
	pthread_once(&once, init);
	return mode;
}

int zt_debug_enabled(void)
{
	return debug;
}

uint64_t zt_nwid(void)
{
	return nwid;
}

int zt_endpoint(const char *suffix, struct sockaddr_un *sun, socklen_t *len)
{
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	int n = snprintf(sun->sun_path, sizeof sun->sun_path, "%s/netcon.d/%s.%s", home, nwid_hex,
			 suffix);
	if (n < 0 || (size_t)n >= sizeof sun->sun_path)
		return -1;
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
	return 0;
}
