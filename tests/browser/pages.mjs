// The web pages, driven by headless Chromium (Debian's package) through playwright-core, against
// a daemon that pages.sh filled with the real Bit CLI. One visitor's day: browse anonymously (the
// private scope is nowhere), look at a scope, search it, follow a dependency, read a file whose
// text is `<script>alert(1)</script>`, sign in, create tokens (shown once) and revoke one, sign
// out; then an admin creates a scope and adds a member.
// usage: node pages.mjs   with env:
//   BASE            the daemon, http://127.0.0.1:PORT
//   PUB_SCOPE, PRIV_SCOPE, NEW_SCOPE, PAGES_USER, PAGES_PASSWORD, ADMIN_USER, ADMIN_PASSWORD,
//   OUTSIDER, EVIL_TEXT   what pages.sh set up
//   TOKEN_FILE, REVOKED_FILE   where the page's kept and revoked tokens are written (for the CLI)
//   SHOT_DIR        screenshots go to SHOT_DIR/pages-*.png
//   PLAYWRIGHT_DIR, USER_DATA_DIR, CHROMIUM, BROWSER_TIMEOUT_MS   as for login.mjs
// Prints one line per step; exits 0 when every step passed. Never prints a token.
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

const env = (k, d) => {
  const v = process.env[k] ?? d;
  if (v === undefined || v === '') { console.error(`pages.mjs: ${k} is not set`); process.exit(2); }
  return v;
};
const base = env('BASE');
const PUB = env('PUB_SCOPE');
const PRIV = env('PRIV_SCOPE');
const NEW = env('NEW_SCOPE');
const user = env('PAGES_USER');
const password = env('PAGES_PASSWORD');
const admin = env('ADMIN_USER');
const adminPassword = env('ADMIN_PASSWORD');
const outsider = env('OUTSIDER');
const evil = env('EVIL_TEXT');
const tokenFile = env('TOKEN_FILE');
const revokedFile = env('REVOKED_FILE');
const shotDir = env('SHOT_DIR');
const userDataDir = env('USER_DATA_DIR');
const executablePath = env('CHROMIUM', '/usr/bin/chromium');
const totalMs = Number(env('BROWSER_TIMEOUT_MS', '150000'));
const STEP_MS = 15000;

const require = createRequire(path.join(env('PLAYWRIGHT_DIR'), 'node_modules', 'x.js'));
const { chromium } = require('playwright-core');

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
  console.error(`pages.mjs: gave up after ${totalMs} ms`);
  await closeBrowser();
  process.exit(1);
}, totalMs);

let page;
const dialogs = [];
const consoleErrors = [];

