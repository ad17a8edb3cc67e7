import type { Locator, Page } from 'playwright-core';

// Page object for Open bundle: open a file through the file input, read the verification,
// give a trusted key, reveal unverified content and pick a session to replay.

export class BundlePage {
  constructor(readonly page: Page) {}

  /** Opens a file from disk, or bytes given here, through the real file input. */
  async open(file: string | { name: string; text: string }): Promise<void> {
    const input = this.page.getByLabel('Choose a .sluice file…');
    await input.setInputFiles(typeof file === 'string' ? file : { name: file.name, mimeType: 'application/octet-stream', buffer: Buffer.from(file.text) });
    await this.verification.waitFor();
  }

  get verification(): Locator {
    return this.page.getByTestId('verification');
  }

  async verified(): Promise<boolean> {
    return (await this.verification.getAttribute('data-verified')) === 'true';
  }

  async heading(): Promise<string> {
    return (await this.verification.getByRole('heading').textContent()) ?? '';
  }

  get problem(): Locator {
    return this.page.getByTestId('verification-problem');
  }

  get counts(): Locator {
    return this.page.getByTestId('verification-counts');
  }

  async trustKey(line: string): Promise<void> {
    await this.page.getByLabel(/^Trusted public key/).fill(line);
    await this.page.getByRole('button', { name: 'Verify with this key' }).click();
  }

  get showUnverifiedButton(): Locator {
    return this.page.getByRole('button', { name: /^Show unverified content/ });
  }

  sessions(): Locator {
    return this.page.getByTestId('bundle-session');
  }

  async replay(sessionId: string): Promise<void> {
    await this.page.getByRole('button', { name: `Replay session ${sessionId}` }).click();
  }

  get replayBanner(): Locator {
    return this.page.getByTestId('replay-banner');
  }
}
