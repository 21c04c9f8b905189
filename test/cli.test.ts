/**
 * The CLI as a user runs it: a process that prints its listening line, refuses a bad config
 * with every problem listed, and drains in-flight requests on SIGTERM before exiting 0.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

function run(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; out: () => string; err: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [cli, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SWITCHYARD_WORKERS: '', JSON_LOGS: '', LITELLM_LOG: '', SWITCHYARD_LOG_LEVEL: '', ...env },
  });
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

test('--version prints the package version', async () => {
  const p = run(['--version']);
  assert.equal(await p.exit, 0);
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal(p.out().trim(), `switchyard ${pkg.version}`);
});

test('check: a config that loads exits 0 and lists its groups, deployment counts and warnings', async () => {
  const file = writeConfig(`model_list:
  - model_name: chat
    litellm_params: { model: openai/a, api_base: "http://127.0.0.1:9/v1", api_key: sk-check-secret-1 }
  - model_name: chat
    litellm_params: { model: openai/b, api_base: "http://127.0.0.1:9/v1", api_key: sk-check-secret-2, tempreature: 0.2 }
  - model_name: embed
    litellm_params: { model: openai/e, api_base: "http://127.0.0.1:9/v1" }
router_settings:
  model_group_alias: { talk: chat }
`);
  const p = run(['check', '-c', file]);
  assert.equal(await p.exit, 0, p.err());
  const out = p.out();
  assert.match(out, /: ok, 2 model groups, 3 deployments, 1 warning\n/);
  assert.match(out, /group chat: 2 deployments/);
  assert.match(out, /group embed: 1 deployment\n/);
  assert.match(out, /alias talk → chat/);
  assert.match(out, /warning: model_list\[1\]\.litellm_params\.tempreature \(line 5\): not used by Switchyard \(did you mean "temperature"\?\); ignored/);
  assert.doesNotMatch(out + p.err(), /listening/, 'no server started');
  assert.doesNotMatch(out + p.err(), /sk-check-secret/);
});

test('check: several files, one bad: every problem with path and line, exit 1', async () => {
  const good = writeConfig(`model_list:
  - model_name: a
    litellm_params: { model: openai/x, api_base: "http://127.0.0.1:9/v1" }
`);
  const bad = writeConfig(`model_list:
  - model_name: a
    litellm_params:
      model: openai/x
      api_base: not-a-url
      rpm: six
`);
  const p = run(['check', good, '-c', bad]);
  assert.equal(await p.exit, 1);
  assert.match(p.err(), /: ok, 1 model group, 1 deployment, 0 warnings/);
  assert.match(p.err(), /2 problems/);
  // A bad api_base no longer hides the entry's other problems.
  assert.match(p.err(), /model_list\[0\]\.litellm_params\.api_base \(line 5\): must be an http/);
  assert.match(p.err(), /model_list\[0\]\.litellm_params\.rpm \(line 6\)/);
  assert.match(p.err(), /2 files checked: some do not load/);
});

test('check: a missing file is reported and exits 1; no file at all is a usage error', async () => {
  const p = run(['check', '/nonexistent/switchyard.yaml']);
  assert.equal(await p.exit, 1);
  assert.match(p.err(), /\/nonexistent\/switchyard\.yaml/);
  const none = run(['check']);
  assert.equal(await none.exit, 2);
  assert.match(none.err(), /at least one config file/);
});

test('the startup line counts in the singular for one deployment and one group', async (t) => {
  const file = writeConfig(`model_list:
  - model_name: only
    litellm_params: { model: openai/x, mock_response: hi, api_key: os.environ/SWITCHYARD_TEST_UNSET_KEY }
`);
  const p = run(['--config', file, '--port', '0', '--workers', '0']);
  t.after(() => p.child.kill('SIGKILL'));
  await listening(p);
  // Log lines are flushed once per event-loop turn: the startup line may follow the listening line.
  for (let i = 0; i < 100 && !/model group/.test(p.err()); i++) await new Promise((r) => setTimeout(r, 20));
  assert.match(p.err(), /1 deployment in 1 model group; upstream calls inline/);
  // The deployment is mocked, so its unset key is never read: no warning about it.
  assert.doesNotMatch(p.err(), /SWITCHYARD_TEST_UNSET_KEY/);
  assert.doesNotMatch(p.err(), / warn /);
});

test('with SWITCHYARD_UWS_PATH naming no build, the CLI exits 1 saying what it tried and what works', async () => {
  const child = spawn(process.execPath, [cli, '--config', writeConfig('model_list: []\n'), '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SWITCHYARD_UWS_PATH: '/nonexistent/uws' },
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 1);
  assert.match(err, new RegExp(`no native uWebSockets\\.js build loads on Node ${process.versions.node.replace(/\./g, '\\.')} \\(ABI ${process.versions.modules}`));
  assert.match(err, /SWITCHYARD_UWS_PATH=\/nonexistent\/uws: /);
  assert.match(err, /only it was tried/);
  assert.doesNotMatch(err, /listening/);
});

const mocked = `model_list:
  - model_name: m
    litellm_params: { model: openai/x, mock_response: hi, api_key: sk-cli-json-secret }
`;

function jsonLines(text: string): Array<Record<string, unknown>> {
  return text.split('\n').filter((l) => l !== '').map((l) => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      assert.fail(`not a JSON line: ${l}`);
    }
  });
}

async function chatOnce(url: string, requestId: string): Promise<void> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': requestId },
    body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-request-id'), requestId);
  await res.text();
}

async function until(fn: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5000;
  while (!fn()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('--json-logs --detailed_debug --num_workers: every stderr line is JSON, debug included, with an access line per request', async (t) => {
  const p = run(['--config', writeConfig(mocked), '--port', '0', '--json-logs', '--detailed_debug', '--num_workers', '1']);
  t.after(() => p.child.kill('SIGKILL'));
  const url = await listening(p);
  await chatOnce(url, 'cli-json-1');
  await until(() => p.err().includes('cli-json-1'), 'the access line');
  const lines = jsonLines(p.err());
  assert.ok(lines.some((l) => l.level === 'debug' && l.workers === 1), 'a debug line, and --num_workers taken as --workers');
  assert.ok(lines.some((l) => l.level === 'info' && /1 upstream worker thread/.test(String(l.msg))));
  const access = lines.find((l) => l.request_id === 'cli-json-1')!;
  assert.equal(access.status, 200);
  assert.equal(access.model_group, 'm');
  const attempt = lines.find((l) => l.request_id === 'cli-json-1' && l.level === 'debug');
  assert.ok(attempt, 'a per-attempt line for the request');
  assert.equal(attempt.decision, 'done');
  assert.equal(attempt.attempt, 1);
  assert.doesNotMatch(p.err(), /sk-cli-json-secret/);
});

test('litellm_settings.json_logs: true and LiteLLM\'s LITELLM_LOG=DEBUG switch JSON and debug on', async (t) => {
  const p = run(['--config', writeConfig(`${mocked}litellm_settings:\n  json_logs: true\n`), '--port', '0', '--workers', '0'], { LITELLM_LOG: 'DEBUG' });
  t.after(() => p.child.kill('SIGKILL'));
  const url = await listening(p);
  await chatOnce(url, 'cli-json-2');
  await until(() => p.err().includes('cli-json-2'), 'the access line');
  const lines = jsonLines(p.err());
  assert.ok(lines.some((l) => l.level === 'debug'));
  assert.ok(lines.some((l) => l.level === 'debug' && l.request_id === 'cli-json-2' && l.decision === 'done'), 'the per-attempt line');
});

test('SWITCHYARD_LOG_LEVEL=debug: per-attempt lines in the human format', async (t) => {
  const p = run(['--config', writeConfig(mocked), '--port', '0', '--workers', '0'], { SWITCHYARD_LOG_LEVEL: 'debug' });
  t.after(() => p.child.kill('SIGKILL'));
  const url = await listening(p);
  await chatOnce(url, 'cli-human-debug');
  await until(() => /info  POST \/v1\/chat\/completions 200 request_id=cli-human-debug/.test(p.err()), 'the access line');
  assert.match(p.err(), /^\S+Z debug attempt 1 on m\/\S+: ok 200 -> done request_id=cli-human-debug model_group=m deployment_id=\S+ attempt=1 group_attempt=1 outcome=ok status=200 duration_ms=[\d.]+ decision=done$/m);
});

test('JSON_LOGS=true switches JSON lines on; without a switch lines are human', async (t) => {
  const json = run(['--config', writeConfig(mocked), '--port', '0', '--workers', '0'], { JSON_LOGS: 'true' });
  t.after(() => json.child.kill('SIGKILL'));
  const jsonUrl = await listening(json);
  await chatOnce(jsonUrl, 'cli-json-3');
  // stderr and stdout are separate pipes: the listening line on stdout says nothing about
  // whether stderr's lines have arrived yet, so wait for the request's access line.
  await until(() => json.err().includes('cli-json-3'), 'the access line');
  const lines = jsonLines(json.err());
  assert.ok(lines.some((l) => l.request_id === 'cli-json-3' && l.status === 200), 'the access line is JSON');
  const human = run(['--config', writeConfig(mocked), '--port', '0', '--workers', '0']);
  t.after(() => human.child.kill('SIGKILL'));
  const url = await listening(human);
  await chatOnce(url, 'cli-human-1');
  await until(() => human.err().includes('cli-human-1'), 'the access line');
  assert.match(human.err(), /^\S+Z info  POST \/v1\/chat\/completions 200 request_id=cli-human-1 /m);
  assert.doesNotMatch(human.err(), /debug/, 'info by default');
});

test('an unknown flag, and --workers disagreeing with --num_workers, are clear usage errors', async () => {
  const unknown = run(['--config', writeConfig(mocked), '--use_queue']);
  assert.equal(await unknown.exit, 2);
  assert.match(unknown.err(), /Unknown option '--use_queue'/);
  assert.match(unknown.err(), /Usage:/);
  const both = run(['--config', writeConfig(mocked), '--workers', '1', '--num_workers', '2']);
  assert.equal(await both.exit, 2);
  assert.match(both.err(), /--workers 1 and --num_workers 2 disagree/);
});
