// Browser test of the dashboard against a running replay: Debian's Chromium driven by playwright-core.
//
// Usage: node e2e/dashboard.e2e.mjs --url http://127.0.0.1:PORT --token=TOKEN --out DIR [--pages-only] (--token= form: a token may start with "-")
// Checks: the dashboard loads from the CLI's #token= URL, the equity figure and chart change as cycles
// arrive, pause holds the run and resume restarts it, every page renders without console errors or error
// states at desktop (1400 px) and phone (390 px) widths with no sideways scrolling (the document is no wider
// than the window and no element pokes out past its right edge), and saves a screenshot of every page in DIR.
// --pages-only skips the live checks, for `papertrader serve` over stored runs (e.g. a board run with votes).
// Prints a JSON report; exits 1 when a check fails.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const PAGES = ['overview', 'performance', 'signals', 'decisions', 'risk', 'trades', 'controls'];
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    token: { type: 'string' },
    out: { type: 'string', default: 'artifacts/screenshots' },
    chromium: { type: 'string', default: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' },
    timeout: { type: 'string', default: '30000' },
    'pages-only': { type: 'boolean', default: false },
  },
});
if (!values.url || !values.token) {
  console.error('usage: dashboard.e2e.mjs --url URL --token TOKEN [--out DIR]');
  process.exit(2);
}
const TIMEOUT = Number(values.timeout);
mkdirSync(values.out, { recursive: true });

const report = { ok: true, checks: [], consoleErrors: [], screenshots: [], timings: {} };
const started = Date.now();

function check(name, ok, detail = '') {
  report.checks.push({ name, ok, detail });
  if (!ok) report.ok = false;
}

async function waitFor(predicate, timeout = TIMEOUT, every = 250) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    const value = await predicate();
    if (value) return value;
    await new Promise((r) => setTimeout(r, every));
  }
  return null;
}

function watchConsole(page, label) {
  page.on('console', (message) => {
    if (message.type() === 'error') report.consoleErrors.push(`${label}: ${message.text()}`);
  });
  page.on('pageerror', (error) => report.consoleErrors.push(`${label}: uncaught ${error.message}`));
}

async function chartState(page) {
  const chart = page.getByTestId('equity-chart');
  return {
    points: Number(await chart.getAttribute('data-points')),
    last: await chart.getAttribute('data-last'),
  };
}

async function equityText(page) {
  return (await page.getByTestId('kpi-equity-value').textContent())?.trim() ?? '';
}

async function cycleText(page) {
  return (await page.getByTestId('kpi-equity').locator('.kpi-sub').textContent())?.trim() ?? '';
}

/** How far the page scrolls sideways, and the widest elements that stick out past the window (not clipped). */
async function overflow(page) {
  return page.evaluate(() => {
    const width = window.innerWidth;
    const clipped = (el) => {
      for (let p = el.parentElement; p; p = p.parentElement) {
        const style = getComputedStyle(p);
        if (style.overflowX !== 'visible' && p !== document.body && p !== document.documentElement) return true;
      }
      return false;
    };
    const culprits = [];
    for (const el of document.body.querySelectorAll('*')) {
      const right = el.getBoundingClientRect().right;
      if (right > width + 1 && !clipped(el)) {
        culprits.push(`${el.tagName.toLowerCase()}.${[...el.classList].join('.')} ends at ${Math.round(right)}px`);
      }
    }
    return { page: document.documentElement.scrollWidth - width, culprits: culprits.slice(0, 3) };
  });
}

async function goTo(page, id) {
  await page.evaluate((hash) => {
    window.location.hash = hash;
  }, `#/${id}`);
  await page.getByTestId(`page-${id}`).waitFor({ timeout: TIMEOUT });
}

async function settle(page, id) {
  // wait until no panel is still loading (a refresh keeps the old content, so this converges)
  await waitFor(async () => (await page.locator('.state-loading').count()) === 0, TIMEOUT);
  await page.waitForTimeout(id === 'overview' || id === 'performance' ? 800 : 300);
}

