import { readFileSync } from "node:fs";

/** Whether this kernel lets every process use io_uring (kernel.io_uring_disabled = 0, or no such switch). */
export function ioUringAllowed(): boolean {
  try {
    return readFileSync("/proc/sys/kernel/io_uring_disabled", "utf8").trim() === "0";
  } catch {
    return true; // older kernels have no such switch
  }
}
