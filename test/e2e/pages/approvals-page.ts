import type { Locator, Page } from 'playwright-core';

// Page object for the approvals inbox (#/approvals): the queue, the selected request, the
// decision bar and the history, found the way an approver finds them (roles and labels).

export class ApprovalsPage {
  constructor(readonly page: Page) {}

  async open(baseUrl: string): Promise<void> {
    await this.page.goto(`${baseUrl}#/approvals`);
  }

  queue(): Locator {
    return this.page.getByRole('listbox', { name: 'Waiting requests' });
  }

  /** The queue row whose statement contains `text`. */
  request(text: string): Locator {
    return this.queue().getByRole('option').filter({ hasText: text });
  }

  /** The selected request, in full. */
  detail(): Locator {
    return this.page.getByRole('article');
  }

  statement(): Locator {
    return this.detail().getByRole('region', { name: 'Statement' }).getByTestId('sql');
  }

  emptyState(): Locator {
    return this.page.getByRole('heading', { name: 'No requests waiting' });
  }

  /** Waits for a held statement to show in the queue; returns its approval id. */
  async waitForRequest(text: string, timeout = 15_000): Promise<string> {
    const row = this.request(text);
    await row.waitFor({ timeout });
    const id = await row.getAttribute('data-approval-id');
    if (!id) throw new Error(`the queue row for "${text}" has no approval id`);
    return id;
  }

  async select(text: string): Promise<void> {
    await this.request(text).click();
    await this.detail().getByRole('heading', { level: 2 }).waitFor();
  }

  async approve(): Promise<void> {
    await this.detail().getByRole('button', { name: /Approve once/ }).click();
  }

  /** Deny with the mouse: open the reason, type it, click "Deny request". */
  async deny(reason: string): Promise<void> {
    await this.detail().getByRole('button', { name: /Deny/ }).click();
    await this.detail().getByLabel(/Why deny/).fill(reason);
    await this.detail().getByRole('button', { name: 'Deny request' }).click();
  }

  /** Deny from the keyboard: d, the reason, Enter. */
  async denyWithKeys(reason: string): Promise<void> {
    await this.page.keyboard.press('d');
    await this.detail().getByLabel(/Why deny/).waitFor();
    await this.page.keyboard.type(reason);
    await this.page.keyboard.press('Enter');
  }

  history(): Locator {
    return this.page.getByRole('region', { name: /History/ });
  }

  historyRow(id: string): Locator {
    return this.page.locator(`tr[data-history-id="${id}"]`);
  }

  enableNotificationsButton(): Locator {
    return this.page.getByRole('button', { name: /Enable desktop notifications/ });
  }
}
