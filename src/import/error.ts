import { UserError } from '../errors';

// The one error type for "this checkpoint cannot be imported". Like OnnxError, its message names what is
// wrong and where (file part, key, shapes, byte counts), so the CLI and the app can show it as one line.
export class ImportError extends UserError {
  override readonly name = 'ImportError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
