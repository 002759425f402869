// The memory map of our wasm modules: page size, alignment, the largest memories, and the fixed words at
// the bottom of the inference engine's memory that the generated `run`, the executor and the thread
// workers share.
//
// Inference engine (one shared memory per executor), from address 0:
//   [0, 16)                 unused (0 means "none" in descriptors)
//   STEP, STATE, LEFT       run-state words (16, 20, 24), read and written by the generated barrier and run
//   CTL_* (i32 words 8-13)  thread control words (32..55), written by the pool, read by the workers
//   RESERVED_BYTES (64)     zero row, packed weights, step program, activation arena, Winograd scratch,
//                           indirection tables, each ALIGN-aligned (see src/engine/wasm/executor.ts)
// Training engine (one shared memory): address 0 unused, then buffers bump-allocated from ALIGN.

/** A wasm page: 64 KiB. */
export const PAGE = 65536;
/** Alignment of every region and buffer we place (a cache line). */
export const ALIGN = 64;
/** Inference memory limit, 2 GiB: addresses stay positive as i32 (the kernels compare them signed). */
export const MAX_PAGES = 32768;
/** Training memory limit, 4 GiB (the wasm32 limit). Shared memory reserves address space up front, it does not commit it. */
export const TRAIN_MAX_PAGES = 65536;

/**
 * Run-state words (byte addresses): STEP is the step every participant works on; STATE is
 * (run tag << 8 | closed flag 0x80 | participants); LEFT counts workers that left the run.
 */
export const STEP_ADDR = 16;
export const STATE_ADDR = 20;
export const LEFT_ADDR = 24;
export const STATE_CLOSED = 0x80;
export const STATE_COUNT_MASK = 0x7f;

/** Thread control words (i32 indices into memory) written by the worker pool and read by the workers. */
export const CTL_GO = 8;
export const CTL_EXIT = 9;
export const CTL_PROG = 10;
export const CTL_NSTEPS = 11;
export const CTL_NTH = 12;
/** The current run's tag (STATE's high bits), written before the workers are woken. */
export const CTL_RUN = 13;

/** First byte the engine may use for its own data. */
export const RESERVED_BYTES = 64;

export const roundUp = (x: number, m: number): number => Math.ceil(x / m) * m;
