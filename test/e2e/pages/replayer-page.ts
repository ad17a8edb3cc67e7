import type { Locator, Page } from 'playwright-core';

// Page object for #/sessions/ID: the player (controls, timeline, xterm, the details panel).

export class ReplayerPage {
  constructor(readonly page: Page) {}

  slider(): Locator {
    return this.page.getByRole('slider', { name: 'Position in the session' });
  }

  playButton(): Locator {
    return this.page.locator('.play-button');
  }

  async setSpeed(speed: number): Promise<void> {
    await this.page.getByRole('combobox', { name: 'Speed' }).selectOption(String(speed));
  }

  /** The rows xterm shows (its DOM renderer's `.xterm-rows`), as text, trailing blanks trimmed. */
  async terminalText(): Promise<string> {
    const rows = await this.page.locator('.replay-terminal .xterm-rows > div').allTextContents();
    return rows
      .map((row) => row.replace(/\u00a0/g, ' ').trimEnd())
      .join('\n')
      .trimEnd();
  }

  /** The index of the last event the terminal has finished drawing (TerminalView sets it once xterm has parsed the writes). */
  async shownEvent(): Promise<number> {
    return Number(await this.page.locator('.replay-terminal').getAttribute('data-shown-event'));
  }

  /** Markers are worked out just after the first picture: wait for the legend. */
  async waitForMarkers(): Promise<void> {
    await this.page.getByRole('list', { name: 'Markers on the timeline' }).waitFor();
  }

  async nextMarker(): Promise<void> {
    await this.page.getByRole('button', { name: /Next marker/ }).click();
  }

  async previousMarker(): Promise<void> {
    await this.page.getByRole('button', { name: /Previous marker/ }).click();
  }

  marker(label: RegExp): Locator {
    return this.page.locator('.scrubber-markers').getByRole('button', { name: label });
  }

  panel(): Locator {
    return this.page.getByRole('complementary', { name: 'Event details' });
  }

  async search(text: string): Promise<void> {
    await this.page.getByRole('searchbox', { name: 'Search in session' }).fill(text);
  }
}
