import type { Locator, Page } from 'playwright-core';

// Page object for the Masking rules screen: the rule list, the form, the YAML beside it, the
// preview cells, and saving.

export class MaskingPage {
  constructor(readonly page: Page) {}

  /** Waits until the rules are read and the first preview has answered. */
  async ready(): Promise<void> {
    await this.page.getByRole('heading', { name: 'Masking rules', level: 1 }).waitFor();
    await this.page.getByRole('list', { name: 'Masking rules' }).waitFor();
    await this.page.locator('.cell-out[data-rules]').first().waitFor();
  }

  rule(name: string): Locator {
    return this.page.getByRole('list', { name: 'Masking rules' }).getByRole('button').filter({ has: this.page.locator('.rule-item-name', { hasText: new RegExp(`^${name}$`) }) });
  }

  async select(name: string): Promise<void> {
    await this.rule(name).click();
  }

  async setStrategy(strategy: string): Promise<void> {
    await this.page.getByLabel('Strategy').selectOption(strategy);
  }

  async toggleDetector(name: string): Promise<void> {
    await this.page.getByRole('checkbox', { name, exact: true }).click();
  }

  async yaml(): Promise<string> {
    return (await this.page.getByLabel('YAML of the masking section').textContent()) ?? '';
  }

  /** One preview cell (sample row or live-query row, 0-based) by column name. */
  cell(row: number, column: string): Locator {
    return this.page.locator(`.cell-out[data-row="${row}"][data-column="${column}"]`);
  }

  async cellValue(row: number, column: string): Promise<string> {
    return ((await this.cell(row, column).locator('.cell-value, .cell-unchanged').textContent()) ?? '').trim();
  }

  async cellRules(row: number, column: string): Promise<string> {
    return (await this.cell(row, column).getAttribute('data-rules')) ?? '';
  }

  async previewLiveQuery(resource: string, sql: string): Promise<void> {
    await this.page.getByRole('radio', { name: 'Live query' }).check();
    await this.page.getByLabel('Resource').fill(resource);
    await this.page.getByLabel(/^SELECT/).fill(sql);
    await this.page.getByRole('button', { name: /Run preview/ }).click();
  }

  async useSampleRows(): Promise<void> {
    await this.page.getByRole('radio', { name: 'Sample rows' }).check();
  }

  /** Save… then confirm; returns the dialog's text (what it said would change). */
  async save(whileOpen?: () => Promise<unknown>): Promise<string> {
    await this.page.getByRole('button', { name: /^Save…/ }).click();
    const dialog = this.page.getByRole('dialog', { name: 'Save the masking rules?' });
    const said = (await dialog.textContent()) ?? '';
    await whileOpen?.();
    await dialog.getByRole('button', { name: 'Save to the config file' }).click();
    await dialog.waitFor({ state: 'detached' });
    return said;
  }

  savedNotice(): Locator {
    return this.page.locator('.save-result');
  }
}
