import { dupFd } from "../../ffi/libc.ts";

/** A UDP socket we read ourselves: Bun binds it, we keep a duplicate of its fd and close Bun's. */
export async function ownUdpSocket(): Promise<{ fd: number; port: number }> {
  const s = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
  const fd = dupFd((s as unknown as { fd: number }).fd);
  const port = s.port;
  s.close();
  return { fd, port };
}
