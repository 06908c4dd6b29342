// The browser half of `bit login`, driven by headless Chromium (Debian's package) through
// playwright-core: opens the URL the CLI printed, submits a wrong password (expects the form
// again with #error and status 401), then the right one, and follows the redirects through the
// CLI's listener on http://localhost:<port>/ to scoped's signed-in page.
// usage: node login.mjs URL   with env:
//   LOGIN_USER, LOGIN_PASSWORD, LOGIN_WRONG_PASSWORD   the account to sign in with
//   PLAYWRIGHT_DIR   a directory whose node_modules has playwright-core
//   SHOT_PREFIX      screenshots go to SHOT_PREFIX-{1-form,2-error,3-signed-in}.png
//   USER_DATA_DIR    a fresh Chromium profile directory
//   CHROMIUM         the browser (default /usr/bin/chromium)
//   BROWSER_TIMEOUT_MS   the whole run (default 90000); every single wait is 15 s at most
// Prints one line per step; exits 0 when every step passed. Never prints the token.
import { createRequire } from 'node:module';
import path from 'node:path';

const env = (k, d) => {
  const v = process.env[k] ?? d;
  if (v === undefined || v === '') { console.error(`login.mjs: ${k} is not set`); process.exit(2); }
  return v;
};
const url = process.argv[2];
if (!url) { console.error('usage: node login.mjs URL'); process.exit(2); }
const user = env('LOGIN_USER');
const password = env('LOGIN_PASSWORD');
const wrongPassword = env('LOGIN_WRONG_PASSWORD');
const shotPrefix = env('SHOT_PREFIX');
const userDataDir = env('USER_DATA_DIR');
const executablePath = env('CHROMIUM', '/usr/bin/chromium');
const totalMs = Number(env('BROWSER_TIMEOUT_MS', '90000'));
const STEP_MS = 15000;

const require = createRequire(path.join(env('PLAYWRIGHT_DIR'), 'node_modules', 'x.js'));
const { chromium } = require('playwright-core');

