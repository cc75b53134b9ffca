/** Layout of the SharedArrayBuffer ring between the tap reader worker and the main thread. */

/** Index of the next slot the worker will fill (monotonic, wraps as int32). */
export const RING_HEAD = 0;
/** Index of the next slot the main thread will consume. */
export const RING_TAIL = 1;
/** Set to 1 by the main thread to stop the worker. */
export const RING_STOP = 2;
/** 1 while the main thread sleeps on RING_HEAD (the worker notifies only then). */
export const RING_WAITING = 3;
export const RING_HEADER_INTS = 16;

export interface TapWorkerInit {
  fd: number;
  sab: SharedArrayBuffer;
  slots: number;
  slotSize: number;
}