async function shot(name) {
  const file = `${shotDir}/pages-${name}.png`;
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot: ${file}`);
}
async function go(p, status = 200) {
  const resp = await page.goto(base + p, { waitUntil: 'load' });
  check(resp && resp.status() === status, `GET ${p} answered ${resp && resp.status()}, not ${status}`);
  return resp;
}
async function click(sel, urlPredicate) {
  await Promise.all([page.waitForURL(urlPredicate, { waitUntil: 'load' }), page.click(sel)]);
}
const text = async (sel) => ((await page.textContent(sel)) ?? '').trim();
const texts = (sel) => page.$$eval(sel, (els) => els.map((e) => e.textContent.trim()));
const here = () => new URL(page.url());

async function signIn(name, pw, next) {
  await go(`/bit-login?next=${encodeURIComponent(next)}`);
  await page.fill('#username', name);
  await page.fill('#password', pw);
  await click('#submit', (u) => u.pathname === next);
  check(await text('#who') === name, `after signing in the header says "${await text('#who')}"`);
}

async function run() {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    timeout: STEP_MS * 2,
    viewport: { width: 1100, height: 760 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  context.setDefaultTimeout(STEP_MS);
  context.setDefaultNavigationTimeout(STEP_MS);
  page = context.pages()[0] || await context.newPage();
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  // expected 404s and 400s also log "Failed to load resource"; anything else (a CSP refusal) counts
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) consoleErrors.push(m.text());
  });

  step('anonymous: / lists the public scope only, under a strict CSP');
  const home = await go('/');
  const csp = home.headers()['content-security-policy'] || '';
  check(csp.includes("default-src 'none'") && !csp.includes('unsafe') && csp.includes("frame-ancestors 'none'"),
    `the CSP is not strict: ${csp}`);
  check((await texts('#scopes a')).includes(PUB), `/ does not list ${PUB}`);
  check(!(await page.content()).includes(PRIV), `/ shows ${PRIV} to an anonymous visitor`);
  await shot('01-home-anonymous');

  step('anonymous: the private scope answers exactly as a missing one');
  await go(`/${PRIV}`, 404);
  const privMain = await page.innerHTML('main');
  await go('/no.such-scope', 404);
  check(await page.innerHTML('main') === privMain, 'the private scope\'s 404 differs from a missing scope\'s');
  await go(`/${PRIV}/~/secret`, 404);
  check(await page.innerHTML('main') === privMain, 'the private component\'s 404 differs');
  check(!(await page.innerHTML('main')).includes('secret'), 'the 404 page names the private component');

  step('the scope page: components by namespace, latest, author, how to connect');
  await go(`/${PUB}`);
  check((await text('#scope-name')).startsWith(PUB), `#scope-name is "${await text('#scope-name')}"`);
  check(await text('#count') === '3', `#count is ${await text('#count')}, not 3`);
  const namespaces = await texts('h3.namespace');
  check(JSON.stringify(namespaces) === JSON.stringify(['(no namespace)', 'ui', 'utils']),
    `namespaces are ${JSON.stringify(namespaces)}`);
  const rows = await page.$$eval('table.components tr', (trs) => trs.slice(0).map((tr) => [...tr.cells].map((c) => c.textContent.trim())));
  const format = rows.find((r) => r[0] === `${PUB}/utils/format`);
  check(format, `no row for ${PUB}/utils/format: ${JSON.stringify(rows)}`);
  check(format[1] === '1.0.1', `utils/format's latest is "${format[1]}", not 1.0.1`);
  check(/UTC$/.test(format[2]), `utils/format's last export is "${format[2]}"`);
  check(format[3] === 'Alice Example', `utils/format's author is "${format[3]}"`);
  check(await text('#remote-add') === `bit remote add ${base}/${PUB}`, `#remote-add says "${await text('#remote-add')}"`);
  check((await text('#default-scope')).includes(`"defaultScope": "${PUB}"`), `#default-scope says "${await text('#default-scope')}"`);
  await shot('02-scope');

  step('search by name');
  await page.fill('#search', 'FORM');
  await click('#search-go', (u) => u.searchParams.get('q') === 'FORM');
  check((await text('#matches')).startsWith('1 component match'), `#matches says "${await text('#matches')}"`);
  check(JSON.stringify(await texts('table.components td:first-child a')) === JSON.stringify([`${PUB}/utils/format`]),
    `the search shows ${JSON.stringify(await texts('table.components td:first-child a'))}`);
  await shot('03-search');

  step('a component page: versions, its dependency linked, the import line');
  await go(`/${PUB}/~/app`);
  check(await text('#import-line') === `bit import ${PUB}/app`, `#import-line says "${await text('#import-line')}"`);
  const versions = await text('#versions');
  check(versions.includes('1.0.0') && versions.includes('first release') && versions.includes('Alice Example') &&
    versions.includes('alice@example.com'), `#versions lacks version, message or author: ${versions}`);
  check(JSON.stringify(await texts('#files a')) === JSON.stringify(['components/app/index.js']), `#files: ${await texts('#files a')}`);
  check((await text('#file-content')).includes("require('../utils/format')"), 'app\'s file is not shown');
  await shot('04-component');
  // tagging utils/format 1.0.1 auto-tagged its dependent: app 1.0.1 depends on it
  const depLink = '#dependencies a';
  check(await text(depLink) === `${PUB}/utils/format`, `the dependency link says "${await text(depLink)}"`);
  check(await text('#dependencies li') === `${PUB}/utils/format@1.0.1`, `the dependency is "${await text('#dependencies li')}"`);
  await click(depLink, (u) => u.pathname === `/${PUB}/~/utils/format`);
  check(here().searchParams.get('v') === '1.0.1', `the dependency link chose version ${here().searchParams.get('v')}`);
  check((await text('#file-content')).includes('toFixed(3)'), 'version 1.0.1 of utils/format does not show its file');
  check((await text('#dependents')).startsWith(`${PUB}/app`), `#dependents says "${await text('#dependents')}"`);
  const fv = await text('#versions');
  check(fv.indexOf('1.0.1') < fv.indexOf('1.0.0') && fv.includes('three decimals') && fv.includes('first release'),
    `utils/format's versions: ${fv}`);
  await shot('05-dependency');
  step('an older version and its files');
  await click('#versions a >> text="1.0.0"', (u) => u.searchParams.get('v') === '1.0.0');
  check((await text('tr.chosen')).startsWith('1.0.0'), `the chosen row is "${await text('tr.chosen')}"`);
  check((await text('#file-content')).includes('toFixed(2)'), 'version 1.0.0 of utils/format does not show its own file');
  await click('#files a', (u) => u.searchParams.get('file') === 'components/utils/format/index.js');
  check((await text('#file-name')) === 'components/utils/format/index.js', `#file-name is "${await text('#file-name')}"`);
  await go(`/${PUB}/~/utils/format?v=9.9.9`);
  check((await text('#no-version')).includes('9.9.9'), 'an unknown version is not reported');

  step('a file holding <script> shows as text: no script element, no dialog');
  await go(`/${PUB}/~/ui/note`);
  check((await text('#file-content')).includes(evil), `#file-content does not show ${evil} as text`);
  check(await page.$$eval('script', (s) => s.length) === 0, 'the page has a script element');
  check((await page.content()).includes('&lt;script&gt;alert(1)&lt;/script&gt;'), 'the markup does not hold the escaped text');
  await page.waitForTimeout(300);
  check(dialogs.length === 0, `a dialog fired: ${dialogs.join(', ')}`);
  await shot('06-script-as-text');

  step('a forged sign-in (no form from this server) is refused');
  const forged = await page.request.post(`${base}/bit-login`, { form: { username: user, password, next: '/' }, maxRedirects: 0 });
  check(forged.status() === 403, `a sign-in without the form's token answered ${forged.status()}`);
  check(!(await context.cookies(base)).some((c) => c.name === 'scoped_session'), 'a forged sign-in got a session');

  step('sign in from the scope page and come back to it');
  await go(`/${PUB}`);
  await click('#sign-in', (u) => u.pathname === '/bit-login');
  check(here().searchParams.get('next') === `/${PUB}`, `the sign-in link's next is ${here().searchParams.get('next')}`);
  await page.fill('#username', user);
  await page.fill('#password', password);
  await click('#submit', (u) => u.pathname === `/${PUB}`);
  check(await text('#who') === user, `the header says "${await text('#who')}"`);
  const session = (await context.cookies(base)).find((c) => c.name === 'scoped_session');
  check(session && session.httpOnly && session.sameSite === 'Strict' && session.path === '/',
    `the session cookie is ${JSON.stringify(session && { ...session, value: '<redacted>' })}`);
  check(await page.evaluate(() => document.cookie) === '', 'a script could read a cookie');
  check((await text('main')).includes('your role: developer'), 'the scope page does not show alice\'s role');
  await go('/');
  check((await texts('#scopes a')).includes(PRIV), `/ does not list ${PRIV} for its member`);
  await shot('07-home-signed-in');
  await go(`/${PRIV}/~/secret`);
  check((await text('#file-content')).includes('the private secret'), 'the member does not see the private file');

  step('tokens: create one (shown once), create and revoke another');
  await go('/');
  await click('#nav-tokens', (u) => u.pathname === '/tokens');
  await page.fill('#label', 'pages test: CLI');
  const [created] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('#create')]);
  check(created.status() === 201, `creating a token answered ${created.status()}`);
  const token = await text('#new-token');
  check(/^scp_[A-Za-z0-9_-]{40,}$/.test(token), 'the new token does not look like one');
  check(!page.url().includes(token), 'the token is in the URL');
  writeFileSync(tokenFile, token, { mode: 0o600 });
  await shot('08-token-created');
  await go('/tokens');
  check(!(await page.content()).includes(token), 'the token is shown again');
  check((await texts('#tokens td.label')).includes('pages test: CLI'), 'the new token is not listed');
  await page.fill('#label', 'to revoke');
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('#create')]);
  writeFileSync(revokedFile, await text('#new-token'), { mode: 0o600 });
  await go('/tokens');
  const row = page.locator('#tokens tr', { hasText: 'to revoke' });
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), row.locator('button.revoke').click()]);
  check(here().pathname === '/tokens', `revoking went to ${page.url()}`);
  check((await page.locator('#tokens tr', { hasText: 'to revoke' }).textContent()).includes('revoked'), 'the revoked token is not marked');
  check((await page.locator('#tokens tr', { hasText: 'pages test: CLI' }).textContent()).includes('Revoke'), 'the kept token lost its revoke button');
  await shot('09-tokens');

  step('a form without the session\'s CSRF token is refused');
  const noCsrf = await page.request.post(`${base}/tokens`, { form: { label: 'forged' }, maxRedirects: 0 });
  check(noCsrf.status() === 403, `a token form without CSRF token answered ${noCsrf.status()}`);
  const badCsrf = await page.request.post(`${base}/tokens`, { form: { label: 'forged', csrf: 'a'.repeat(64) }, maxRedirects: 0 });
  check(badCsrf.status() === 403, `a token form with a wrong CSRF token answered ${badCsrf.status()}`);
  await go('/tokens');
  check(!(await texts('#tokens td.label')).includes('forged'), 'a forged form created a token');

  step('sign out');
  await click('#sign-out', (u) => u.pathname === '/');
  check(await page.isVisible('#sign-in'), 'no sign-in link after signing out');
  check(!(await context.cookies(base)).some((c) => c.name === 'scoped_session'), 'the session cookie is still there');
  await go(`/${PRIV}`, 404);
  await go('/tokens');
  check(here().pathname === '/bit-login' && here().searchParams.get('next') === '/tokens', `/tokens signed out went to ${page.url()}`);

  step('an admin creates a scope and adds a member');
  await signIn(admin, adminPassword, '/admin');
  await shot('10-admin');
  await page.fill('#scope', NEW);
  await click('#create-scope', (u) => u.pathname === `/${NEW}`);
  check((await text('#scope-name')).includes('private'), `the new scope is not private: ${await text('#scope-name')}`);
  check(await page.isVisible('#empty'), 'the new scope does not say it is empty');
  await click('#members', (u) => u.pathname === `/scopes/${NEW}/members`);
  await page.fill('#member-user', outsider);
  await page.selectOption('#member-role', 'viewer');
  await click('#add-member', (u) => u.pathname === `/scopes/${NEW}/members`);
  const members = await page.$$eval('#member-list tr', (trs) => trs.slice(1).map((tr) => [tr.cells[0].textContent.trim(), tr.querySelector('select').value]));
  check(JSON.stringify(members) === JSON.stringify([[outsider, 'viewer']]), `members are ${JSON.stringify(members)}`);
  await shot('11-members');
  await page.fill('#member-user', 'nobody-here');
  const [bad] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('#add-member')]);
  check(bad.status() === 400 && (await text('#error')).includes('no user'), `adding an unknown user: ${bad.status()} ${await text('#error')}`);

  check(consoleErrors.length === 0, `the browser reported errors (CSP?): ${consoleErrors.join(' | ')}`);
}

let code = 0;
try {
  await run();
  console.log('browser: ok');
} catch (e) {
  code = 1;
  console.error(`BROWSER FAILED: ${e instanceof StepError ? e.message : (e && e.stack) || e}`);
  try {
    if (page) {
      await page.screenshot({ path: `${shotDir}/pages-failure.png`, fullPage: true, timeout: 5000 });
      console.error(`screenshot: ${shotDir}/pages-failure.png (at ${page.url()})`);
    }
  } catch { /* the browser may be gone */ }
}
finished = true;
clearTimeout(overall);
await closeBrowser();
process.exit(code);
