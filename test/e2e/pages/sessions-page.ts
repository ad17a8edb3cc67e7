import type { Locator, Page } from 'playwright-core';

// Page object for #/sessions: the filters and the table of recorded sessions.

export class SessionsPage {
  constructor(readonly page: Page) {}

  heading(): Locator {
    return this.page.getByRole('heading', { name: 'Sessions', level: 1 });
  }

  /** The table's session rows (not the header). */
  rows(): Locator {
    return this.page.locator('table.sessions-table tbody tr');
  }

  row(sessionId: string): Locator {
    return this.page.locator(`table.sessions-table tbody tr[data-session="${sessionId}"]`);
  }

  /** A text filter by its label ("Resource", "Caller", "Statements containing"). */
  async filterText(label: string, value: string): Promise<void> {
    await this.page.getByLabel(label, { exact: true }).fill(value);
  }

  async filterHad(mark: 'a denial' | 'an approval' | 'masking' | 'an error', on = true): Promise<void> {
    await this.page.getByRole('checkbox', { name: mark }).setChecked(on);
  }

  async clearFilters(): Promise<void> {
    await this.page.locator('.session-filters').getByRole('button', { name: 'Clear filters' }).click();
  }

  emptyState(): Locator {
    return this.page.locator('.empty-state h2');
  }

  /** Opens a session with the keyboard: focus its link, Enter. */
  async open(sessionId: string): Promise<void> {
    await this.row(sessionId).locator('a.session-link').focus();
    await this.page.keyboard.press('Enter');
  }
}
