import type { ITheme } from '@xterm/xterm';

// xterm draws with its own palette, not CSS: read the console theme's variables (light or dark,
// whichever the OS asks for) and map the ANSI colours terminal-style.ts uses onto them, so a
// denial in the terminal is the same red as a denial badge.

function cssVar(style: CSSStyleDeclaration, name: string, fallback: string): string {
  return style.getPropertyValue(name).trim() || fallback;
}

/** The theme for the colours currently in effect on `element` (the document root by default). */
export function terminalTheme(element: Element = document.documentElement): ITheme {
  const style = getComputedStyle(element);
  const dark = isDark(cssVar(style, '--code-bg', '#f3f5f8'));
  const text = cssVar(style, '--text', dark ? '#e7eaee' : '#16191f');
  const deny = cssVar(style, '--deny', '#b3261e');
  const approve = cssVar(style, '--approve', '#137a3a');
  const warn = cssVar(style, '--warn', '#8a5a00');
  const accent = cssVar(style, '--accent', '#2456d6');
  const mask = cssVar(style, '--mask', '#6b3fb5');
  const muted = cssVar(style, '--muted', '#5a6270');
  return {
    background: cssVar(style, '--code-bg', dark ? '#11151a' : '#f3f5f8'),
    foreground: text,
    cursor: accent,
    cursorAccent: cssVar(style, '--code-bg', '#f3f5f8'),
    selectionBackground: dark ? '#2f4a7a' : '#bcd0f7',
    selectionForeground: text,
    // Search matches: black on a highlighter yellow in both themes (terminal-style.ts HIGHLIGHT).
    black: '#16191f',
    brightYellow: dark ? '#f2c14e' : '#ffd84d',
    red: deny,
    brightRed: deny,
    green: approve,
    brightGreen: approve,
    yellow: warn,
    blue: accent,
    brightBlue: accent,
    magenta: mask,
    brightMagenta: mask,
    cyan: accent,
    white: text,
    brightWhite: text,
    brightBlack: muted,
  };
}

/** Whether a #rrggbb (or rgb()) colour is dark. */
function isDark(color: string): boolean {
  const hex = /^#([0-9a-f]{6})$/i.exec(color);
  const rgb = /rgba?\((\d+)[ ,]+(\d+)[ ,]+(\d+)/.exec(color);
  const [r, g, b] = hex ? [0, 2, 4].map((at) => parseInt(hex[1]!.slice(at, at + 2), 16)) : rgb ? [rgb[1], rgb[2], rgb[3]].map(Number) : [255, 255, 255];
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b! < 128;
}