const expected = new URL(url);
const cliPort = expected.searchParams.get('port');
const clientId = expected.searchParams.get('clientId');
const redact = (u) => u.replace(/([?&]token=)[^&#]*/g, '$1<redacted>');

class StepError extends Error {}
const check = (cond, msg) => { if (!cond) throw new StepError(msg); };
const step = (msg) => console.log(`--- ${msg}`);

let context;
let finished = false;
async function closeBrowser() {
  if (!context) return;
  const c = context;
  context = undefined;
  await Promise.race([c.close().catch(() => {}), new Promise((r) => setTimeout(r, 10000))]);
}
const overall = setTimeout(async () => {
  if (finished) return;
  console.error(`login.mjs: gave up after ${totalMs} ms`);
  await closeBrowser();
  process.exit(1);
}, totalMs);

async function hidden(page, name) {
  const el = await page.$(`form input[type=hidden][name="${name}"]`);
  return el ? el.getAttribute('value') : null;
}

async function run() {
  check(expected.pathname.endsWith('/bit-login'), `the CLI's URL does not end in /bit-login: ${url}`);
  check(cliPort && clientId, `the CLI's URL lacks port or clientId: ${url}`);

  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    timeout: STEP_MS * 2,
    viewport: { width: 900, height: 640 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  context.setDefaultTimeout(STEP_MS);
  context.setDefaultNavigationTimeout(STEP_MS);
  const page = context.pages()[0] || await context.newPage();

  // every document request the tab makes, with the token redacted
  const hops = [];
  page.on('response', (resp) => {
    if (resp.request().resourceType() === 'document') hops.push(`${resp.status()} ${resp.request().method()} ${redact(resp.url())}`);
  });
  page.on('requestfailed', (req) => hops.push(`FAILED ${req.method()} ${redact(req.url())}: ${req.failure()?.errorText}`));

  step(`open the URL the CLI printed (${url})`);
  const first = await page.goto(url, { waitUntil: 'load' });
  check(first && first.status() === 200, `GET /bit-login answered ${first && first.status()}`);
  for (const sel of ['#username', '#password', '#submit']) check(await page.isVisible(sel), `the login page has no visible ${sel}`);
  check((await page.getAttribute('#password', 'type')) === 'password', '#password is not a password input');
  check(await hidden(page, 'port') === cliPort, `hidden port is ${await hidden(page, 'port')}, not ${cliPort}`);
  check(await hidden(page, 'clientId') === clientId, 'hidden clientId does not echo the CLI\'s clientId');
  await page.screenshot({ path: `${shotPrefix}-1-form.png`, fullPage: true });
  console.log(`screenshot: ${shotPrefix}-1-form.png`);

  step('a wrong password shows the error and the form again');
  await page.fill('#username', user);
  await page.fill('#password', wrongPassword);
  const [bad] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('#submit')]);
  check(bad && bad.status() === 401, `a wrong password answered ${bad && bad.status()}, not 401`);
  check(new URL(page.url()).pathname === '/bit-login', `after a wrong password the page is ${redact(page.url())}`);
  check(await page.isVisible('#error'), 'no visible #error after a wrong password');
  const errText = (await page.textContent('#error')).trim();
  check(errText === 'wrong username or password', `#error says "${errText}"`);
  for (const sel of ['#username', '#password', '#submit']) check(await page.isVisible(sel), `the error page has no visible ${sel}`);
  check(await hidden(page, 'port') === cliPort, 'the error page lost the hidden port');
  check(await hidden(page, 'clientId') === clientId, 'the error page lost the hidden clientId');
  check(!(await page.inputValue('#password')), 'the error page kept the wrong password in the form');
  await page.screenshot({ path: `${shotPrefix}-2-error.png`, fullPage: true });
  console.log(`screenshot: ${shotPrefix}-2-error.png`);

  step('the right password goes through the CLI\'s listener to the signed-in page');
  hops.length = 0;
  await page.fill('#username', user);
  await page.fill('#password', password);
  await Promise.all([
    page.waitForURL((u) => u.pathname === '/bit-login/done', { waitUntil: 'load' }),
    page.click('#submit'),
  ]);
  console.log(`redirects: ${hops.join(' -> ')}`);
  const post = hops.find((h) => h.includes(' POST ') && h.includes('/bit-login'));
  check(post && post.startsWith('302 '), `POST /bit-login did not answer 302 (${post})`);
  const listener = hops.find((h) => h.includes(`//localhost:${cliPort}/`));
  check(listener, `the browser never reached the CLI's listener on localhost:${cliPort}`);
  check(listener.startsWith('302 '), `the CLI's listener answered "${listener}", not 302`);
  check(/[?&]token=<redacted>/.test(listener) && listener.includes(`clientId=${clientId}`),
    `the redirect to the listener lacks token or clientId: ${listener}`);
  check(listener.includes(`username=${encodeURIComponent(user)}`), `the redirect to the listener lacks username: ${listener}`);
  check(new URL(page.url()).origin === expected.origin, `the signed-in page is not on scoped: ${redact(page.url())}`);
  check(await page.isVisible('#signed-in'), 'the signed-in page has no visible #signed-in');
  const heading = (await page.textContent('#signed-in')).trim();
  check(/signed in/i.test(heading), `#signed-in says "${heading}"`);
  check(!page.url().includes('token='), 'the signed-in page\'s URL carries the token');
  await page.screenshot({ path: `${shotPrefix}-3-signed-in.png`, fullPage: true });
  console.log(`screenshot: ${shotPrefix}-3-signed-in.png`);
}

let code = 0;
try {
  await run();
  console.log('browser: ok');
} catch (e) {
  code = 1;
  console.error(`BROWSER FAILED: ${e instanceof StepError ? e.message : (e && e.stack) || e}`);
  try {
    const p = context && context.pages()[0];
    if (p) {
      await p.screenshot({ path: `${shotPrefix}-failure.png`, fullPage: true, timeout: 5000 });
      console.error(`screenshot: ${shotPrefix}-failure.png (at ${redact(p.url())})`);
    }
  } catch { /* the browser may be gone */ }
}
finished = true;
clearTimeout(overall);
await closeBrowser();
process.exit(code);
