// The server's stderr in the output channel. cartlsp logs to stderr (slog text
// lines: "time=… level=INFO msg=…") and, at info level and above, also to the
// client as window/logMessage, which the language client already writes to the
// channel: those stderr lines would show twice (and all as errors). What is
// left is debug logging and whatever is not a log line (a crash's trace).
// No vscode import.

export type StderrKind = 'skip' | 'debug' | 'error';

const slogLine = /^time=\S+ level=(DEBUG|INFO|WARN|ERROR)(?:[+-]\d+)? /;

/** What to do with one line of the server's stderr. */
export function classifyStderr(line: string): StderrKind {
  if (line.trim() === '') {
    return 'skip';
  }
  const m = slogLine.exec(line);
  if (!m) {
    return 'error';
  }
  return m[1] === 'DEBUG' ? 'debug' : 'skip';
}
