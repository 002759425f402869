// The inference module's calling convention. Every kernel there has the signature (desc, tid, nth): it reads
// its arguments from the descriptor at `desc` (DESC_WORDS i32 words) and does its share of the step's work
// (see parallel.ts). The lowering (src/engine/wasm/lower.ts) writes these descriptors; the field tables
// below are the contract between the two. Activations are NHWC with a channel stride `cs` (floats per pixel,
// a multiple of 4, padded lanes are 0).

export const DESC_WORDS = 32;
/**
 * Per-descriptor words for the run: how many chunks the step's work is cut into (written by the kernel),
 * the next unclaimed chunk and the number of chunks done (both zeroed before each run).
 */
export const DESC_CHUNKS = 29;
export const DESC_NEXT = 30;
export const DESC_DONE = 31;
export const DESC_BYTES = DESC_WORDS * 4;

/** Table indices of the kernels = the `kind` word of a descriptor. */
export const Kind = {
  /** f32-igemm-4x8: conv (direct or through an indirection table) and fc. */
  igemm: 0,
  maxPool: 1,
  avgPool: 2,
  gavgPool: 3,
  /** out = relu?(a + b) */
  vadd: 4,
  vrelu: 5,
  /** out = x * scale[c] + shift[c] (inference BatchNorm) */
  vmulcaddc: 6,
  /** the option-A shortcut: spatial subsampling, channels copied, zero fill */
  gatherSubsample: 7,
  winogradF2x2: 8,
  winogradF4x4: 9,
  /** pad / slice: a gather with a per-axis index map and a fill value */
  gather: 10,
  /** Winograd with the 3x3 filters as weights, transformed per run (WinogradDesc.filtersOnTheFly) */
  winogradF2x2Filters: 11,
  winogradF4x4Filters: 12,
} as const;

/**
 * Conv as (indirect) GEMM: out[p, m] = sum_{tap, c} A(p, tap)[c] * W[tap, c, m] + bias[m] (+ res[p, m]), relu.
 * Weights are packed in panels of 8 output channels: [bias x8][tap0: c0 x8, c1 x8, ...][tap1 ...].
 * With `indirection` = 0 the rows are direct (1x1 stride 1, or fc): A(p) = in + p * inRowBytes.
 * Otherwise `indirection` holds, per tile of MR output pixels and per tap, MR row pointers (padding points
 * at zeros).
 */
export const IgemmDesc = {
  kind: 0, input: 1, output: 2, residual: 3, weights: 4, indirection: 5, pixels: 6, channels: 7, taps: 8,
  inRowBytes: 9, outRowBytes: 10, panels: 11, relu: 12, splitPanels: 13, panelBytes: 14, tileBlock: 15,
} as const;
export const PoolDesc = {
  kind: 0, input: 1, output: 2, n: 3, h: 4, w: 5, oh: 6, ow: 7, cs: 8, kh: 9, kw: 10, sh: 11, sw: 12,
  padTop: 13, padLeft: 14, dh: 15, dw: 16, countIncludePad: 17, padBottom: 18, padRight: 19,
} as const;
export const GavgPoolDesc = { kind: 0, input: 1, output: 2, n: 3, hw: 4, cs: 5 } as const;
/** vadd: out = relu?(a + b); vrelu: out = max(a, 0). Counts are in 4-float vectors. */
export const ElementwiseDesc = { kind: 0, a: 1, b: 2, output: 3, vectors: 4, relu: 5 } as const;
/** vmulcaddc (inference BatchNorm): out[r, c] = in[r, c] * scale[c] + shift[c]. */
export const VmulcaddcDesc = { kind: 0, input: 1, output: 2, rows: 3, cs: 4, scale: 5, shift: 6 } as const;
/**
 * Winograd F(m x m, 3x3), m = 2 or 4 (alpha = m + 2), for 3x3 stride-1 convs. Each thread takes a
 * contiguous range of m x m output tiles and walks it in blocks of `tileBlock` tiles: input transform into
 * its scratch V[alpha^2][tiles][csIn], alpha^2 GEMMs V[xi] x U[xi] -> M[xi][tiles][csOut] with the igemm
 * micro-kernel (U packed like conv panels, zero bias; or transformed from the filters per panel, see
 * filtersOnTheFly), output transform + bias + residual + ReLU into the NHWC output.
 */
export const WinogradDesc = {
  kind: 0, input: 1, output: 2, residual: 3, weights: 4, bias: 5, n: 6, h: 7, w: 8, oh: 9, ow: 10, csIn: 11, csOut: 12,
  padTop: 13, padLeft: 14, relu: 15, scratch: 16, scratchBytes: 17, tileBlock: 18, panels: 19, panelBytes: 20, zero: 21,
  /** 1: every thread transforms all tiles and the threads split the output channels (few tiles, many weights). */
  splitPanels: 22,
  /**
   * 0: `weights` holds U. G > 0: it holds the 3x3 filters themselves, [panel][csIn][tap][8] (9/alpha^2 of U's
   * memory), and each thread transforms U for G panels at a time into its scratch before their GEMMs (the
   * lowering sets splitPanels with it, so a panel is transformed once per block of tiles).
   */
  filtersOnTheFly: 23,
} as const;
/**
 * pad / slice as one gather: out[n, c, y, x] = in[n, c*sc + oc, y*sy + oy, x*sx + ox] where inside the
 * input, `value` elsewhere (lanes past the output's channels stay 0). Steps may be negative.
 */
export const GatherDesc = {
  kind: 0, input: 1, output: 2, n: 3, c: 4, h: 5, w: 6, csIn: 7, oc: 8, oh: 9, ow: 10, csOut: 11,
  sc: 12, offC: 13, sy: 14, offY: 15, sx: 16, offX: 17, valueBits: 18,
} as const;
/** The option-A shortcut: out[n, y, x, c] = in[n, y*stride, x*stride, c] for c < csIn, 0 for the other lanes. */
export const GatherSubsampleDesc = { kind: 0, input: 1, output: 2, n: 3, h: 4, w: 5, oh: 6, ow: 7, csIn: 8, csOut: 9, stride: 10 } as const;
