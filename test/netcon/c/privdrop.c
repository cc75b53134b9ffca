/* A worker that drops privileges after fork (apache's and nginx's workers started by root, sshd's
 * privilege separation) may not open a control channel of its own (the service's directory is
 * owner-only), but the listener it inherited is a real AF_UNIX listener: blocking accept must
 * still wait for and return connections, with the peer's address, instead of failing with
 * ENETDOWN. Needs root (CI is root); it fails plainly otherwise. */
#include <grp.h>
#include <sys/wait.h>

#include "ztest.h"

int main(void)
{
	watchdog(60);
	REQUIRE("runs as root (to drop privileges)", geteuid() == 0, "euid %u", (unsigned)geteuid());
	uint16_t port = 0;
	int l = tcp_listen(SELF_IP, 0, &port);
	REQUIRE("listen", l >= 0, "errno %s", ename(errno));
	int pipefd[2];
	REQUIRE("pipe", pipe(pipefd) == 0, "errno %s", ename(errno));
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
			_exit(3);
		if (write(pipefd[1], "r", 1) != 1) /* dropped: the parent may connect now */
			_exit(4);
		struct sockaddr_in pn;
		socklen_t len = sizeof pn;
		int a = accept(l, (struct sockaddr *)&pn, &len);
		if (a < 0) {
			printf("not ok child: accept as uid 65534: errno %s\n", ename(errno));
			_exit(1);
		}
		if (pn.sin_addr.s_addr != htonl(SELF_IP)) {
			printf("not ok child: peer address %s\n", inet_ntoa(pn.sin_addr));
			_exit(1);
		}
		char buf[4];
		if (read_full(a, buf, 4) != 4 || memcmp(buf, "ping", 4) != 0 || write_all(a, "pong", 4) != 0)
			_exit(2);
		_exit(0);
	}
	close(pipefd[1]);
	char go;
	REQUIRE("child dropped to uid 65534", read(pipefd[0], &go, 1) == 1, "child died early");
	int c = tcp_connect(SELF_IP, port);
	REQUIRE("connect to the worker's listener", c >= 0, "errno %s", ename(errno));
	char buf[4];
	CHECK("data through the connection the unprivileged worker accepted",
	      write_all(c, "ping", 4) == 0 && read_full(c, buf, 4) == 4 && memcmp(buf, "pong", 4) == 0,
	      "no pong");
	int st;
	waitpid(pid, &st, 0);
	CHECK("worker exited 0", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
	close(c);
	close(l);
	return finish();
}
