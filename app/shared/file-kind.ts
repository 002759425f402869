// What a file the user gives us is, told by its first bytes (its content), never by its name alone: an
// image (PNG, JPEG, GIF, WebP, AVIF/HEIF, TIFF, BMP), a PyTorch checkpoint (torch.save zip or legacy
// pickle, safetensors), or an ONNX model (a protobuf ModelProto). Names only break the tie for content
// we do not recognise, so the error the user sees comes from the reader they meant (a garbled
// "model.onnx" is reported as a bad model, a garbled "photo.jpg" as a bad image). Pure.
import { sniffCheckpoint } from '../../src/import/checkpoint';

export type FileKind = 'image' | 'checkpoint' | 'onnx';

/** How many bytes of a file sniffFileKind needs. */
export const SNIFF_BYTES = 64;

const MODEL_NAME = /\.(onnx)$/i;
const CHECKPOINT_NAME = /\.(pth|pt|pth\.tar|ckpt|bin|safetensors)$/i;

function ascii(b: Uint8Array, o: number, n: number): string {
  let s = '';
  for (let i = 0; i < n && o + i < b.length; i++) s += String.fromCharCode(b[o + i]!);
  return s;
}

/** Image formats by their magic numbers (the decoders check the rest). */
function looksLikeImage(b: Uint8Array): boolean {
  if (b.length < 4) return false;
  if (b[0] === 0x89 && ascii(b, 1, 3) === 'PNG') return true;
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return true;
  if (ascii(b, 0, 4) === 'GIF8') return true;
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') return true;
  if (ascii(b, 4, 4) === 'ftyp') return true; // AVIF, HEIF
  if ((b[0] === 0x49 && b[1] === 0x49 && b[2] === 42 && b[3] === 0) || (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0 && b[3] === 42)) return true;
  return b[0] === 0x42 && b[1] === 0x4d && b.length >= 26; // BMP
}

/** Reads one protobuf varint at `o`; undefined when it runs off the buffer or past 10 bytes. */
function varint(b: Uint8Array, o: number): { value: number; next: number } | undefined {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 10 && o + i < b.length; i++) {
    const byte = b[o + i]!;
    value += (byte & 0x7f) * mul;
    mul *= 128;
    if ((byte & 0x80) === 0) return { value, next: o + i + 1 };
  }
  return undefined;
}

/**
 * An ONNX ModelProto: exporters write ir_version (field 1, varint, a small number) first, then
 * opset_import, producer_name or graph (fields 8, 2, 7: length-delimited). Checked on the first two fields.
 */
function looksLikeOnnx(b: Uint8Array): boolean {
  if (b[0] !== 0x08) return false;
  const ir = varint(b, 1);
  if (!ir || ir.value < 1 || ir.value > 64) return false;
  if (ir.next >= b.length) return true;
  const tag = b[ir.next]!;
  const field = tag >> 3;
  return (tag & 7) === 2 && [2, 3, 4, 6, 7, 8, 14, 20].includes(field);
}

/**
 * The kind of a file from its first SNIFF_BYTES bytes (and its full size, which the safetensors check
 * needs); its name decides only when the content matches no known format: a model name ('.onnx', a
 * checkpoint extension) makes it that kind of model, anything else is treated as an image (whose decoder
 * then says what is wrong with it).
 */
export function sniffFileKind(head: Uint8Array, fileSize: number, name: string): FileKind {
  if (looksLikeImage(head)) return 'image';
  if (sniffCheckpoint(head, fileSize) !== undefined) return 'checkpoint';
  if (looksLikeOnnx(head)) return 'onnx';
  if (MODEL_NAME.test(name)) return 'onnx';
  if (CHECKPOINT_NAME.test(name)) return 'checkpoint';
  return 'image';
}
