/**
 * `bun udp-echo-bun.ts doorbell|callbacks|blocking PORT`: the UDP echo of bench/support/udp-echo.c
 * in Bun, woken the two ways the service can be: the io_uring doorbell with recvmmsg/sendmmsg
 * through ffi (as src/transport/udp.ts by default), or Bun.udpSocket's per-datagram callbacks
 * (ZT_UDP_RECEIVE=bun); and a third way the service does not use (yet): JavaScript that never
 * returns to Bun's event loop, blocking in poll() through ffi, as a C thread would. Prints
 * "ready" once it answers. Used by bench/wake-floor.ts.
 */
import { dupFd } from "../../ffi/libc.ts";
import { ReadinessDoorbell } from "../../ffi/readiness-doorbell.ts";
import { RecvBatch, SendBatch } from "../../ffi/udp.ts";
import { POLLIN, unixPoll } from "../../ffi/unix.ts";

const mode = process.argv[2];
const port = Number(process.argv[3]);
if ((mode !== "doorbell" && mode !== "callbacks" && mode !== "blocking") || !Number.isInteger(port) || port < 1 || port > 65535) {
  console.error("usage: bun udp-echo-bun.ts doorbell|callbacks|blocking PORT");
  process.exit(2);
}
if (mode === "callbacks") {
  await Bun.udpSocket({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(s, data, fromPort, fromAddress) {
        s.send(data, fromPort, fromAddress);
      },
    },
  });
} else {
  const bound = await Bun.udpSocket({ hostname: "127.0.0.1", port });
  // as the transport does: our own descriptor, Bun's socket closed so that Bun stops reading
  const fd = dupFd((bound as unknown as { fd: number }).fd);
  bound.close();
  if (fd < 0) throw new Error(`dup: ${-fd}`);
  const rx = new RecvBatch(64, 2048);
  const tx = new SendBatch(64, 2048);
  const name = new Uint8Array(32);
  const answer = (): void => {
    const n = rx.receive(fd);
    for (let i = 0; i < n; i++) {
      const at = rx.start(i);
      const nameAt = rx.nameStart(i);
      const nameLen = rx.nameLength(i);
      for (let k = 0; k < nameLen; k++) name[k] = rx.bytes[nameAt + k]!;
      tx.add(rx.bytes, at, at + rx.length(i), name, nameLen);
    }
    if (tx.count > 0) tx.send(fd);
  };
  if (mode === "doorbell") {
    const bell = await ReadinessDoorbell.open(fd, answer);
    if (typeof bell === "string") throw new Error(`doorbell: ${bell}`);
  } else {
    console.log("ready");
    for (;;) if (unixPoll(fd, POLLIN, -1) > 0) answer();
  }
}
console.log("ready");
