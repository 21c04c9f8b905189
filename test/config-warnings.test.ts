/**
 * Warnings a newcomer meets at load: every litellm_params key we do not use is named once;
 * keys we do use are not; a mocked deployment's unset credentials are not worth a warning.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { load } from './support/config.js';

test('each unused litellm_params key gets exactly one warning, with a did-you-mean when close', () => {
  const c = load(`
    model_list:
      - model_name: a
        litellm_params:
          model: openai/x
          api_base: http://127.0.0.1:9/v1
          api_key: sk-xxxxxxxx
          rpm: 10
          temperature: 0.1
          max_tokens: 5
          extra_headers: { x-team: blue }
          use_in_pass_through: false
          merge_reasoning_content_in_choices: true
          max_tokns: 7
  `);
  const mine = c.warnings.filter((w) => w.includes('litellm_params.'));
  assert.deepEqual(mine, [
    'model_list[0].litellm_params.use_in_pass_through (line 11): not used by Switchyard; ignored',
    'model_list[0].litellm_params.merge_reasoning_content_in_choices (line 12): not used by Switchyard; ignored',
    'model_list[0].litellm_params.max_tokns (line 13): not used by Switchyard (did you mean "max_tokens"?); ignored',
  ]);
});

test("a mocked deployment's unset credential variables are not warned about; its other references and real deployments' are", () => {
  const c = load(`
    model_list:
      - model_name: m
        litellm_params:
          model: openai/x
          mock_response: hello
          api_key: os.environ/UNSET_MOCK_KEY
          api_base: os.environ/UNSET_MOCK_BASE
          rpm: os.environ/UNSET_MOCK_RPM
      - model_name: real
        litellm_params:
          model: openai/y
          api_base: http://127.0.0.1:9/v1
          api_key: os.environ/UNSET_REAL_KEY
  `);
  const text = c.warnings.join('\n');
  assert.doesNotMatch(text, /UNSET_MOCK_KEY|UNSET_MOCK_BASE/);
  assert.match(text, /model_list\[0\]\.litellm_params\.rpm \(line 8\): environment variable UNSET_MOCK_RPM is not set/);
  assert.match(text, /model_list\[1\]\.litellm_params\.api_key \(line 13\): environment variable UNSET_REAL_KEY is not set/);
});
