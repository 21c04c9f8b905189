/**
 * The CLI as a user runs it: a process that prints its listening line, refuses a bad config
 * with every problem listed, and drains in-flight requests on SIGTERM before exiting 0.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { startMockUpstream } from './support/mock-upstream.js';

const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function writeConfig(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-cli-'));
  dirs.push(dir);
  const file = join(dir, 'config.yaml');
  writeFileSync(file, text);
  return file;
}

function run(args: string[]): { child: ChildProcess; out: () => string; err: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SWITCHYARD_WORKERS: '' } });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exit };
}

async function listening(p: ReturnType<typeof run>, timeoutMs = 15_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const m = /listening on (http:\/\/\S+)/.exec(p.out());
    if (m) return m[1]!;
    if (p.child.exitCode !== null) throw new Error(`proxy exited ${p.child.exitCode}: ${p.err()}`);
    if (Date.now() > end) throw new Error(`no listening line: ${p.err()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('a bad config exits non-zero listing every problem with its path and line', async () => {
  const file = writeConfig(`model_list:
  - model_name: a
    litellm_params:
      model: openai/x
      rpm: six
  - litellm_params:
      model: openai/y
router_settings:
  routing_strategy: least_busy
`);
  const p = run(['--config', file, '--port', '0']);
  const code = await p.exit;
  assert.notEqual(code, 0);
  const err = p.err();
  assert.match(err, /3 problems/);
  assert.match(err, /model_list\[0\]\.litellm_params\.rpm \(line 5\)/);
  assert.match(err, /model_list\[1\]/);
  assert.match(err, /least-busy/);
});

test('a missing config file is a clear error', async () => {
  const p = run(['--config', '/nonexistent/switchyard.yaml']);
  assert.notEqual(await p.exit, 0);
  assert.match(p.err(), /nonexistent/);
});

test('serves, then drains an in-flight request on SIGTERM and exits 0', async (t) => {
  const upstream = await startMockUpstream();
  t.after(() => upstream.close());
  upstream.setBehavior({ kind: 'ok', delayMs: 700 });
  const file = writeConfig(`model_list:
  - model_name: slow
    litellm_params: { model: openai/x, api_base: "${upstream.url}/v1", api_key: sk-cli-secret-key }
environment_variables:
  UNUSED: "1"
`);
  const p = run(['--config', file, '--port', '0', '--host', '127.0.0.1', '--workers', '1']);
  t.after(() => p.child.kill('SIGKILL'));
  const url = await listening(p);
  const inflight = fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'slow', messages: [{ role: 'user', content: 'hi' }] }),
  });
  await upstream.waitForRequests(1);
  p.child.kill('SIGTERM');
  const res = await inflight;
  assert.equal(res.status, 200, 'the in-flight request finished');
  const body = (await res.json()) as { choices: Array<{ message: { content: string } }> };
  assert.equal(body.choices[0]!.message.content, 'Hello from mock');
  assert.equal(await p.exit, 0);
  assert.doesNotMatch(p.err() + p.out(), /sk-cli-secret-key/, 'no key in any log line');
});
