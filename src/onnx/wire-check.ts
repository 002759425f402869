// A check of the protobuf wire format before protobufjs decodes a model, for the one thing protobufjs
// reads more leniently than Google's protobuf (which ONNX Runtime uses): a varint longer than 5 bytes
// where a tag or a length is expected. protobufjs reads the first 5 bytes and skips 5 more whatever they
// hold, so "2^35" as a length becomes 0 and decoding goes on, misaligned, into a different model; Google's
// parser refuses the file. Here every tag and every length prefix, in the model and in every message
// nested in it, must be a varint of at most 5 bytes, and every length must fit in what is left of its
// message. Messages are followed by field number (the message-typed fields of onnx.proto); bytes,
// strings and packed numbers are skipped whole.
import { OnnxError } from './error';

type Kind =
  | 'Model' | 'Graph' | 'Node' | 'Attribute' | 'Tensor' | 'Segment' | 'Entry' | 'ValueInfo' | 'Type' | 'TensorType'
  | 'Shape' | 'Dim' | 'SequenceType' | 'MapType' | 'OptionalType' | 'SparseTensor' | 'TensorAnnotation'
  | 'TrainingInfo' | 'Function' | 'OpsetId';

/** For each message, its fields that hold messages: field number -> message kind (onnx.proto, IR 10). */
const MESSAGE_FIELDS: Readonly<Record<Kind, Readonly<Record<number, Kind>>>> = {
  Model: { 7: 'Graph', 8: 'OpsetId', 14: 'Entry', 20: 'TrainingInfo', 25: 'Function' },
  Graph: { 1: 'Node', 5: 'Tensor', 15: 'SparseTensor', 11: 'ValueInfo', 12: 'ValueInfo', 13: 'ValueInfo', 14: 'TensorAnnotation', 16: 'Entry' },
  Node: { 5: 'Attribute', 9: 'Entry' },
  Attribute: { 5: 'Tensor', 6: 'Graph', 22: 'SparseTensor', 14: 'Type', 10: 'Tensor', 11: 'Graph', 23: 'SparseTensor', 15: 'Type' },
  Tensor: { 3: 'Segment', 13: 'Entry', 16: 'Entry' },
  Segment: {},
  Entry: {},
  ValueInfo: { 2: 'Type', 4: 'Entry' },
  Type: { 1: 'TensorType', 4: 'SequenceType', 5: 'MapType', 9: 'OptionalType', 8: 'TensorType' },
  TensorType: { 2: 'Shape' },
  Shape: { 1: 'Dim' },
  Dim: {},
  SequenceType: { 1: 'Type' },
  MapType: { 2: 'Type' },
  OptionalType: { 1: 'Type' },
  SparseTensor: { 1: 'Tensor', 2: 'Tensor' },
  TensorAnnotation: { 2: 'Entry' },
  TrainingInfo: { 1: 'Graph', 2: 'Entry', 3: 'Graph', 4: 'Entry' },
  Function: { 7: 'Node', 11: 'Attribute', 9: 'OpsetId', 14: 'Entry' },
  OpsetId: {},
};

/** Deeper nesting than this is refused (a real model nests a few levels; subgraphs add a few more). */
const MAX_DEPTH = 64;

function corrupt(what: string, at: number): OnnxError {
  return new OnnxError(`the file is truncated or corrupt (${what} at byte ${at})`);
}

/**
 * Throws OnnxError where a tag or length is over-long or a length runs past its message; the message
 * says what and where, for the caller to prefix ("not a valid ONNX model: ...").
 */
export function checkWireFormat(bytes: Uint8Array, root: 'Model' | 'Tensor' = 'Model'): void {
  // Iterative: a stack of (message kind, end offset).
  const stack: { kind: Kind; end: number }[] = [{ kind: root, end: bytes.length }];
  let pos = 0;
  const varint = (what: string, maxBytes: number): number => {
    const start = pos;
    let value = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      if (pos >= bytes.length) throw corrupt(`a ${what} runs past the end`, start);
      const b = bytes[pos++]!;
      if (i >= maxBytes) throw corrupt(`a ${what} is longer than ${maxBytes} bytes`, start);
      value += (b & 0x7f) * scale;
      scale *= 128;
      if (b < 0x80) return value;
    }
  };
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (pos === top.end) {
      stack.pop();
      continue;
    }
    if (pos > top.end) throw corrupt('a field runs past the end of its message', top.end);
    const tagAt = pos;
    const tag = varint('field tag', 5);
    const field = Math.floor(tag / 8);
    if (field === 0) throw corrupt('field number 0', tagAt);
    switch (tag & 7) {
      case 0:
        varint('varint value', 10);
        break;
      case 1:
        pos += 8;
        break;
      case 5:
        pos += 4;
        break;
      case 2: {
        const lenAt = pos;
        const len = varint('length', 5);
        if (len > top.end - pos) throw corrupt(`a length of ${len} bytes runs past the end of its message`, lenAt);
        const sub = MESSAGE_FIELDS[top.kind][field];
        if (sub && len > 0) {
          if (stack.length >= MAX_DEPTH) throw new OnnxError('messages are nested too deeply');
          stack.push({ kind: sub, end: pos + len });
        } else {
          pos += len;
        }
        break;
      }
      default:
        // Groups (3, 4) are not used by onnx.proto; 6 and 7 are not wire types.
        throw corrupt(`wire type ${tag & 7}`, tagAt);
    }
    if (pos > top.end) throw corrupt('a field runs past the end of its message', tagAt);
  }
}
