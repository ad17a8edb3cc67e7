import { expect } from 'vitest';
import type { Locator, Page } from 'playwright-core';

// Page object for the console shell: sign in, move between screens, read the tab title.

export class ConsoleShell {
  constructor(
    readonly page: Page,
    readonly url: string,
  ) {}

  async signIn(token: string): Promise<void> {
    await this.page.goto(this.url);
    await this.page.getByLabel('Token').fill(token);
    await this.page.getByRole('button', { name: 'Sign in' }).click();
    await this.page.getByRole('navigation', { name: 'Screens' }).waitFor();
  }

  nav(label: string | RegExp): Locator {
    return this.page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: label });
  }

  async open(label: string | RegExp): Promise<void> {
    await this.nav(label).click();
  }

  async title(): Promise<string> {
    return this.page.title();
  }

  async expectNoErrors(errors: readonly string[]): Promise<void> {
    expect(errors).toEqual([]);
  }
}
