// Numbers and messages as people read them, shared by the CLI and the app.

/** 1234567 -> "1.23M", the way the paper reports sizes. */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

/** Longest error line printed: messages quote the user's input (names, dtypes, keys), which can be huge. */
const MAX_MESSAGE = 500;

/**
 * An error message safe for a terminal: control characters (escape sequences a crafted file can carry)
 * shown as \xNN, one line, cut to MAX_MESSAGE characters.
 */
export function printable(message: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
  const clean = message.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return clean.length <= MAX_MESSAGE ? clean : `${clean.slice(0, MAX_MESSAGE)}... (${clean.length - MAX_MESSAGE} more characters)`;
}
