/* fork+exec: the child's library starts with an empty table and recognises inherited sockets
 * by their kernel names. The child gets a connected socket, a listener and an accepted
 * connection (sshd hands its accepted socket to a re-executed sshd this way). */
#include <sys/wait.h>

#include "ztest.h"

static int child(int fd, int l, uint16_t lport, int acc, uint16_t cport)
{
	/* An accepted AF_UNIX socket carries its listener's name: it must not be taken for the
	 * listener (sshd's re-exec saw "not connected" before this was checked). */
	struct sockaddr_in ap;
	socklen_t alen = sizeof ap;
	int ar = getpeername(acc, (struct sockaddr *)&ap, &alen);
	CHECK("child: getpeername of the inherited accepted socket is its client",
	      ar == 0 && ap.sin_addr.s_addr == htonl(SELF_IP) && ntohs(ap.sin_port) == cport,
	      "r=%d errno %s %s:%u", ar, ename(errno), inet_ntoa(ap.sin_addr), ntohs(ap.sin_port));
	int ac = -1;
	socklen_t acl = sizeof ac;
	ar = getsockopt(acc, SOL_SOCKET, SO_ACCEPTCONN, &ac, &acl);
	CHECK("child: the accepted socket is not a listener", ar == 0 && ac == 0, "r=%d v=%d", ar, ac);
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
	if (argc == 7 && strcmp(argv[1], "child") == 0)
		return child(atoi(argv[2]), atoi(argv[3]), (uint16_t)atoi(argv[4]), atoi(argv[5]),
			     (uint16_t)atoi(argv[6]));
	int fd = tcp_connect(PEER_IP, PORT_ECHO);
	REQUIRE("connect to echo", fd >= 0, "errno %s", ename(errno));
	uint16_t lport = 0;
	int l = tcp_listen(SELF_IP, 0, &lport);
	REQUIRE("listen", l >= 0, "errno %s", ename(errno));
	int c2 = tcp_connect(SELF_IP, lport);
	int a2 = accept(l, NULL, NULL);
	REQUIRE("an accepted connection for the child", c2 >= 0 && a2 >= 0, "errno %s", ename(errno));
	struct sockaddr_in cn;
	socklen_t cl = sizeof cn;
	REQUIRE("client port", getsockname(c2, (struct sockaddr *)&cn, &cl) == 0, "errno %s", ename(errno));
	char sfd[16], sl[16], sp[16], sa[16], sc[16];
	snprintf(sfd, sizeof sfd, "%d", fd);
	snprintf(sl, sizeof sl, "%d", l);
	snprintf(sp, sizeof sp, "%u", lport);
	snprintf(sa, sizeof sa, "%d", a2);
	snprintf(sc, sizeof sc, "%u", ntohs(cn.sin_port));
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		execl("/proc/self/exe", argv[0], "child", sfd, sl, sp, sa, sc, (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	CHECK("child exited 0", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
	char buf[6];
	CHECK("parent: the socket still works after the child", write_all(fd, "paren", 5) == 0 &&
									 read_full(fd, buf, 5) == 5,
	      "bad echo");
	close(a2);
	close(c2);
	close(fd);
	close(l);
	return finish();
}
