// ONNX in and out: the only model format on disk.
export { OnnxError } from './error';
export { MAX_MODEL_BYTES, MAX_TENSOR_ELEMENTS, UNKNOWN_DIM, opsUsed, parseOnnx, parseTensorProto, type ParseOptions } from './read';
export { IR_VERSION, MIN_WRITE_OPSET, PRODUCER_NAME, serializeOnnx, type SerializeOptions } from './write';