const browser = await chromium.launch({ executablePath: values.chromium, headless: true, args: FLAGS });
try {
  // ---- desktop: load from the URL the CLI prints ----------------------------------------------
  const desktop = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await desktop.newPage();
  watchConsole(page, 'desktop');
  await page.goto(`${values.url}/#token=${values.token}`);
  await page.getByTestId('kpi-equity-value').waitFor({ timeout: TIMEOUT });
  check('token is taken out of the address bar', !page.url().includes('token='), page.url());
  if (!values['pages-only']) {
    const live = await waitFor(async () => (await page.getByTestId('stream-status').textContent()) === 'live');
    check('the WebSocket stream connects', Boolean(live));
  }
  report.timings.loadedMs = Date.now() - started;

  if (!values['pages-only']) {
    // ---- the equity figure and the chart change as cycles arrive ---------------------------------
    await page.getByTestId('equity-chart').waitFor({ timeout: TIMEOUT });
    const before = { equity: await equityText(page), cycle: await cycleText(page), chart: await chartState(page) };
    const changed = await waitFor(async () => {
      const now = { equity: await equityText(page), cycle: await cycleText(page), chart: await chartState(page) };
      return now.equity !== before.equity && now.chart.points > before.chart.points && now.chart.last !== before.chart.last
        ? now
        : null;
    });
    check('equity figure changes as cycles arrive', Boolean(changed), JSON.stringify({ before, after: changed }));
    check('equity chart gains points as cycles arrive', Boolean(changed && changed.chart.points > before.chart.points));

    // ---- pause holds the run, resume restarts it ----------------------------------------------
    await goTo(page, 'controls');
    await page.getByTestId('btn-pause').click();
    const paused = await waitFor(async () => (await page.getByTestId('control-state').textContent())?.includes('paused'));
    check('pause is acknowledged', Boolean(paused));
    await goTo(page, 'overview');
    await page.waitForTimeout(1200); // the cycle in flight when pause arrived
    const heldAt = await cycleText(page);
    await page.waitForTimeout(3000);
    const stillAt = await cycleText(page);
    check('no cycles run while paused', heldAt === stillAt, `${heldAt} → ${stillAt}`);
    await goTo(page, 'controls');
    await page.getByTestId('btn-resume').click();
    const resumed = await waitFor(async () => (await page.getByTestId('control-state').textContent())?.includes('running'));
    check('resume is acknowledged', Boolean(resumed));
    await goTo(page, 'overview');
    const moving = await waitFor(async () => (await cycleText(page)) !== stillAt);
    check('cycles continue after resume', Boolean(moving), `${stillAt} → ${await cycleText(page)}`);

    // ---- observe only and back to paper trading ---------------------------------------------------
    await goTo(page, 'controls');
    await page.getByTestId('btn-observe').click();
    const observing = await waitFor(async () => (await page.getByTestId('control-trading').textContent())?.includes('observe only'));
    check('observe only is acknowledged', Boolean(observing));
    await page.getByTestId('btn-paper').click();
    const trading = await waitFor(async () => (await page.getByTestId('control-trading').textContent())?.includes('paper trading'));
    check('paper trading is acknowledged', Boolean(trading));
  }

  // ---- every page, desktop and phone ------------------------------------------------------------
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const small = await phone.newPage();
  watchConsole(small, 'phone');
  await small.goto(`${values.url}/#token=${values.token}`);
  await small.getByTestId('kpi-equity-value').waitFor({ timeout: TIMEOUT });
  for (const [label, tab, prefix] of [
    ['desktop', page, ''],
    ['phone', small, 'phone-'],
  ]) {
    for (const [i, id] of PAGES.entries()) {
      const errorsBefore = report.consoleErrors.length;
      await goTo(tab, id);
      await settle(tab, id);
      const errorStates = await tab.getByTestId('error-state').count();
      check(`${label} ${id}: no error state`, errorStates === 0);
      const wide = await overflow(tab);
      check(`${label} ${id}: fits the width`, wide.page <= 1 && wide.culprits.length === 0, `page ${wide.page}px wider; ${wide.culprits.join('; ')}`);
      const file = join(values.out, `${prefix}${i + 1}-${id}.png`);
      await tab.screenshot({ path: file, fullPage: true });
      report.screenshots.push(file);
      check(`${label} ${id}: no console errors`, report.consoleErrors.length === errorsBefore, report.consoleErrors.slice(errorsBefore).join(' | '));
    }
  }
  check('no console errors at all', report.consoleErrors.length === 0, report.consoleErrors.join(' | '));
  report.timings.totalMs = Date.now() - started;
} catch (error) {
  check('the browser run completed', false, String(error?.stack ?? error));
} finally {
  await browser.close();
}
console.log(JSON.stringify(report, null, 2));
process.exit(report.ok ? 0 : 1);
