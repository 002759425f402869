// The one error type for "this is not a model we can read or write". Its message says what is wrong
// and where (tensor, node, attribute, byte counts), so the UI and CLI can show it as is.
import { UserError } from '../errors';

export class OnnxError extends UserError {
  override readonly name = 'OnnxError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
