/* A listener shared by two forked processes (prefork servers): each connection is accepted by
 * exactly one of them. Each child accepts with a blocking accept() and reports the 4-byte id the
 * client sent through a pipe. Twice: listen() before the fork, and listen() called by each child
 * on a socket the parent only bound (each process has its own view of the shared socket). */
#include <sys/wait.h>

#include "ztest.h"

#define CLIENTS 40
#define READY 0xffffffffu /* a child's first record: it listens */

static void child(int l, int out, int which, int do_listen)
{
	if (do_listen && listen(l, 16) != 0) {
		fprintf(stderr, "child %d: listen: %s\n", which, strerror(errno));
		_exit(5);
	}
	uint32_t ready[2] = {READY, (uint32_t)which};
	if (write(out, ready, sizeof ready) != sizeof ready)
		_exit(6);
	for (;;) {
		int s = accept(l, NULL, NULL);
		if (s < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			fprintf(stderr, "child %d: accept: %s\n", which, strerror(errno));
			_exit(2);
		}
		uint32_t id;
		if (read_full(s, &id, sizeof id) != sizeof id)
			_exit(3);
		uint32_t rec[2] = {id, (uint32_t)which};
		if (write(out, rec, sizeof rec) != sizeof rec)
			_exit(4);
		write_all(s, "k", 1);
		close(s);
	}
}

static void serve_round(int listen_in_children)
{
	const char *how = listen_in_children ? " (children call listen)" : "";
	char name[128];
	uint16_t port = 0;
	int l;
	if (listen_in_children) {
		l = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = sin4(SELF_IP, 0);
		socklen_t len = sizeof a;
		int r = bind(l, (struct sockaddr *)&a, sizeof a);
		r = r ? r : getsockname(l, (struct sockaddr *)&a, &len);
		port = ntohs(a.sin_port);
		REQUIRE("bind in the parent", r == 0 && port != 0, "errno %s", ename(errno));
	} else {
		l = tcp_listen(SELF_IP, 0, &port);
		REQUIRE("listen", l >= 0, "errno %s", ename(errno));
	}
	int p[2];
	if (pipe(p) != 0)
		exit(1);
	pid_t kids[2];
	for (int i = 0; i < 2; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			close(p[0]);
			child(l, p[1], i, listen_in_children);
		}
	}
	close(p[1]);
	for (int i = 0; i < 2; i++) {
		uint32_t rec[2] = {0, 0};
		REQUIRE(listen_in_children ? "children listen" : "children start",
			(wait_fd(p[0], POLLIN, 10000) & POLLIN) && read_full(p[0], rec, sizeof rec) == sizeof rec &&
				rec[0] == READY,
			"no ready record");
	}
	int seen[CLIENTS] = {0}, per_child[2] = {0};
	int bad = 0;
	for (uint32_t i = 0; i < CLIENTS; i++) {
		int c = tcp_connect(SELF_IP, port);
		if (c < 0) {
			notok("connect", "client %u: %s", i, ename(errno));
			bad = 1;
			break;
		}
		write_all(c, &i, sizeof i);
		char k;
		if (read_full(c, &k, 1) != 1)
			bad = 1;
		close(c);
	}
	snprintf(name, sizeof name, "all clients served%s", how);
	CHECK(name, !bad, "a client failed");
	for (int got = 0; got < CLIENTS;) {
		if (!(wait_fd(p[0], POLLIN, 5000) & POLLIN))
			break;
		uint32_t rec[2];
		if (read_full(p[0], rec, sizeof rec) != sizeof rec)
			break;
		if (rec[0] < CLIENTS && rec[1] < 2) {
			seen[rec[0]]++;
			per_child[rec[1]]++;
		}
		got++;
	}
	int dup = 0, missing = 0;
	for (int i = 0; i < CLIENTS; i++) {
		dup += seen[i] > 1;
		missing += seen[i] == 0;
	}
	snprintf(name, sizeof name, "each connection accepted exactly once%s", how);
	CHECK(name, dup == 0 && missing == 0,
	      "%d duplicated, %d missing (children %d/%d)", dup, missing, per_child[0], per_child[1]);
	printf("# children accepted %d and %d\n", per_child[0], per_child[1]);
	for (int i = 0; i < 2; i++)
		kill(kids[i], SIGTERM);
	for (int i = 0; i < 2; i++) {
		int st;
		waitpid(kids[i], &st, 0);
		snprintf(name, sizeof name, "child ended by our SIGTERM, not by an error%s", how);
		CHECK(name, WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "status 0x%x", st);
	}
	close(l);
	close(p[0]);
}

int main(void)
{
	watchdog(60);
	serve_round(0);
	serve_round(1);
	return finish();
}
