// What policy knows about one command an exec resource is asked to run (the counterpart of a
// classified statement or an HTTP request), and the `args` dimension of a rule's `match`:
// patterns over the caller's arguments (what follows the resource's command template).
//
// A pattern is words separated by spaces, one word per argument: `get pods`, `logs *`,
// `delete **`, `** --force **`. In a word, `*` matches any run of characters within that one
// argument (so `*` alone is exactly one argument, anything); the word `**` matches any number
// of arguments, none included. Quote a word to give it spaces: `exec 'rails runner' **`.

export interface ExecCommandClass {
  /** The whole command as it will run: the template's argv, then the caller's arguments. */
  readonly argv: readonly string[];
  /** The caller's arguments: what `args` patterns match. */
  readonly args: readonly string[];
  /** The command in words (shell-quoted), for traces, reasons and approvers. */
  readonly text: string;
}

/** One compiled pattern: per word, `**` or a regular expression for one argument. */
export type ArgsPattern = readonly (RegExp | '**')[];

export function execArgsPatternProblem(pattern: string): string | undefined {
  const words = splitWords(pattern);
  if (words === undefined) return `"${pattern}" has a quote that is not closed`;
  if (words.length === 0) return 'is empty: write the arguments it matches (`**` for any)';
  if (words.some((word) => word !== '**' && word.includes('**'))) return `"${pattern}" has "**" inside a word: "**" stands alone for any number of arguments, "*" matches within one`;
  return undefined;
}

export function compileArgsPattern(pattern: string, options: { readonly ignoreCase: boolean }): ArgsPattern {
  return (splitWords(pattern) ?? []).map((word) =>
    word === '**' ? '**' : new RegExp(`^${word.split('*').map(escapeRegExp).join('.*')}$`, options.ignoreCase ? 'is' : 's'),
  );
}

/** Whether the arguments match the pattern as a whole. */
export function argsMatch(pattern: ArgsPattern, args: readonly string[]): boolean {
  // Positions in `args` reachable after each word: a small set walked word by word (no backtracking blow-up).
  let positions = new Set<number>([0]);
  for (const word of pattern) {
    const next = new Set<number>();
    for (const at of positions) {
      if (word === '**') {
        for (let i = at; i <= args.length; i++) next.add(i);
      } else if (at < args.length && word.test(args[at]!)) {
        next.add(at + 1);
      }
    }
    if (next.size === 0) return false;
    positions = next;
  }
  return positions.has(args.length);
}

/** Words of a pattern; undefined when a quote is not closed. */
function splitWords(pattern: string): string[] | undefined {
  const words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (const char of pattern) {
    if (quote) {
      if (char === quote) quote = undefined;
      else word += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      word ??= '';
    } else if (/\s/.test(char)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + char;
    }
  }
  if (quote) return undefined;
  if (word !== undefined) words.push(word);
  return words;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
