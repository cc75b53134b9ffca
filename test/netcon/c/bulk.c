/* 20 MiB through the echo port and back, written and read at once from one nonblocking fd
 * (writing everything first would deadlock on flow control, as with real TCP). */
#include "ztest.h"

#define TOTAL (20u << 20)

/* FNV-1a 64 over a stream, byte by byte. */
static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static unsigned char pattern(size_t i)
{
	return (unsigned char)((i * 2654435761u) >> 13);
}

int main(void)
{
	watchdog(120);
	int fd = tcp_connect(PEER_IP, PORT_ECHO);
	REQUIRE("connect to echo", fd >= 0, "errno %s", ename(errno));
	set_nonblocking(fd, 1);
	static unsigned char out[65536], in[65536];
	size_t sent = 0, recvd = 0;
	uint64_t hs = 0xcbf29ce484222325ull, hr = hs;
	int64_t t0 = now_ms();
	while (recvd < TOTAL) {
		short want = POLLIN | (sent < TOTAL ? POLLOUT : 0);
		int ev = wait_fd(fd, want, 10000);
		if (ev == 0) {
			notok("echo round trip", "stalled at %zu sent, %zu received", sent, recvd);
			return finish();
		}
		if ((ev & POLLOUT) && sent < TOTAL) {
			size_t n = TOTAL - sent < sizeof out ? TOTAL - sent : sizeof out;
			for (size_t i = 0; i < n; i++)
				out[i] = pattern(sent + i);
			ssize_t w = write(fd, out, n);
			if (w > 0) {
				hs = fnv(hs, out, (size_t)w);
				sent += (size_t)w;
				if (sent == TOTAL)
					shutdown(fd, SHUT_WR);
			} else if (w < 0 && errno != EAGAIN) {
				notok("write", "errno %s at %zu", ename(errno), sent);
				return finish();
			}
		}
		if (ev & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = read(fd, in, sizeof in);
			if (r > 0) {
				hr = fnv(hr, in, (size_t)r);
				recvd += (size_t)r;
			} else if (r == 0) {
				break;
			} else if (errno != EAGAIN) {
				notok("read", "errno %s at %zu", ename(errno), recvd);
				return finish();
			}
		}
	}
	int64_t dt = now_ms() - t0;
	CHECK("20 MiB echoed", recvd == TOTAL && sent == TOTAL, "sent %zu received %zu", sent, recvd);
	CHECK("checksums match", hs == hr, "sent %016llx received %016llx", (unsigned long long)hs,
	      (unsigned long long)hr);
	char c;
	ssize_t r;
	while ((r = read(fd, &c, 1)) < 0 && errno == EAGAIN)
		wait_fd(fd, POLLIN, 5000);
	CHECK("EOF after the echo", r == 0, "r=%zd", r);
	printf("# 20 MiB round trip in %lld ms (%.1f MiB/s each way)\n", (long long)dt,
	       dt > 0 ? 20.0 * 1000 / (double)dt : 0.0);
	close(fd);
	return finish();
}
