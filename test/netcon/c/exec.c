/* fork+exec: the child's library starts with an empty table and recognises inherited sockets
 * by their kernel names. The child gets a connected socket and a listener. */
#include <sys/wait.h>

#include "ztest.h"

static int child(int fd, int l, uint16_t lport)
{
	struct sockaddr_in pn;
	socklen_t len = sizeof pn;
	int r = getpeername(fd, (struct sockaddr *)&pn, &len);
	CHECK("child: getpeername of the inherited socket is 10.9.0.2:7",
	      r == 0 && pn.sin_family == AF_INET && pn.sin_addr.s_addr == htonl(PEER_IP) &&
		      ntohs(pn.sin_port) == PORT_ECHO,
	      "r=%d errno %s family %d %s:%u", r, ename(errno), pn.sin_family, inet_ntoa(pn.sin_addr),
	      ntohs(pn.sin_port));
	int v = -1;
	socklen_t vl = sizeof v;
	r = getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &vl);
	CHECK("child: SO_DOMAIN AF_INET", r == 0 && v == AF_INET, "r=%d v=%d", r, v);
	r = getsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &v, &vl);
	CHECK("child: TCP-level getsockopt works", r == 0, "errno %s", ename(errno));
	char buf[5];
	CHECK("child: data through the inherited socket", write_all(fd, "child", 5) == 0 &&
								  read_full(fd, buf, 5) == 5 &&
								  memcmp(buf, "child", 5) == 0,
	      "bad echo");
	struct sockaddr_in ln;
	len = sizeof ln;
	r = getsockname(l, (struct sockaddr *)&ln, &len);
	CHECK("child: getsockname of the inherited listener", r == 0 && ntohs(ln.sin_port) == lport,
	      "r=%d errno %s port %u", r, ename(errno), ntohs(ln.sin_port));
	int c = tcp_connect(SELF_IP, lport);
	int a = accept(l, NULL, NULL);
	CHECK("child: accept on the inherited listener", c >= 0 && a >= 0, "c=%d a=%d errno %s", c, a,
	      ename(errno));
	close(a);
	close(c);
	return finish();
}

int main(int argc, char **argv)
{
	watchdog(60);
	if (argc == 5 && strcmp(argv[1], "child") == 0)
		return child(atoi(argv[2]), atoi(argv[3]), (uint16_t)atoi(argv[4]));
	int fd = tcp_connect(PEER_IP, PORT_ECHO);
	REQUIRE("connect to echo", fd >= 0, "errno %s", ename(errno));
	uint16_t lport = 0;
	int l = tcp_listen(SELF_IP, 0, &lport);
	REQUIRE("listen", l >= 0, "errno %s", ename(errno));
	char sfd[16], sl[16], sp[16];
	snprintf(sfd, sizeof sfd, "%d", fd);
	snprintf(sl, sizeof sl, "%d", l);
	snprintf(sp, sizeof sp, "%u", lport);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		execl("/proc/self/exe", argv[0], "child", sfd, sl, sp, (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	CHECK("child exited 0", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
	char buf[6];
	CHECK("parent: the socket still works after the child", write_all(fd, "paren", 5) == 0 &&
									 read_full(fd, buf, 5) == 5,
	      "bad echo");
	close(fd);
	close(l);
	return finish();
}
