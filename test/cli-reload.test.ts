/**
 * SIGHUP on the CLI process loads the config file again: a new group serves and readiness
 * shows the new config_version; a bad file on the next SIGHUP is refused in the log and the
 * running config keeps serving.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { startMockUpstream } from './support/mock-upstream.js';
import { eventually, http, post } from './support/proxy.js';

const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'switchyard-hup-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const sha = (t: string): string => createHash('sha256').update(t).digest('hex').slice(0, 12);

test('SIGHUP reloads the config file; a bad one is refused and the old one keeps serving', async (t) => {
  const up = await startMockUpstream();
  t.after(() => up.close());
  const file = join(dir, 'config.yaml');
  const entry = (group: string): string => `  - model_name: ${group}\n    litellm_params: { model: openai/x, api_base: "${up.url}/v1", api_key: sk-hup-secret-key }\n`;
  const first = `model_list:\n${entry('a')}`;
  writeFileSync(file, first);
  const child = spawn(process.execPath, [cli, '--config', file, '--port', '0', '--workers', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  await eventually(() => /listening on http:\/\/\S+/.test(out), 15_000, 'listening line');
  const url = /listening on (http:\/\/\S+)/.exec(out)![1]!;
  const version = async (): Promise<string> => ((await http(`${url}/health/readiness`)).json as { config_version: string }).config_version;
  assert.equal(await version(), sha(first));

  const second = `model_list:\n${entry('a')}${entry('b')}`;
  writeFileSync(file, second);
  child.kill('SIGHUP');
  let v = '';
  const end = Date.now() + 5000;
  while ((v = await version()) !== sha(second) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  assert.equal(v, sha(second));
  assert.equal((await post(`${url}/v1/chat/completions`, { model: 'b', messages: [{ role: 'user', content: 'hi' }] })).status, 200);

  writeFileSync(file, 'model_list: [oops\n');
  child.kill('SIGHUP');
  await eventually(() => /config reload refused/.test(out + err), 5000, 'refusal logged');
  assert.equal(await version(), sha(second));
  assert.equal((await post(`${url}/v1/chat/completions`, { model: 'b', messages: [{ role: 'user', content: 'hi' }] })).status, 200);
  assert.doesNotMatch(out + err, /sk-hup-secret-key/);
});
