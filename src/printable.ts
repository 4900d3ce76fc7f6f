/**
 * A value on one line for a person: control characters escaped. A file or folder name, a
 * variable's value or a server's message may hold a newline (which would forge a second line of
 * the termination message or the log), an ANSI escape (which the terminal would obey) or a
 * character that reorders the text on screen; each becomes a visible escape, so one reason stays
 * one line and shows what it holds. Used where text meets a person: the termination message, a
 * pretty log line, the tables on stdout. JSON output escapes by itself.
 */

/** C0 controls, DEL, C1 controls, the Unicode line and paragraph separators, bidirectional overrides and isolates. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escape(c: string): string {
  const code = c.charCodeAt(0);
  return NAMED[c] ?? (code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
}

export function printable(text: string): string {
  return text.replace(CONTROL, escape);
}
