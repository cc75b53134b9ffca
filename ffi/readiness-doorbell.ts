/**
 * Tells the event loop that an fd is readable without reading it, so that we can read it our own
 * way (recvmmsg into preallocated memory) instead of Bun's (a new buffer, address string and
 * flags object per UDP datagram: ≈2.2 µs each against ≈1.1, `npm run bench -- udp-receive`).
 *
 * Bun watches only fds it reads itself, and a thread of ours to watch was measured to cost more
 * than it saved (README, datapath first round). So the kernel rings the bell: an io_uring poll on
 * the fd, linked to a one-byte send on a socketpair whose other end Bun reads. When the fd turns
 * readable the kernel sends the byte; Bun calls `data` on the main thread; we call `onReady`,
 * which drains the fd, and arm() again. The poll is one-shot: between the bell and the next arm
 * the kernel does nothing per datagram; a datagram that arrives after the drain and before the
 * arm makes the new poll complete at once, so no wake-up is lost.
 *
 * Both entries skip their completions when they succeed; a failure posts one. A failed poll or
 * send also breaks the chain (no byte, so no ring): a once-a-second check looks for failure
 * completions, counts them and arms again. If Bun ever closes its end of the socketpair, the bell
 * is dead: `onLost` is told, so the owner can open a new one.
 */
import { consola } from "consola";
import { type HotLoop, hotLoop, type HotSource } from "./hot-loop.ts";
import { IoUring, OP_POLL_ADD, OP_SEND, SQE_CQE_SKIP_SUCCESS, SQE_IO_LINK } from "./io-uring.ts";
import { errno, strerror } from "./libc.ts";
import { ptr } from "bun:ffi";
import { adoptSocketFd, MSG_DONTWAIT, MSG_NOSIGNAL, POLLIN, unixClose, unixSocketPair } from "./unix.ts";

/** The byte the kernel sends. Module-level, so it outlives every ring that may still read it. */
const BELL_BYTE = new Uint8Array(new ArrayBuffer(8));
const BELL_PTR = ptr(BELL_BYTE);

export interface DoorbellStats {
  /** Times the bell rang (each followed by onReady and a new arm). */
  rings: number;
  /** Completions that reported a failed poll or send. */
  failures: number;
  /** arm() calls whose submission the kernel refused. */
  submitErrors: number;
}

export class ReadinessDoorbell implements HotSource {
  readonly stats: DoorbellStats = { rings: 0, failures: 0, submitErrors: 0 };
  /** Whether a poll is in the kernel (between arm() and the ring). */
  armed = false;
  private closed = false;
  private failed = 0;
  private readonly countFailure = (_u: number, res: number): void => {
    if (res < 0) {
      this.stats.failures++;
      this.failed++;
    }
  };
  private readonly watchdog: ReturnType<typeof setInterval>;

  private constructor(
    readonly fd: number,
    private readonly onReady: () => void,
    private readonly loop: HotLoop | null,
    private readonly ring: IoUring,
    private readonly sendFd: number,
    private readonly bunSide: { end(): void },
  ) {
    this.watchdog = setInterval(() => this.check(), 1000);
    this.watchdog.unref();
  }

  /**
   * A doorbell for `fd`, armed: onReady runs on the event loop each time fd has turned readable.
   * With a hot loop (the process's by default) the fd is one of its sources: after a ring the loop
   * may keep draining it while traffic flows (hot-loop.ts); null: ring, drain, arm, nothing else.
   * Returns the reason instead when this machine cannot do it (no io_uring, say).
   */
  static async open(fd: number, onReady: () => void, onLost?: () => void, loop: HotLoop | null = hotLoop): Promise<ReadinessDoorbell | string> {
    const ring = IoUring.open(4);
    if (typeof ring === "string") return ring;
    const pair = unixSocketPair();
    if (pair === null) {
      ring.close();
      return `socketpair: ${strerror(errno())}`;
    }
    const [watchFd, sendFd] = pair;
    let bell: ReadinessDoorbell | null = null;
    let socket: { end(): void };
    try {
      socket = await adoptSocketFd<undefined>({
        fd: watchFd,
        socket: {
          data() {
            const b = bell;
            if (b === null || b.closed) return;
            b.stats.rings++;
            b.armed = false;
            if (b.loop !== null) {
              // drains, then arms again, or keeps polling while traffic flows
              b.loop.rang(b);
              return;
            }
            b.drain();
            b.arm();
          },
          error() {},
          close() {
            const b = bell;
            if (b === null || b.closed) return;
            consola.error("readiness doorbell: the event loop closed its socket; this fd is no longer watched");
            b.close();
            onLost?.();
          },
        },
      });
    } catch (e) {
      ring.close();
      unixClose(watchFd);
      unixClose(sendFd);
      return `adopting the doorbell socket: ${(e as Error).message}`;
    }
    bell = new ReadinessDoorbell(fd, onReady, loop, ring, sendFd, socket);
    loop?.add(bell, watchFd);
    bell.arm();
    if (bell.stats.submitErrors > 0) {
      bell.close();
      return "io_uring refused the poll";
    }
    return bell;
  }

  /** Read what is queued (the owner's onReady); a throw is reported, never lost in the event loop. */
  drain(): void {
    if (this.closed) return;
    try {
      this.onReady();
    } catch (e) {
      consola.error(`readiness doorbell: onReady failed: ${(e as Error).stack ?? e}`);
    }
  }

  /** The owner's drain read `bytes` at once: tell the hot loop (its receive coalescing). */
  noteBatch(bytes: number): void {
    this.loop?.noteBatch(bytes);
  }

  /** Ask the kernel for the next ring. Called after each ring (or when the hot loop goes idle); once at open. */
  arm(): void {
    if (this.closed) return;
    const r = this.ring;
    r.reap(this.countFailure);
    r.prepare(OP_POLL_ADD, SQE_IO_LINK | SQE_CQE_SKIP_SUCCESS, this.fd, 0, 0, POLLIN, 1);
    r.prepare(OP_SEND, SQE_CQE_SKIP_SUCCESS, this.sendFd, BELL_PTR as number, 1, MSG_DONTWAIT | MSG_NOSIGNAL, 2);
    if (r.submit() !== 2) this.stats.submitErrors++;
    else this.armed = true;
  }

  /**
   * The once-a-second check (public for tests): a failure completion means the chain broke and
   * no ring will come, so arm again. Returns whether it had to.
   */
  check(): boolean {
    if (this.closed) return false;
    this.failed = 0;
    this.ring.reap(this.countFailure);
    if (this.failed === 0) return false;
    if (this.stats.failures === this.failed) consola.warn(`readiness doorbell: a poll or send failed; armed again`);
    this.arm();
    return true;
  }

  /** Stop: the ring (and its pending poll) goes, then both ends of the socketpair. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.armed = false;
    this.loop?.remove(this);
    clearInterval(this.watchdog);
    this.ring.reap(this.countFailure);
    this.ring.close();
    this.bunSide.end();
    unixClose(this.sendFd);
  }
}
