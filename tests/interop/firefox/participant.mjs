// A demo participant in Debian's Firefox ESR (headless, fake camera and microphone, loopback
// ICE allowed): opens the demo page, joins under a name, then prints what it sees of the
// others once a second as JSON lines, until it has run for the given seconds.
//
//   node participant.mjs <demo url> <name> <seconds> < probe.js
//
// probe.js (standard input) is an async function expression evaluated in the page each
// second; its result is printed as {"seen": ...}.
import { readFileSync } from 'node:fs';
import puppeteer from 'puppeteer-core';

const [url, name, seconds] = process.argv.slice(2);
const probe = readFileSync(0, 'utf8');
const browser = await puppeteer.launch({
  browser: 'firefox',
  executablePath: process.env.FIREFOX || '/usr/bin/firefox-esr',
  headless: true,
  extraPrefsFirefox: {
    'media.navigator.streams.fake': true,
    'media.navigator.permission.disabled': true,
    // Firefox leaves 127.0.0.1 out of its ICE candidates unless told; the tests run in a
    // network namespace that has nothing else.
    'media.peerconnection.ice.loopback': true,
    'media.peerconnection.ice.obfuscate_host_addresses': false,
  },
});
const print = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);
try {
  const page = await browser.newPage();
  await page.goto(url);
  await page.evaluate(() => {
    // Test hook, as in the Chromium tests: the page's consumers, for getStats.
    window.demoConsumers = () => [...state.consumers.values()];
  });
  await page.$eval('#name', (input, value) => { input.value = value; }, name);
  await page.click('#join');
  await page.waitForFunction(
    () => document.getElementById('status').textContent.startsWith('in room'),
    { timeout: 30000 });
  print({ joined: true, userAgent: await page.evaluate(() => navigator.userAgent) });
  const end = Date.now() + Number(seconds) * 1000;
  while (Date.now() < end) {
    print({ seen: await page.evaluate(`(${probe})()`) });
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
} finally {
  await browser.close();
}
