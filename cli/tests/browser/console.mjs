// Drives the console of a running `handoff serve` in headless Chromium (Debian's, through
// playwright-core): opens the start-up link, filters the list, opens a handoff, clicks Accept,
// sees the state change, opens the audit, the roster, the rules and the what-if page, then the
// claim confirmation page of a claim link, and finally checks that without the cookie the
// console asks for the token. Saves a screenshot of every step in $ARTIFACTS.
//
// Called by cli/tests/console_browser.rs, which starts the server and passes:
//   CONSOLE_URL   the start-up link (with ?token=…)
//   DEMO_ID       a notified handoff to open and accept, owned by DEMO_OWNER (rep id)
//   CLAIM_URL     a signed accept link of another handoff
//   CHROMIUM      the browser binary; BROWSER_TOOLS the directory playwright-core is installed in
//   ARTIFACTS     where screenshots go
// Exits non-zero, naming the step, on the first thing that is not as expected.
import { createRequire } from 'node:module';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const consoleUrl = env('CONSOLE_URL');
const demoId = env('DEMO_ID');
const demoOwner = env('DEMO_OWNER');
const claimUrl = env('CLAIM_URL');
const artifacts = env('ARTIFACTS');
const require = createRequire(join(env('BROWSER_TOOLS'), 'package.json'));
const { chromium } = require('playwright-core');

const base = new URL(consoleUrl).origin;
mkdirSync(artifacts, { recursive: true });
const profile = mkdtempSync(join(tmpdir(), 'handoff-chromium-'));

function expect(condition, what) {
  if (!condition) throw new Error(`expected ${what}`);
}

let step = 'launch';
const context = await chromium.launchPersistentContext(profile, {
  executablePath: env('CHROMIUM'),
  headless: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-quic',
  ],
  viewport: { width: 1200, height: 900 },
});
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15000);
  const shot = async (name) => {
    await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
    console.log(`ok ${name}`);
  };
  const rows = () => page.locator('table#handoffs tbody tr').count();

  step = 'open the start-up link';
  await page.goto(consoleUrl);
  expect(page.url() === `${base}/`, `the token out of the address, got ${page.url()}`);
  expect((await rows()) === 2, 'two handoffs in the list');
  await shot('01-list');

  step = 'filter the list';
  await page.selectOption('select[name=flag]', 'pricing');
  await page.click('button:has-text("Filter")');
  await page.waitForURL(/flag=pricing/);
  expect((await rows()) === 1, 'one handoff with the pricing flag');
  expect(!(await page.content()).includes(demoId), 'the demo request filtered out');
  await shot('02-filtered-by-flag');
  await page.goto(`${base}/`);
  await page.selectOption('select[name=owner]', demoOwner);
  await page.selectOption('select[name=state]', 'notified');
  await page.click('button:has-text("Filter")');
  await page.waitForURL(/owner=/);
  expect((await rows()) === 1, `one notified handoff of ${demoOwner}`);
  await shot('03-filtered-by-owner');

  step = 'open the handoff';
  await page.click(`a[href="/handoffs/${demoId}"]`);
  await page.waitForURL(`${base}/handoffs/${demoId}`);
  const before = await page.textContent('header p');
  expect(before.includes('notified'), `state notified in "${before}"`);
  for (const part of ['1. Trigger', '6. Risk flags', 'Routing trace', 'Timeline']) {
    expect(await page.isVisible(`text=${part}`), `${part} on the handoff page`);
  }
  await shot('04-handoff');

  step = 'click Accept';
  await page.click('button:has-text("Accept as")');
  await page.waitForURL(/done=accept/);
  const after = await page.textContent('header p');
  expect(after.includes('accepted'), `state accepted in "${after}"`);
  expect(await page.isVisible('text=Accepted as'), 'the confirmation sentence');
  expect((await page.locator('button:has-text("Accept as")').count()) === 0, 'no accept button left');
  await shot('05-accepted');

  step = 'roster';
  await page.click('nav >> text=Roster');
  await page.waitForURL(`${base}/roster`);
  expect(await page.isVisible('table.roster'), 'the roster table');
  await shot('06-roster');

  step = 'audit';
  await page.click('nav >> text=Audit');
  await page.waitForURL(`${base}/audit`);
  expect(await page.isVisible('text=Acceptance rate'), 'the acceptance rate');
  await shot('07-audit');

  step = 'rules and the what-if';
  await page.click('nav >> text=Rules');
  await page.waitForURL(`${base}/rules`);
  expect(await page.isVisible('text=Routing rules'), 'the routing rules');
  await shot('08-rules');
  await page.click('button:has-text("Run the what-if")');
  await page.waitForURL(`${base}/rules/what-if`);
  expect((await page.textContent('h1')).includes('What-if'), 'the what-if page');
  await shot('09-what-if');

  step = 'claim confirmation page';
  await page.goto(claimUrl);
  expect(await page.isVisible('button:has-text("Confirm")'), 'the confirm button');
  await shot('10-claim-confirm');
  await page.click('button:has-text("Confirm")');
  await page.waitForLoadState();
  const claimed = await page.textContent('body');
  expect(claimed.includes('"state":"accepted"'), `the claim applied, got ${claimed}`);
  await shot('11-claim-done');

  step = 'without the cookie';
  await context.clearCookies();
  const refused = await page.goto(`${base}/`);
  expect(refused.status() === 401, `401 without the cookie, got ${refused.status()}`);
  expect(await page.isVisible('text=needs the token'), 'the sign-in explanation');
  expect(!(await page.content()).includes(demoId), 'no handoff without the token');
  await shot('12-no-token');
} catch (e) {
  console.error(`browser step "${step}" failed: ${e.message}`);
  process.exitCode = 1;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
