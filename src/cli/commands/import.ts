// `resnet import`: a PyTorch checkpoint or safetensors file to an ONNX model (the conversion is ../import.ts).
import type { Command } from '../command';
import { cmdImport, IMPORT_USAGE } from '../import';

export const importCommand: Command = {
  name: 'import',
  usage: IMPORT_USAGE.replace(/^resnet /, ''),
  run: cmdImport,
};
