// The one base class for failures that are the user's to fix: a bad argument, file, model, image or
// dataset. Front ends show such an error's message as it is (the CLI: one line on stderr, exit code 1);
// anything else is a bug (the CLI: "internal error", exit code 2). Each module throws its own subclass
// (OnnxError, NpyError, ImageError, DatasetError, ...) so callers can tell them apart by type, never by
// message text.
export class UserError extends Error {
  override name = 'UserError';
}
