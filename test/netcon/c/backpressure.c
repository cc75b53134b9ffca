/* Backpressure: a peer that never reads ("hold", port 13) makes writes on a nonblocking fd end in
 * EAGAIN after a bounded amount, and neither this process nor the service buffers without bound.
 * The runner passes the service's pid in ZT_TEST_SERVICE_PID. */
#include "ztest.h"

/* VmRSS of a process in KiB, or -1. */
static long rss_kib(const char *pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%s/status", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long v = -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

int main(void)
{
	watchdog(60);
	const char *svc = getenv("ZT_TEST_SERVICE_PID");
	long self0 = rss_kib("self"), svc0 = svc ? rss_kib(svc) : -1;
	int fd = tcp_connect(PEER_IP, PORT_HOLD);
	REQUIRE("connect to hold", fd >= 0, "errno %s", ename(errno));
	set_nonblocking(fd, 1);
	static char buf[65536];
	size_t total = 0;
	int eagain = 0;
	int64_t t0 = now_ms();
	/* Writes stop being accepted once the unix buffer, the service's TCP send buffer and the
	 * peer's window are full; allow the service some time to push into its window. */
	while (now_ms() - t0 < 20000 && total < (256u << 20)) {
		ssize_t w = write(fd, buf, sizeof buf);
		if (w > 0) {
			total += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EAGAIN) {
			if (!(wait_fd(fd, POLLOUT, 1000) & POLLOUT)) {
				eagain = 1;
				break;
			}
			continue;
		}
		notok("write", "errno %s after %zu bytes", ename(errno), total);
		return finish();
	}
	CHECK("writes end in EAGAIN and stay blocked", eagain, "%zu bytes accepted without end", total);
	CHECK("bounded buffering (< 64 MiB in flight)", total < (64u << 20), "%zu bytes", total);
	printf("# %zu bytes accepted before EAGAIN\n", total);
	long self1 = rss_kib("self");
	CHECK("this process did not grow", self0 < 0 || self1 - self0 < 8192, "VmRSS %ld -> %ld KiB", self0,
	      self1);
	if (svc) {
		long svc1 = rss_kib(svc);
		printf("# service VmRSS %ld -> %ld KiB\n", svc0, svc1);
		CHECK("the service did not buffer the excess", svc0 < 0 || svc1 < 0 || svc1 - svc0 < 65536,
		      "VmRSS %ld -> %ld KiB", svc0, svc1);
	}
	/* It stays blocked: another second of trying gets (almost) nothing through. */
	size_t more = 0;
	for (int64_t t1 = now_ms(); now_ms() - t1 < 1000;) {
		ssize_t w = write(fd, buf, sizeof buf);
		if (w > 0)
			more += (size_t)w;
		else
			wait_fd(fd, POLLOUT, 100);
	}
	CHECK("it stays blocked", more < (1u << 20), "%zu more bytes went through", more);
	close(fd);
	return finish();
}
